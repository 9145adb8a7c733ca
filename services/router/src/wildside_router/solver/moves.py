"""Vectorised route moves shared by the greedy baseline and the local search.

Dwell costs are folded into the arcs: `cost[i, j] = distance[i, j] + service[j]` for every
`j` other than the start and the end, whose dwell is taken off the budget once. A route's
length is then the plain sum of its arc costs, and every move below is exact for
asymmetric matrices too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from wildside_router.solver.insertion import InsertionTable, fitting_ratios
from wildside_router.solver.model import FloatArray, OPInstance

IntArray = npt.NDArray[np.intp]
# Cells a vectorised step is worth regardless of its size (numpy's per-call overhead and
# the Python around it), fitted by least squares over the benchmark instances; and work
# planned per second of time limit: half of the rate measured on the 2-core reference
# machine (about 200e6 per CPU second), so a machine half as fast, or a solve sharing
# its core, still stops on work rather than on the clock (docs/solver.md).
STEP_OVERHEAD = 14_000
WORK_PER_SECOND = 100e6
# Ties between equal-length routes are broken by this slack so that floating noise
# never makes a move look improving forever.
_EPS = 1e-9


@dataclass(frozen=True, slots=True, eq=False)
class SearchModel:
    """An instance in the form the moves work on: arc costs, scores and a net budget."""

    cost: FloatArray
    scores: FloatArray
    budget: float
    start: int
    end: int
    candidates: IntArray
    # Work done so far, in array cells touched plus a fixed charge per vectorised step:
    # a deterministic stand-in for elapsed time (one mutable cell in a frozen model).
    work: npt.NDArray[np.float64]

    @classmethod
    def of(cls, instance: OPInstance) -> SearchModel:
        """Fold dwell costs into arcs; candidates are the scoring nodes but start and end."""
        cost = instance.distances + instance.service[np.newaxis, :]
        fixed = {instance.start, instance.end}
        for node in fixed:
            cost[:, node] = instance.distances[:, node]
        budget = instance.budget - float(sum(instance.service[node] for node in fixed))
        others = np.array(
            [v for v in range(instance.n) if v not in fixed and instance.scores[v] > 0],
            dtype=np.intp,
        )
        return cls(cost, instance.scores, budget, instance.start, instance.end, others, np.zeros(1))

    def charge(self, cells: int, steps: float = 1.0) -> None:
        """Account for `steps` vectorised steps over `cells` array cells in all."""
        self.work[0] += cells + steps * STEP_OVERHEAD


def path_cost(model: SearchModel, route: IntArray) -> float:
    """Sum of arc costs along the route."""
    return float(model.cost[route[:-1], route[1:]].sum())


def insert_at(route: IntArray, position: int, node: int) -> IntArray:
    """`route` with `node` before index `position`: `np.insert`'s result, at a fifth of
    its CPU for one node (its general path costs about 5 us a call)."""
    return np.concatenate((route[:position], np.array([node], dtype=route.dtype), route[position:]))


def insertion_table(model: SearchModel, route: IntArray, nodes: IntArray) -> FloatArray:
    """`table[p, k]`: extra cost of putting `nodes[k]` between `route[p]` and `route[p+1]`."""
    cost = model.cost
    model.charge(len(route) * len(nodes))
    head, tail = route[:-1], route[1:]
    return cost[head][:, nodes] + cost[nodes][:, tail].T - cost[head, tail][:, np.newaxis]


def best_insertion(
    model: SearchModel,
    route: IntArray,
    nodes: IntArray,
    slack: float,
    power: float,
    rng: np.random.Generator | None = None,
) -> tuple[int, int, float] | None:
    """The feasible insertion with the best `score**power / extra cost`; with `rng`, now
    and then one of the best three instead (a restricted candidate list, for diversity).

    Returns (position, node, extra cost), or None when nothing fits in `slack`.
    """
    if len(nodes) == 0:
        return None
    table = insertion_table(model, route, nodes)
    positions = table.argmin(axis=0)
    extra = table[positions, np.arange(len(nodes))]
    ratio, count = fitting_ratios(extra, slack, model.scores[nodes] ** power)
    if count == 0:
        return None
    k = int(ratio.argmax())
    if rng is not None and count > 1 and rng.random() < 0.3:
        top = np.argsort(-ratio)[: min(3, count)]
        k = int(top[rng.integers(len(top))])
    return int(positions[k]) + 1, int(nodes[k]), float(extra[k])


def fill_greedily(
    model: SearchModel,
    route: IntArray,
    used: float,
    outside: IntArray,
    power: float = 1.0,
    rng: np.random.Generator | None = None,
) -> tuple[IntArray, float, IntArray]:
    """Insert outside nodes by best ratio until none fits; returns route, cost, outside.

    The same insertions as `best_insertion` on a table rebuilt after each, from one
    `InsertionTable` updated insertion by insertion (tested)."""
    if len(outside) == 0:
        return route, used, outside
    table = InsertionTable(model, route, outside)
    weight = model.scores[outside] ** power
    while True:
        choice = table.choose(model.budget - used, weight, rng)
        if choice is None:
            return table.route, used, outside[table.alive]
        k, place, extra = choice
        table.insert(k, place)
        used += extra


# What `fill_batched`'s choice among a table's candidates is charged: one more step plus
# this many cells per candidate (its Python loop), so that the local search with it does
# at least as much work per CPU second as before it (docs/solver.md): the router's CPU
# per plan, sized by the work budget, does not grow.
_SELECT_STEPS = 1.0
_SELECT_CELLS = 64


def fill_batched(
    model: SearchModel,
    route: IntArray,
    used: float,
    outside: IntArray,
    power: float = 1.0,
    rng: np.random.Generator | None = None,
) -> tuple[IntArray, float, IntArray, FloatArray | None]:
    """`fill_greedily` with several insertions per insertion table: in order of ratio,
    every node that still fits goes to its cheapest place unless another node of the same
    batch took that place (insertions at different places add up exactly). One table per
    batch instead of one per node, then a new table until nothing fits."""
    table = None
    while len(outside):
        table = insertion_table(model, route, outside)
        positions = table.argmin(axis=0)
        extra = table[positions, np.arange(len(outside))]
        slack = model.budget - used
        ratio, count = fitting_ratios(extra, slack, model.scores[outside] ** power)
        if count == 0:
            return route, used, outside, table
        order = np.argsort(-ratio, kind="stable")[:count]
        if rng is not None and count > 1 and rng.random() < 0.3:
            # A restricted candidate list: now and then one of the best three goes first.
            pick = int(rng.integers(min(3, count)))
            order[[0, pick]] = order[[pick, 0]]
        model.charge(_SELECT_CELLS * count, _SELECT_STEPS)
        taken: set[int] = set()
        places: list[int] = []
        nodes: list[int] = []
        taken_k: list[int] = []
        for k in order.tolist():
            place = int(positions[k])
            if place in taken or extra[k] > slack + _EPS:
                continue
            taken.add(place)
            slack -= float(extra[k])
            used += float(extra[k])
            places.append(place + 1)
            nodes.append(int(outside[k]))
            taken_k.append(k)
        route = np.insert(route, places, nodes)
        keep = np.ones(len(outside), dtype=bool)
        keep[taken_k] = False
        outside = outside[keep]
    return route, used, outside, None


def two_opt_deltas(model: SearchModel, route: IntArray) -> FloatArray:
    """`delta[i, j]` (i < j): cost change of reversing `route[i+1 .. j]`; exact when the
    matrix is asymmetric because the reversed segment is priced backwards."""
    cost = model.cost
    model.charge(len(route) ** 2)
    forward = np.concatenate(([0.0], np.cumsum(cost[route[:-1], route[1:]])))
    backward = np.concatenate(([0.0], np.cumsum(cost[route[1:], route[:-1]])))
    m = len(route) - 1  # number of arcs
    i = np.arange(m)[:, np.newaxis]
    j = np.arange(m)[np.newaxis, :]
    a, b = route[:-1], route[1:]
    new_arcs = cost[np.ix_(a, a)] + cost[np.ix_(b, b)]
    old_arcs = cost[a, b][:, np.newaxis] + cost[a, b][np.newaxis, :]
    inner = (backward[j] - backward[np.minimum(i + 1, m)]) - (
        forward[j] - forward[np.minimum(i + 1, m)]
    )
    delta: FloatArray = new_arcs - old_arcs + inner
    delta[j <= i] = np.inf
    return delta


def two_opt(model: SearchModel, route: IntArray, used: float) -> tuple[IntArray, float]:
    """Apply the best improving segment reversal until none shortens the route."""
    if len(route) < 4:
        return route, used
    while True:
        delta = two_opt_deltas(model, route)
        flat = int(delta.argmin())
        i, j = divmod(flat, delta.shape[1])
        if delta[i, j] >= -_EPS:
            return route, used
        route = np.concatenate((route[: i + 1], route[i + 1 : j + 1][::-1], route[j + 1 :]))
        used = path_cost(model, route)


def relocate(model: SearchModel, route: IntArray, used: float) -> tuple[IntArray, float]:
    """Move single stops to their cheapest other place while that shortens the route."""
    while len(route) > 3:
        cost = model.cost
        mid = route[1:-1]
        saving = cost[route[:-2], mid] + cost[mid, route[2:]] - cost[route[:-2], route[2:]]
        # table[p, k] is exact for moving stop k between route[p] and route[p+1] as long
        # as neither of those arcs touches the stop itself.
        delta = insertion_table(model, route, mid) - saving[np.newaxis, :]
        cols = np.arange(len(mid))
        delta[cols, cols] = np.inf
        delta[cols + 1, cols] = np.inf
        p, k = divmod(int(delta.argmin()), delta.shape[1])
        if delta[p, k] >= -_EPS:
            break
        node = mid[k]
        route = insert_at(route, p + 1, int(node))
        drop = k + 1 if p >= k + 1 else k + 2
        route = np.delete(route, drop)
        used = path_cost(model, route)
    return route, used


def shorten(model: SearchModel, route: IntArray, used: float) -> tuple[IntArray, float]:
    """2-opt and single-stop relocation until neither shortens the route."""
    while True:
        route, used = two_opt(model, route, used)
        before = used
        route, used = relocate(model, route, used)
        if used >= before - _EPS:
            return route, used


def exchange(
    model: SearchModel,
    route: IntArray,
    used: float,
    outside: IntArray,
    table: FloatArray | None = None,
) -> tuple[IntArray, float, IntArray] | None:
    """Swap one visited stop for an unvisited one that scores more (or the same for less
    cost) and still fits the budget; the best-scoring such swap, or None."""
    if len(route) < 3 or len(outside) == 0:
        return None
    cost = model.cost
    mid = route[1:-1]
    saving = cost[route[:-2], mid] + cost[mid, route[2:]] - cost[route[:-2], route[2:]]
    if table is None:
        table = insertion_table(model, route, outside)
    # Best place for each outside node away from the removed stop's two arcs: removing
    # stop i rules out at most two places, so the best of each node's three cheapest
    # places that avoids them is exact.
    top = min(3, table.shape[0])
    places = np.argsort(table, axis=0)[:top]  # (top, k)
    values = np.take_along_axis(table, places, axis=0)
    stops = np.arange(len(mid))[:, np.newaxis, np.newaxis]
    allowed = (places[np.newaxis] != stops) & (places[np.newaxis] != stops + 1)
    choice = np.where(allowed, values[np.newaxis], np.inf)  # (stops, top, k)
    model.charge(choice.size)
    pick = choice.argmin(axis=1)  # (stops, k)
    extra = np.take_along_axis(choice, pick[:, np.newaxis, :], axis=1)[:, 0, :]
    new_used = used - saving[:, np.newaxis] + extra
    gain = model.scores[outside][np.newaxis, :] - model.scores[mid][:, np.newaxis]
    shorter = (gain > -_EPS) & (new_used < used - 1e-6)
    ok = (new_used <= model.budget + _EPS) & ((gain > _EPS) | shorter)
    if not ok.any():
        return None
    value = np.where(ok, gain - 1e-9 * new_used, -np.inf)
    i, k = divmod(int(value.argmax()), value.shape[1])
    position = int(places[pick[i, k], k])
    node = outside[k]
    removed = route[i + 1]
    route = insert_at(route, position + 1, int(node))
    route = route[route != removed]
    outside = np.append(outside[outside != node], removed)
    return route, path_cost(model, route), outside
