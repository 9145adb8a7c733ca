"""Iterated local search (ILS) for the OP, deterministic for a seed.

Each round perturbs the current route (drops a random stretch or random stops), shortens
what is left with 2-opt, and refills it by best score/extra-cost insertion with a randomly
drawn score exponent, repeating shorten-and-refill until nothing more fits. A better or
equal route replaces the current one; after a run of failures the search returns to the
best route found. The search stops after a fixed amount of work, which is what makes
it deterministic: rounds are paid for in "work" (array cells touched, plus a charge per
vectorised step), a deterministic stand-in for time calibrated on the reference machine.
A wall-clock deadline is only a safety net for slower or busier machines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wildside_router.domain.op_moves import (
    IntArray,
    SearchModel,
    exchange,
    fill_greedily,
    path_cost,
    shorten,
)

# Rounds without improvement after which the search restarts from the best route.
_PATIENCE = 60
# A trial within this fraction of the current score is accepted.
_ACCEPT = 0.98


@dataclass(frozen=True, slots=True)
class Candidate:
    """A route with its collected score and arc cost."""

    route: IntArray
    score: float
    used: float

    def beats(self, other: Candidate) -> bool:
        """Higher score, or the same score on a shorter route."""
        if self.score != other.score:
            return self.score > other.score + 1e-9
        return self.used < other.used - 1e-9


def _outside(model: SearchModel, route: IntArray) -> IntArray:
    return model.candidates[~np.isin(model.candidates, route)]


def improve(
    model: SearchModel, route: IntArray, power: float = 1.0, rng: np.random.Generator | None = None
) -> Candidate:
    """Alternate 2-opt, greedy refill and stop exchanges until none changes the route."""
    used = path_cost(model, route)
    outside = _outside(model, route)
    while True:
        route, used = shorten(model, route, used)
        size = len(route)
        route, used, outside = fill_greedily(model, route, used, outside, power, rng)
        if len(route) != size:
            continue
        swapped = exchange(model, route, used, outside)
        if swapped is None:
            return Candidate(route, float(model.scores[route[1:-1]].sum()), used)
        route, used, outside = swapped


def perturb(model: SearchModel, route: IntArray, rng: np.random.Generator) -> IntArray:
    """Drop a random contiguous stretch or a random handful of the route's stops."""
    inner = len(route) - 2
    if inner <= 0:
        return route
    size = int(rng.integers(1, max(2, inner // 3 + 2)))
    size = min(size, inner)
    if rng.random() < 0.5:
        first = int(rng.integers(1, inner - size + 2))
        keep = np.ones(len(route), dtype=bool)
        keep[first : first + size] = False
    else:
        keep = np.ones(len(route), dtype=bool)
        keep[rng.choice(np.arange(1, inner + 1), size=size, replace=False)] = False
    return route[keep]


def iterated_local_search(
    model: SearchModel,
    start: IntArray,
    work_budget: float,
    seed: int,
    deadline: float | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Candidate:
    """ILS from `start` until `work_budget` units of work (see `SearchModel.charge`) are
    spent, or the monotonic `deadline` passes; returns the best candidate met."""
    rng = np.random.default_rng(seed)
    origin = float(model.work[0])
    current = best = improve(model, start)
    stale = 0
    everything = len(model.candidates)
    while (spent := float(model.work[0]) - origin) < work_budget:
        if deadline is not None and time.monotonic() >= deadline:
            break
        if len(best.route) - 2 >= everything:
            break  # every scoring node is on the route: nothing left to gain
        power = float(rng.choice((0.5, 1.0, 1.0, 1.5, 2.0, 3.0)))
        trial = improve(model, perturb(model, current.route, rng), power, rng)
        # Threshold acceptance: a slightly worse route may replace the current one, so
        # the search can walk out of a local optimum; the best stays on record.
        if trial.score >= current.score * _ACCEPT - 1e-9:
            current = trial
        stale += 1
        if trial.beats(best):
            best, stale = trial, 0
        elif stale >= _PATIENCE:
            current, stale = best, 0
        if on_progress is not None:
            on_progress(min(1.0, spent / work_budget) if work_budget > 0 else 1.0)
    return best
