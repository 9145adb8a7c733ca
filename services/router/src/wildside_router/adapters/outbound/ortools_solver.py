"""The production `RouteSolver`: iterated local search, optionally polished by OR-Tools.

1. A greedy route, then the domain's iterated local search (`op_search`), which spends
   a deterministic work budget sized from the time limit (`WORK_PER_SECOND`).
2. Optionally (`polish=True`), the best route is handed to the OR-Tools routing solver
   as its first solution, with prize-collecting disjunctions (penalty = scaled score)
   and the budget as a hard dimension capacity; OR-Tools runs plain local search to a
   local optimum (no metaheuristic, so the result does not depend on the clock).
3. Every candidate is re-checked with the real float distances; the best feasible one
   wins, and the straight start-to-end route is the fallback of last resort.

Why this split, measured on the benchmark (docs/solver.md): OR-Tools' guided local
search alone was 24 % from the best known on OPLib gen2/gen3 at 1 s, CP-SAT (AddCircuit
with optional nodes) found no solution at 1 s and, hinted with the local search's route,
none within 10 s on instances over 76 nodes; the OR-Tools polish added nothing
measurable after the local search, so it is off by default.
"""

from __future__ import annotations

import math
import time

import numpy as np

from wildside_router.domain.op_baseline import greedy_solve
from wildside_router.domain.op_moves import WORK_PER_SECOND, SearchModel
from wildside_router.domain.op_search import iterated_local_search
from wildside_router.domain.orienteering import (
    OPInstance,
    OPSolution,
    ProgressFn,
    check_feasible,
)

# Share of the time limit planned as search work; the rest absorbs the work estimate's
# error (about +-40 % per instance), the polish and the machine being busier than usual.
_WORK_SHARE = 0.7
# The wall-clock safety net stops the search at this share of the time limit.
_DEADLINE_SHARE = 0.85
# Fixed-point scale for OR-Tools' integer arcs; rounding slack is re-checked in floats.
_SCALE = 10_000


class OrToolsOPSolver:
    """`RouteSolver` for production: deterministic for (instance, seed, time limit)."""

    def __init__(self, polish: bool = False, work_per_second: float = WORK_PER_SECOND) -> None:
        """`polish` adds the OR-Tools pass (measured: no gain, so off by default);
        `work_per_second` converts the time limit into the search's work budget."""
        self._polish = polish
        self._work_per_second = work_per_second

    def solve(
        self, instance: OPInstance, time_limit: float, seed: int, progress: ProgressFn | None
    ) -> OPSolution:
        """Best feasible route found within about `time_limit` seconds (see module doc)."""
        started = time.monotonic()
        deadline = started + max(0.0, time_limit) * _DEADLINE_SHARE
        best = _safest(instance)
        greedy = greedy_solve(instance)
        best = _better(instance, best, list(greedy.route))
        model = SearchModel.of(instance)
        budget = max(0.0, time_limit) * _WORK_SHARE * self._work_per_second

        def report(fraction: float) -> None:
            if progress is not None:
                progress(0.95 * fraction)

        found = iterated_local_search(
            model, np.array(greedy.route, dtype=np.intp), budget, seed, deadline, report
        )
        best = _better(instance, best, [int(v) for v in found.route])
        if self._polish and time.monotonic() < started + time_limit:
            polished = _polish(instance, list(best.route), started + time_limit)
            if polished is not None:
                best = _better(instance, best, polished)
        if progress is not None:
            progress(1.0)
        return best


def _safest(instance: OPInstance) -> OPSolution:
    """The straight route; the instance's validation guarantees it fits the budget."""
    return OPSolution.of(instance, instance.base_route())


def _better(instance: OPInstance, incumbent: OPSolution, route: list[int]) -> OPSolution:
    """`route` if it is feasible (real floats) and scores more, else the incumbent."""
    if not check_feasible(instance, route):
        return incumbent
    candidate = OPSolution.of(instance, route)
    if candidate.score > incumbent.score + 1e-9 or (
        abs(candidate.score - incumbent.score) <= 1e-9 and candidate.length < incumbent.length
    ):
        return candidate
    return incumbent


def _polish(instance: OPInstance, route: list[int], hard_stop: float) -> list[int] | None:
    """OR-Tools local search from `route` to a local optimum; None if it cannot start."""
    # Imported here: the polish is optional and OR-Tools takes a second to load.
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = instance.n
    model = SearchModel.of(instance)
    arcs = np.rint(model.cost * _SCALE).astype(np.int64)
    capacity = math.floor(model.budget * _SCALE) + n  # rounding slack, re-checked
    manager = pywrapcp.RoutingIndexManager(n, 1, [instance.start], [instance.end])
    routing = pywrapcp.RoutingModel(manager)
    matrix = arcs.tolist()

    def arc(i: int, j: int) -> int:
        return int(matrix[manager.IndexToNode(i)][manager.IndexToNode(j)])

    transit = routing.RegisterTransitCallback(arc)
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    routing.AddDimension(transit, 0, capacity, True, "budget")
    # Score dominates length: one point of score outweighs any possible route length.
    weight = int(capacity) + 1
    for node in range(n):
        if node not in (instance.start, instance.end):
            penalty = round(float(instance.scores[node]) * weight)
            routing.AddDisjunction([manager.NodeToIndex(node)], penalty)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GREEDY_DESCENT
    params.time_limit.FromMilliseconds(max(1, int((hard_stop - time.monotonic()) * 1000)))
    start = routing.ReadAssignmentFromRoutes([route[1:-1]], True)
    if start is None:
        return None
    solution = routing.SolveFromAssignmentWithParameters(start, params)
    if solution is None:
        return None
    index = routing.Start(0)
    result = [manager.IndexToNode(index)]
    while not routing.IsEnd(index):
        index = solution.Value(routing.NextVar(index))
        result.append(manager.IndexToNode(index))
    return result
