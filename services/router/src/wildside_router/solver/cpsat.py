"""A CP-SAT model of the orienteering problem: proves small instances optimal.

The model (docs/solver.md):

- One `AddCircuit`: node 0 is the start, node 1 the end (for a round trip a copy of
  the start, so the start is on every circuit), 2.. the places that fit the budget on
  their own, each with a self-loop literal meaning "not visited". A fixed arc 1 -> 0
  closes the path into a circuit; the arc start -> end is the empty walk.
- Arc literals only for pairs that fit the budget together: i -> j exists when the
  shortest walk start ~> i, plus i -> j, plus the shortest walk j ~> end fits. Shortest
  walks (Floyd-Warshall over the arc costs) keep the pruning exact when the matrix breaks
  the triangle inequality. Places that do not fit alone get no arcs at all.
- The budget is one linear constraint over the arc literals. Arc costs (travel plus the
  head's dwell, as in `SearchModel`) are scaled to integers and rounded UP, the budget
  DOWN, so every integer-feasible route is feasible in floats; every answer is
  re-checked with `check_feasible` anyway.
- Maximise the score (scaled to integers when it is not already), with the caller's
  route as a complete hint.

"Optimal" is therefore exact for the integer model: a route is only left out when its
float slack is below about (arcs x budget / 1e7), and non-integral scores are rounded
to about 1e-6 of the largest; the bound allows for that rounding.

Determinism: interleaved search (`interleave_search`, a fixed batch schedule) stopped by
`max_deterministic_time`, checked between batches, so a run may overshoot it (by the
same amount every time); `max_time_in_seconds` is only a safety net. The answer depends
on the worker count (measured), so it is fixed at two.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model, cp_model_helper
from prometheus_client import Counter

from wildside_router.solver.model import (
    FloatArray,
    OPInstance,
    check_feasible,
    route_score,
)
from wildside_router.solver.moves import SearchModel

WORKERS = 2
# How runs end: "proven", "deterministic_limit" (the deterministic answer), "clock" (the
# safety net fired: that answer depends on timing), "not_run" (no time was left).
RUNS = Counter("wildside_engine_cpsat_runs_total", "CP-SAT runs by how they ended", ["ended"])
# The budget is scaled to about this many integer units (a power of ten per unit, so
# integral costs such as OPLib's stay exact).
_BUDGET_UNITS = 1e7
# Non-integral scores are scaled so the largest is about this many units.
_SCORE_UNITS = 1e6
# Relative slack of the float pruning tests: pruning loosely only keeps more arcs.
_PRUNE_RTOL = 1e-9


@dataclass(frozen=True, slots=True)
class CpSatOutcome:
    """What one CP-SAT run established.

    `route`: the best route found, re-checked feasible in floats (None when none was
    found or it failed the check); `score` its score; `bound` an upper bound on any
    route's score (inf when unknown); `proven_optimal`: no route scores more.
    """

    route: list[int] | None
    score: float
    bound: float
    proven_optimal: bool
    status: str
    wall_time: float = 0.0
    deterministic_time: float = 0.0


@dataclass(frozen=True, slots=True)
class CpSatLimits:
    """Deterministic time (decides when CP-SAT stops) and a `time.monotonic()`
    deadline (a safety net; only when it fires does the answer depend on timing)."""

    deterministic_time: float
    deadline: float


def shortest_walks(cost: FloatArray) -> FloatArray:
    """All-pairs shortest walks over `cost` (Floyd-Warshall, vectorised)."""
    walks = np.array(cost, dtype=np.float64)
    np.fill_diagonal(walks, 0.0)
    for k in range(walks.shape[0]):
        np.minimum(walks, walks[:, k : k + 1] + walks[k : k + 1, :], out=walks)
    return walks


@dataclass(frozen=True, slots=True)
class _Graph:
    """The pruned graph: places, arcs (node ids) and the integer budget scale."""

    places: list[int]
    pairs: list[tuple[int, int]]
    units: int
    scale: float


def _prune(model: SearchModel) -> _Graph:
    """Places that fit alone, and the arcs that can be on a feasible route."""
    walks = shortest_walks(model.cost)
    head, tail = walks[model.start], walks[:, model.end]
    limit = model.budget * (1 + _PRUNE_RTOL) + 1e-12
    places = [int(v) for v in model.candidates if head[v] + tail[v] <= limit]
    pairs = [(model.start, model.end)]
    pairs += [(model.start, v) for v in places] + [(v, model.end) for v in places]
    if places:
        index = np.array(places)
        fits = head[index][:, None] + model.cost[np.ix_(index, index)] + tail[index][None, :]
        np.fill_diagonal(fits, np.inf)
        pairs += [(places[a], places[b]) for a, b in zip(*np.nonzero(fits <= limit), strict=True)]
    scale = 10.0 ** math.floor(math.log10(_BUDGET_UNITS / max(model.budget, 1e-9)))
    return _Graph(places, pairs, math.floor(model.budget * scale), scale)


def _integer_scores(scores: FloatArray, places: list[int]) -> tuple[list[int], float]:
    """Scores as integers and the factor they were multiplied by (1 when integral)."""
    values = scores[places] if places else np.zeros(0)
    if np.all(values == np.round(values)) and (len(values) == 0 or values.max() < 2**40):
        return [int(v) for v in values], 1.0
    factor = _SCORE_UNITS / float(values.max())
    return [round(float(v) * factor) for v in values], factor


@dataclass(slots=True)
class _Model:
    """The CP-SAT model with its arc and skip literals."""

    cp: cp_model.CpModel
    arcs: dict[tuple[int, int], cp_model.IntVar]
    skips: dict[int, cp_model.IntVar]
    factor: float
    allowance: float


def _build(search: SearchModel, graph: _Graph, scores: FloatArray) -> _Model:
    """Circuit, budget and objective (module doc)."""
    cp = cp_model.CpModel()
    # Unnamed literals and weighted sums: naming thousands of arcs and summing Python
    # expressions cost more than CP-SAT's first solution on the router's walks.
    arcs = {pair: cp.new_bool_var("") for pair in graph.pairs}
    skips = {v: cp.new_bool_var("") for v in graph.places}
    node = {v: k + 2 for k, v in enumerate(graph.places)}
    circuit = [
        (0 if a == search.start else node[a], 1 if b == search.end else node[b], literal)
        for (a, b), literal in arcs.items()
    ]
    circuit += [(node[v], node[v], literal) for v, literal in skips.items()]
    circuit.append((1, 0, cp.new_constant(1)))
    cp.add_circuit(circuit)
    cost = {pair: math.ceil(float(search.cost[pair]) * graph.scale) for pair in graph.pairs}
    cp.add(
        cp_model.LinearExpr.weighted_sum(list(arcs.values()), list(cost.values())) <= graph.units
    )
    weights, factor = _integer_scores(scores, graph.places)
    # sum(w * (1 - skip)) = sum(w) - sum(w * skip)
    skipped = cp_model.LinearExpr.weighted_sum([skips[v] for v in graph.places], weights)
    cp.maximize(sum(weights) - skipped)
    # A route's true score is at most (its rounded sum + half a unit per place) / factor.
    allowance = 0.0 if factor == 1.0 else 0.5 * len(graph.places)
    return _Model(cp, arcs, skips, factor, allowance)


def solve_cpsat(
    instance: OPInstance, hint: Sequence[int] | None, limits: CpSatLimits, seed: int
) -> CpSatOutcome:
    """Run the model (module doc) within `limits`; `hint` should be a feasible route."""
    search = SearchModel.of(instance)
    graph = _prune(search)
    if graph.units < 0:
        return CpSatOutcome(None, 0.0, math.inf, False, "INFEASIBLE")
    if not graph.places:
        # Only the straight route is left. (CP-SAT 9.15 without presolve aborts the
        # process on such an all-fixed model: "Check failed: fixed_search".)
        score = route_score(instance, instance.base_route())
        return CpSatOutcome(instance.base_route(), score, score, True, "OPTIMAL")
    if time.monotonic() >= limits.deadline:
        RUNS.labels(ended="not_run").inc()
        return CpSatOutcome(None, 0.0, math.inf, False, "NOT_RUN")
    model = _build(search, graph, instance.scores)
    if hint is not None:
        _add_hint(model, list(hint))
    solver = cp_model.CpSolver()
    _configure(solver.parameters, limits, seed)
    started = time.monotonic()
    status = solver.solve(model.cp)
    RUNS.labels(ended=_ended(solver, status, limits, started)).inc()
    return _outcome(instance, search, model, solver, status)


def _ended(
    solver: cp_model.CpSolver,
    status: cp_model_helper.CpSolverStatus,
    limits: CpSatLimits,
    started: float,
) -> str:
    """How the run ended. Short of its deterministic limit, only the clock can have
    stopped it; past it, the last batch may still have been cut by the clock, which a
    run that used (nearly) all its wall time is counted as."""
    if status in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
        return "proven"
    if solver.deterministic_time < limits.deterministic_time:
        return "clock"
    if time.monotonic() >= limits.deadline - 0.1 * (limits.deadline - started):
        return "clock"
    return "deterministic_limit"


def _add_hint(model: _Model, route: list[int]) -> None:
    """Hint every literal from `route`; no hint when the route is not in the model."""
    used = set(itertools.pairwise(route))
    if not used <= set(model.arcs) or not set(route[1:-1]) <= set(model.skips):
        return
    # Straight into the proto: `add_hint` per literal costs more than the solve on
    # short walks.
    hint = model.cp.proto.solution_hint
    hint.vars.extend([literal.index for literal in model.arcs.values()])
    hint.values.extend([int(pair in used) for pair in model.arcs])
    hint.vars.extend([literal.index for literal in model.skips.values()])
    hint.values.extend([int(v not in route) for v in model.skips])


def _configure(parameters: cp_model_helper.SatParameters, limits: CpSatLimits, seed: int) -> None:
    """Deterministic stopping and seeding (module doc)."""
    parameters.num_workers = WORKERS
    parameters.interleave_search = True
    # One task per worker per batch: the deterministic limit is checked between batches,
    # and larger batches overshoot it more (measured: docs/solver.md).
    parameters.interleave_batch_size = WORKERS
    # Presolve finds little to simplify here and, on a short deterministic budget, can
    # spend all of it (measured: a third of the classic instances ended UNKNOWN, hint
    # not even returned, at 0.3 deterministic seconds; none without presolve).
    parameters.cp_model_presolve = False
    parameters.max_deterministic_time = max(0.0, limits.deterministic_time)
    parameters.max_time_in_seconds = max(0.001, limits.deadline - time.monotonic())
    parameters.random_seed = seed % 2**31


def _outcome(
    instance: OPInstance,
    search: SearchModel,
    model: _Model,
    solver: cp_model.CpSolver,
    status: cp_model_helper.CpSolverStatus,
) -> CpSatOutcome:
    """The route CP-SAT found (re-checked in floats) and its bound in score units."""
    timing = (solver.wall_time, solver.deterministic_time)
    name = solver.status_name(status)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return CpSatOutcome(None, 0.0, math.inf, False, name, *timing)
    successor = {a: b for (a, b), literal in model.arcs.items() if solver.boolean_value(literal)}
    route = _follow(successor, search.start, search.end)
    fixed = float(instance.scores[sorted({search.start, search.end})].sum())
    bound = (solver.best_objective_bound + model.allowance) / model.factor + fixed
    if route is None or not check_feasible(instance, route):
        return CpSatOutcome(None, 0.0, bound, False, name, *timing)
    score = route_score(instance, route)
    return CpSatOutcome(route, score, bound, status == cp_model.OPTIMAL, name, *timing)


def _follow(successor: dict[int, int], start: int, end: int) -> list[int] | None:
    """The walk from `start` along `successor` to `end`, or None when it breaks off or
    loops: seen once in a benchmark run on a loaded machine (a KeyError on a node with no
    chosen arc out, not reproduced since), so a broken answer counts as no route rather
    than failing the solve."""
    route = [start]
    while len(route) == 1 or route[-1] != end:
        following = successor.get(route[-1])
        if following is None or len(route) > len(successor):
            return None
        route.append(following)
    return route
