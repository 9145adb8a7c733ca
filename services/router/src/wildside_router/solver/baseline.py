"""Reference solvers: a fast greedy baseline and an exact solver for tiny instances."""

from __future__ import annotations

import numpy as np

from wildside_common.errors import InvalidInput
from wildside_router.solver.model import OPInstance, OPSolution, ProgressFn
from wildside_router.solver.moves import SearchModel, fill_greedily, path_cost, two_opt

EXACT_MAX_NODES = 14


def greedy_solve(
    instance: OPInstance, time_limit: float = 0.0, seed: int = 0, progress: ProgressFn | None = None
) -> OPSolution:
    """Best score/extra-cost insertion, shortening the route with 2-opt whenever nothing
    more fits. Deterministic; ignores `time_limit` and `seed` (it takes milliseconds)."""
    model = SearchModel.of(instance)
    route = np.array(instance.base_route(), dtype=np.intp)
    used = path_cost(model, route)
    outside = model.candidates
    while True:
        size = len(route)
        route, used, outside = fill_greedily(model, route, used, outside)
        route, used = two_opt(model, route, used)
        if len(route) == size:
            break
    if progress is not None:
        progress(1.0)
    return OPSolution.of(instance, [int(v) for v in route])


class GreedySolver:
    """`RouteSolver` adapter over `greedy_solve`, the benchmark's baseline."""

    def solve(
        self, instance: OPInstance, time_limit: float, seed: int, progress: ProgressFn | None
    ) -> OPSolution:
        """Solve greedily (see `greedy_solve`)."""
        return greedy_solve(instance, time_limit, seed, progress)


def _shortest_paths(model: SearchModel, nodes: list[int]) -> np.ndarray:
    """`best[mask, k]`: shortest path from start through the nodes in `mask` ending at
    `nodes[k]` (bitmask dynamic programming, Held-Karp)."""
    k = len(nodes)
    cost = model.cost
    best = np.full((1 << k, k), np.inf)
    for j, node in enumerate(nodes):
        best[1 << j, j] = cost[model.start, node]
    link = cost[np.ix_(nodes, nodes)]
    for mask in range(1, 1 << k):
        row = best[mask]
        if not np.isfinite(row).any():
            continue
        for j in range(k):
            if mask & (1 << j):
                continue
            via = row + link[:, j]
            best[mask | (1 << j), j] = min(best[mask | (1 << j), j], float(via.min()))
    return best


def exact_solve(instance: OPInstance) -> OPSolution:
    """Optimal score by exhaustive dynamic programming; only for tiny instances (the
    scoring nodes other than start and end must number at most EXACT_MAX_NODES - 2)."""
    model = SearchModel.of(instance)
    nodes = [int(v) for v in model.candidates]
    if len(nodes) > EXACT_MAX_NODES - 2:
        raise InvalidInput.field("instance", f"exact_solve takes at most {EXACT_MAX_NODES} nodes")
    best = _shortest_paths(model, nodes)
    close = model.cost[nodes, model.end] if nodes else np.zeros(0)
    best_mask, best_value, best_len = 0, -1.0, np.inf
    for mask in range(1, 1 << len(nodes)):
        total = float((best[mask] + close).min())
        if total > model.budget + 1e-9:
            continue
        value = float(sum(model.scores[nodes[j]] for j in range(len(nodes)) if mask >> j & 1))
        if value > best_value + 1e-12 or (abs(value - best_value) <= 1e-12 and total < best_len):
            best_mask, best_value, best_len = mask, value, total
    return OPSolution.of(instance, _rebuild(model, nodes, best, best_mask))


def _rebuild(model: SearchModel, nodes: list[int], best: np.ndarray, mask: int) -> list[int]:
    """Walk the DP table backwards to recover the route of `mask`."""
    if mask == 0:
        return [model.start, model.end]
    tail: list[int] = []
    close = model.cost[nodes, model.end]
    j = int((best[mask] + close).argmin())
    while True:
        tail.append(nodes[j])
        previous = mask & ~(1 << j)
        if previous == 0:
            break
        link = model.cost[nodes, nodes[j]]
        j = int((best[previous] + link).argmin())
        mask = previous
    return [model.start, *reversed(tail), model.end]
