"""Iterated local search (ILS) for the OP, deterministic for a seed.

Each round perturbs the current route (drops a random stretch or random stops, or forces
random unvisited nodes in and repairs the budget), then `improve`s it: 2-opt and
relocation to shorten, refill by best score/extra-cost insertion (random score exponent,
restricted candidate list; several insertions per insertion table, `fill_batched`) and
stop exchanges (one for one, in the rounds several per table on disjoint arcs; failing
that, one for two or two for one), until nothing changes; a local optimum not met
before is deepened by swaps of any two stops for two or three nodes. A trial within 2 %
of the current score is accepted; the search falls back to the walk's best route after a
run of failures and restarts from a fresh randomised route, through nodes away from the
best route, after a longer one; the restarted walk then falls back to its own best.

The search stops after a fixed amount of work, which is what makes it deterministic:
rounds are paid for in "work" (array cells touched plus a charge per vectorised step,
`SearchModel.charge`), a stand-in for time calibrated on the reference machine. A
wall-clock deadline is only a safety net for slower or busier machines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from wildside_router.solver.moves import (
    IntArray,
    SearchModel,
    exchange,
    fill_batched,
    fill_greedily,
    insert_at,
    insertion_table,
    path_cost,
    shorten,
    swap_two_for_two,
)

# Rounds without improvement after which the search restarts from the best route.
_PATIENCE = 20
# Score exponents of the extra greedy constructions the search may start from: one (3)
# rather than two (2 and 3), which left 0.1 s searches more rounds (docs/solver.md).
_START_POWERS = (3.0,)
# Rounds without a new best of the walk after which the search restarts from a fresh
# route (three times the patience until issue 19's seventh pass: at 0.1 s a small
# instance's walk then restarted about once, too late to leave a deep basin).
_RESTART = 30
# Share of rounds that perturb by forcing nodes in rather than dropping some (a third
# until issue 19's sixth pass: with larger drops, fewer forcing rounds paid).
_FORCE_SHARE = 0.2
# A trial within this fraction of the current score is accepted.
_ACCEPT = 0.98
# A dropping round removes up to two thirds of the route's stops (plus one), a contiguous
# stretch in this share of those rounds and a random handful in the others: large
# scattered drops refilled greedily gave better routes for the same work than small ones
# or stretches (a third, one in two, until issue 19's sixth pass, docs/solver.md).
_STRETCH_SHARE = 0.2
# A restart's forced nodes are weighted by their distance from the best route, relative
# to the farthest, but never less than this share (`force_and_repair`).
_AWAY_FLOOR = 0.05
# Routes of at least this many stops make several swaps per table in the rounds
# (`exchange`'s `many`). On shorter routes a chain of swaps is short and the batch's
# choice cost more than it saved: on the router's Helsinki walks (3-8 stops) it made the
# 0.1 s plans worse (bench/router/probe.py, seeds 0-7: -0.126 -> -0.139 % against the 1 s
# plans), while on OPLib the threshold changes nothing measurable (docs/solver.md).
_MANY_SWAPS_FROM = 12
# Share of the walk's work its deepening (`deepen`) may take: on the router's walks it
# takes about a fifth; on routes of 9 stops with many local optima of equal score
# (Chao's set 66) it would take four fifths, and find nothing there.
_DEEPEN_SHARE = 0.3


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
    """The candidates not on `route`, in the candidates' order (`np.isin`'s answer, from
    a mask over the nodes: a tenth of its CPU on these sizes)."""
    off = np.ones(len(model.scores), dtype=bool)
    off[route] = False
    return model.candidates[off[model.candidates]]


def improve(
    model: SearchModel,
    route: IntArray,
    power: float = 1.0,
    rng: np.random.Generator | None = None,
    batch: bool = False,
    pairs: bool = False,
) -> Candidate:
    """Alternate 2-opt, greedy refill and stop exchanges until none changes the route.

    `batch`: refill with `fill_batched` (several insertions per insertion table, the
    ILS rounds) rather than `fill_greedily` (one, the first routes), and make every
    1-for-1 swap that fits on disjoint arcs rather than the best one alone
    (`exchange`'s `many`, on routes of `_MANY_SWAPS_FROM` stops or more: a chain of swaps
    costs one pass instead of one each; in the first routes and restarts too it did not
    pay, docs/solver.md). `pairs`: when no
    1-for-1 exchange fits, try a 1-for-2 and a 2-for-1 (`moves.exchange`; the ILS
    rounds: in the first routes and restarts too they did not pay, docs/solver.md)."""
    used = path_cost(model, route)
    outside = _outside(model, route)
    while True:
        route, used = shorten(model, route, used)
        size = len(route)
        table = None
        if batch:
            route, used, outside, table = fill_batched(model, route, used, outside, power, rng)
        else:
            route, used, outside = fill_greedily(model, route, used, outside, power, rng)
        if len(route) != size:
            continue
        many = batch and len(route) - 2 >= _MANY_SWAPS_FROM
        swapped = exchange(model, route, used, outside, table, pairs, many=many)
        if swapped is None:
            return Candidate(route, float(model.scores[route[1:-1]].sum()), used)
        route, used, outside = swapped


def deepen(
    model: SearchModel, found: Candidate, power: float, rng: np.random.Generator
) -> Candidate:
    """`found` improved further by swaps of any two stops for two or three unvisited nodes
    (`moves.swap_two_for_two`), each followed by `improve`, until none fits: a deeper
    neighbourhood than `improve`'s, paid for only on a round's local optimum not met
    before (`_Walk.seen`). On the router's walks (4-8 stops) the better plan of a 1 s
    search is often the 0.1 s plan with two stops swapped for two or three others."""
    while True:
        outside = _outside(model, found.route)
        swapped = swap_two_for_two(model, found.route, found.used, outside, three_in=True)
        if swapped is None:
            return found
        found = improve(model, swapped[0], power, rng, batch=True, pairs=True)


def force_and_repair(
    model: SearchModel, route: IntArray, rng: np.random.Generator, away: IntArray | None = None
) -> IntArray:
    """Insert one to three random unvisited nodes at their cheapest places even past the
    budget, shorten, then drop the stops with the worst score per saved cost until the
    route fits again: this reaches regions a greedy refill never enters.

    The nodes are drawn with weights their scores, times (with `away`, the stops of
    another route) their cost from the nearest of those stops over the largest such cost
    (at least `_AWAY_FLOOR`): a restart then starts in another region."""
    outside = _outside(model, route)
    if len(outside) == 0:
        return route
    weights = model.scores[outside] / model.scores[outside].sum()
    if away is not None and len(away) > 0:
        near = model.cost.take(away, axis=0).take(outside, axis=1).min(axis=0)
        model.charge(len(away) * len(outside))
        if near.max() > 0:
            weights = weights * np.maximum(near / near.max(), _AWAY_FLOOR)
            weights = weights / weights.sum()
    count = min(len(outside), int(rng.integers(1, 4)))
    for node in rng.choice(outside, size=count, replace=False, p=weights):
        table = insertion_table(model, route, np.array([node]))[:, 0]
        route = insert_at(route, int(table.argmin()) + 1, int(node))
    route, used = shorten(model, route, path_cost(model, route))
    cost = model.cost
    while used > model.budget + 1e-9 and len(route) > 2:
        mid = route[1:-1]
        saving = cost[route[:-2], mid] + cost[mid, route[2:]] - cost[route[:-2], route[2:]]
        model.charge(len(mid))
        worst = int((model.scores[mid] / np.maximum(saving, 1e-9)).argmin())
        route = np.delete(route, worst + 1)
        used = path_cost(model, route)
    return route


def perturb(model: SearchModel, route: IntArray, rng: np.random.Generator) -> IntArray:
    """Drop a random handful of the route's stops (up to two thirds of them) or, one
    such round in five, a random contiguous stretch; or (one round in five) force new
    nodes in and repair (`force_and_repair`)."""
    inner = len(route) - 2
    if rng.random() < _FORCE_SHARE:
        return force_and_repair(model, route, rng)
    if inner <= 0:
        return route
    size = int(rng.integers(1, max(2, 2 * inner // 3 + 2)))
    size = min(size, inner)
    if rng.random() < _STRETCH_SHARE:
        first = int(rng.integers(1, inner - size + 2))
        keep = np.ones(len(route), dtype=bool)
        keep[first : first + size] = False
    else:
        keep = np.ones(len(route), dtype=bool)
        keep[rng.choice(np.arange(1, inner + 1), size=size, replace=False)] = False
    return route[keep]


def first_route(model: SearchModel, start: IntArray) -> Candidate:
    """The best of `start` improved and of greedy constructions with higher exponents:
    which exponent suits an instance varies (far, rich nodes want a high one), and a bad
    first basin costs many rounds to leave. When every candidate scores the same, a
    higher exponent changes no ratio and the constructions are skipped."""
    base = np.array([model.start, model.end], dtype=np.intp)
    best = improve(model, start)
    scores = model.scores[model.candidates]
    if len(scores) == 0 or scores.min() == scores.max():
        return best
    for power in _START_POWERS:
        other = improve(model, base, power)
        if other.used <= model.budget + 1e-9 and other.beats(best):
            best = other
    return best


class _Walk:
    """The search's state between rounds: the current route, the walk's best since its
    last (re)start (`home`, where it falls back to), the best of all, failure counters."""

    def __init__(self, model: SearchModel, best: Candidate, rng: np.random.Generator) -> None:
        self.model, self.rng = model, rng
        self.best = self.current = self.home = best
        self.stale = self.since_home = 0
        # The local optima the rounds have met (routes as bytes): a new one is deepened,
        # while deepening has taken no more than `_DEEPEN_SHARE` of the walk's work.
        self.seen: set[bytes] = set()
        self.origin = float(model.work[0])
        self.deep_work = 0.0

    def step(self) -> None:
        """One round: perturb, improve, accept or not, fall back or restart."""
        model, rng = self.model, self.rng
        power = float(rng.choice((0.5, 1.0, 1.0, 1.5, 2.0, 3.0)))
        trial = improve(
            model, perturb(model, self.current.route, rng), power, rng, batch=True, pairs=True
        )
        self.stale += 1
        self.since_home += 1
        # Moves are exact, so a trial always fits; the check keeps float drift out anyway.
        if trial.used <= model.budget + 1e-9:
            key = trial.route.tobytes()
            spent = float(model.work[0]) - self.origin
            if key not in self.seen and self.deep_work <= _DEEPEN_SHARE * spent:
                self.seen.add(key)
                before = float(model.work[0])
                trial = deepen(model, trial, power, rng)
                self.deep_work += float(model.work[0]) - before
            # Threshold acceptance: a slightly worse route may replace the current one,
            # so the search can walk out of a local optimum; the best stays on record.
            if trial.score >= self.current.score * _ACCEPT - 1e-9:
                self.current = trial
            if trial.beats(self.home):
                self.home, self.stale, self.since_home = trial, 0, 0
            if trial.beats(self.best):
                self.best = trial
        if self.since_home >= _RESTART:
            # Long stuck: start afresh from a route through random nodes, score-weighted
            # and away from the best route; the new walk falls back to its own best, so it
            # is not pulled back into the basin it left before it has explored its own.
            base = np.array([model.start, model.end], dtype=np.intp)
            fresh = force_and_repair(model, base, rng, self.best.route[1:-1])
            self.current = improve(model, fresh, float(rng.choice((1.0, 2.0, 3.0))), rng)
            self.home = self.current
            self.since_home = self.stale = 0
        elif self.stale >= _PATIENCE:
            self.current, self.stale = self.home, 0


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
    origin = float(model.work[0])
    walk = _Walk(model, first_route(model, start), np.random.default_rng(seed))
    while (spent := float(model.work[0]) - origin) < work_budget:
        if deadline is not None and time.monotonic() >= deadline:
            break
        if len(walk.best.route) - 2 >= len(model.candidates):
            break  # every scoring node is on the route: nothing left to gain
        walk.step()
        if on_progress is not None:
            on_progress(min(1.0, spent / work_budget) if work_budget > 0 else 1.0)
    return walk.best
