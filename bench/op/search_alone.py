"""What both probes (`bench/op/probe.py`, `bench/router/probe.py`) share: the local
search alone on one instance at a fixed work budget, clock off, and their `--seeds`."""

from __future__ import annotations

import time
from typing import Any


def search_alone(instance: Any, seed: int, budget: float, label: str) -> tuple[float, float, float]:
    """(score, work done, CPU seconds) of `iterated_local_search` from the greedy route:
    deterministic for (instance, seed, budget); raises if the route is infeasible."""
    import numpy as np

    from wildside_router.solver.baseline import greedy_solve
    from wildside_router.solver.model import OPSolution, check_feasible
    from wildside_router.solver.moves import SearchModel
    from wildside_router.solver.search import iterated_local_search

    started = time.process_time()
    greedy = greedy_solve(instance)
    model = SearchModel.of(instance)
    found = iterated_local_search(model, np.array(greedy.route, dtype=np.intp), budget, seed)
    cpu = time.process_time() - started
    route = [int(v) for v in found.route]
    if not check_feasible(instance, route):
        raise AssertionError(f"{label} seed {seed}: infeasible route")
    score = max(OPSolution.of(instance, route).score, greedy.score)
    return score, float(model.work[0]), cpu


def seed_list(text: str) -> list[int]:
    """A probe's `--seeds`: '0-11' or '0,3,5'."""
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(s) for s in text.split(",")]
