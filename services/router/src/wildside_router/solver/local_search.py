"""`LocalSearchSolver`: greedy start, then the domain's iterated local search.

1. A greedy route, then the iterated local search (`search.py`), which spends a
   deterministic work budget sized from the time limit (`WORK_PER_SECOND`).
2. Every candidate is re-checked with the real float distances; the best feasible one
   wins, and the straight start-to-end route is the fallback of last resort.

It proves nothing; `HybridSolver` (hybrid.py) adds CP-SAT on small instances.
An OR-Tools routing "polish" after the search used to live here: measured, it added
nothing (docs/solver.md), so it was removed.
"""

from __future__ import annotations

import time

import numpy as np

from wildside_router.solver.baseline import greedy_solve
from wildside_router.solver.model import (
    OPInstance,
    OPSolution,
    ProgressFn,
    check_feasible,
)
from wildside_router.solver.moves import WORK_PER_SECOND, SearchModel
from wildside_router.solver.search import iterated_local_search

# Share of the time limit planned as search work; the rest absorbs the work estimate's
# error (about +-40 % per instance) and the machine being busier than usual.
_WORK_SHARE = 0.7
# The wall-clock safety net stops the search at this share of the time limit.
_DEADLINE_SHARE = 0.85


class LocalSearchSolver:
    """`RouteSolver`: deterministic for (instance, seed, time limit); proves nothing."""

    def __init__(self, work_per_second: float = WORK_PER_SECOND) -> None:
        """`work_per_second` converts the time limit into the search's work budget."""
        self._work_per_second = work_per_second

    def solve(
        self, instance: OPInstance, time_limit: float, seed: int, progress: ProgressFn | None
    ) -> OPSolution:
        """Best feasible route found within about `time_limit` seconds (see module doc)."""
        started = time.monotonic()
        deadline = started + max(0.0, time_limit) * _DEADLINE_SHARE
        best = safest(instance)
        greedy = greedy_solve(instance)
        best = better(instance, best, list(greedy.route))
        model = SearchModel.of(instance)
        budget = max(0.0, time_limit) * _WORK_SHARE * self._work_per_second

        def report(fraction: float) -> None:
            if progress is not None:
                progress(0.95 * fraction)

        found = iterated_local_search(
            model, np.array(greedy.route, dtype=np.intp), budget, seed, deadline, report
        )
        best = better(instance, best, [int(v) for v in found.route])
        if progress is not None:
            progress(1.0)
        return best


def safest(instance: OPInstance) -> OPSolution:
    """The straight route; the instance's validation guarantees it fits the budget."""
    return OPSolution.of(instance, instance.base_route())


def better(instance: OPInstance, incumbent: OPSolution, route: list[int]) -> OPSolution:
    """`route` if it is feasible (real floats) and scores more, else the incumbent."""
    if not check_feasible(instance, route):
        return incumbent
    candidate = OPSolution.of(instance, route)
    if candidate.score > incumbent.score + 1e-9 or (
        abs(candidate.score - incumbent.score) <= 1e-9 and candidate.length < incumbent.length
    ):
        return candidate
    return incumbent
