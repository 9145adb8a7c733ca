"""Vectorised route moves shared by the greedy baseline and the local search.

Dwell costs are folded into the arcs: `cost[i, j] = distance[i, j] + service[j]` for every
`j` other than the start and the end, whose dwell is taken off the budget once. A route's
length is then the plain sum of its arc costs, and every move below is exact for
asymmetric matrices too.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from wildside_router.solver.insertion import InsertionTable, fitting_ratios
from wildside_router.solver.model import FloatArray, OPInstance

IntArray = npt.NDArray[np.intp]
ArrayT = TypeVar("ArrayT", bound=npt.NDArray[Any])
# Cells a vectorised step is worth regardless of its size (numpy's per-call overhead and
# the Python around it), fitted by least squares over the benchmark instances; and work
# planned per second of time limit: half of the rate measured on the 2-core reference
# machine (257e6-308e6 per CPU second, 2026-12-06 early), so a machine half as fast, or
# a solve sharing its core, still stops on work rather than on the clock
# (docs/solver.md). The same shared host has since measured 1.5e8-2.0e8 on a slow day
# and 3.6e8-3.8e8 on a fast one: a policy set against the reference, not any one day.
STEP_OVERHEAD = 14_000
# Steps an insertion table is charged: four `take`s and three operations, about a third
# of the CPU of an average step (docs/solver.md).
TABLE_STEPS = 0.8
WORK_PER_SECOND = 125e6
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
    model.charge(len(route) * len(nodes), TABLE_STEPS)
    head, tail = route[:-1], route[1:]
    # `take` rather than fancy indexing: the same cells at half the CPU on these sizes.
    into = cost.take(head, axis=0).take(nodes, axis=1)
    out = cost.take(nodes, axis=0).take(tail, axis=1).T
    return into + out - cost[head, tail][:, np.newaxis]


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
_SELECT_STEPS = 0.5
_SELECT_CELLS = 64
# What `_swap_many`'s choice is charged: a fixed share of a step plus cells per candidate
# swap, fitted to its measured CPU against the search's units per CPU second
# (docs/solver.md).
_SWAP_STEPS = 1.0
_SWAP_CELLS = 128
# Steps a 2-opt table and a relocation table are charged: both are sliced from one
# gather of the route's costs (`route_costs`), at about 0.6 and 0.35 of the CPU of an
# average step (docs/solver.md).
TWO_OPT_STEPS = 0.5
RELOCATION_STEPS = 0.35


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


def route_costs(model: SearchModel, route: IntArray) -> FloatArray:
    """`sub[i, j] = cost[route[i], route[j]]`: one gather that both 2-opt's and the
    relocation's tables are sliced from (the same floats as indexing `cost` for each)."""
    return model.cost.take(route, axis=0).take(route, axis=1)


def two_opt_deltas(
    model: SearchModel, route: IntArray, sub: FloatArray | None = None
) -> FloatArray:
    """`delta[i, j]` (i < j): cost change of reversing `route[i+1 .. j]`; exact when the
    matrix is asymmetric because the reversed segment is priced backwards. `sub`: the
    route's `route_costs`, when the caller has them."""
    model.charge(len(route) ** 2, TWO_OPT_STEPS)
    if sub is None:
        sub = route_costs(model, route)
    m = len(route) - 1  # number of arcs
    arcs = sub.diagonal(1)
    forward = np.concatenate(([0.0], arcs.cumsum()))
    backward = np.concatenate(([0.0], sub.diagonal(-1).cumsum()))
    new_arcs = sub[:-1, :-1] + sub[1:, 1:]
    old_arcs = arcs[:, np.newaxis] + arcs[np.newaxis, :]
    # The reversed stretch route[i+1 .. j], priced backwards less forwards (prefix sums
    # from arc i+1 to arc j).
    inner = (backward[np.newaxis, :m] - backward[1:, np.newaxis]) - (
        forward[np.newaxis, :m] - forward[1:, np.newaxis]
    )
    delta: FloatArray = new_arcs - old_arcs + inner
    np.put(delta, _not_above_diagonal(m), np.inf)
    return delta


@functools.cache
def _not_above_diagonal(m: int) -> IntArray:
    """Flat indices of the cells (i, j), j <= i, of an m x m table."""
    rows, cols = np.tril_indices(m)
    flat = rows * m + cols
    flat.setflags(write=False)
    return flat


@functools.cache
def _own_places(stops: int) -> IntArray:
    """Flat indices of the cells (k, k) and (k + 1, k) of a (stops + 1) x stops table."""
    k = np.arange(stops)
    flat = np.concatenate((k * stops + k, (k + 1) * stops + k))
    flat.setflags(write=False)
    return flat


def relocation_deltas(model: SearchModel, route: IntArray, sub: FloatArray) -> FloatArray:
    """`delta[p, k]`: cost change of moving stop `route[k+1]` between `route[p]` and
    `route[p+1]` (inf where either of those is the stop itself). From `sub`, the route's
    `route_costs`: the insertion table of the stops into their own route, less what
    taking each out saves; exact as long as neither arc of the new place touches the
    stop, which the infs rule out."""
    model.charge(len(route) * (len(route) - 2), RELOCATION_STEPS)
    arcs = sub.diagonal(1)
    saving = arcs[:-1] + arcs[1:] - sub.diagonal(2)
    table = sub[:-1, 1:-1] + sub[1:-1, 1:].T - arcs[:, np.newaxis]
    delta: FloatArray = table - saving[np.newaxis, :]
    np.put(delta, _own_places(len(route) - 2), np.inf)
    return delta


def _reverse(route: IntArray, delta: FloatArray) -> IntArray | None:
    """`route` with the best improving 2-opt reversal of `delta` applied, or None."""
    i, j = divmod(int(delta.argmin()), delta.shape[1])
    if delta[i, j] >= -_EPS:
        return None
    return np.concatenate((route[: i + 1], route[i + 1 : j + 1][::-1], route[j + 1 :]))


def _relocate(route: IntArray, delta: FloatArray) -> IntArray | None:
    """`route` with the best improving relocation of `delta` applied, or None."""
    p, k = divmod(int(delta.argmin()), delta.shape[1])
    if delta[p, k] >= -_EPS:
        return None
    route = insert_at(route, p + 1, int(route[k + 1]))
    return np.delete(route, k + 1 if p >= k + 1 else k + 2)


def two_opt(model: SearchModel, route: IntArray, used: float) -> tuple[IntArray, float]:
    """Apply the best improving segment reversal until none shortens the route."""
    if len(route) < 4:
        return route, used
    while (reversed_ := _reverse(route, two_opt_deltas(model, route))) is not None:
        route = reversed_
        used = path_cost(model, route)
    return route, used


def shorten(model: SearchModel, route: IntArray, used: float) -> tuple[IntArray, float]:
    """2-opt (the best reversal while one shortens the route), then single-stop
    relocation (the best move while one shortens it), again until neither does.

    The last 2-opt table of a pass, which finds nothing, and the first relocation table
    are of the same route: one gather of its costs (`route_costs`) prices both."""
    if len(route) < 4:
        return route, used
    while True:
        # 2-opt until no reversal shortens the route.
        while True:
            sub = route_costs(model, route)
            reversed_ = _reverse(route, two_opt_deltas(model, route, sub))
            if reversed_ is None:
                break
            route = reversed_
            used = path_cost(model, route)
        # Relocation until no move shortens it, from the same gather first.
        before = used
        while (relocated := _relocate(route, relocation_deltas(model, route, sub))) is not None:
            route = relocated
            used = path_cost(model, route)
            sub = route_costs(model, route)
        if used >= before - _EPS:
            return route, used


# Outside nodes a 1-out-2-in exchange pairs: those that come closest to fitting with one
# stop out (docs/solver.md).
PAIR_SHORTLIST = 12


def exchange(
    model: SearchModel,
    route: IntArray,
    used: float,
    outside: IntArray,
    table: FloatArray | None = None,
    pairs: bool = False,
    many: bool = False,
) -> tuple[IntArray, float, IntArray] | None:
    """Swap one visited stop for an unvisited one that scores more (or the same for less
    cost) and still fits the budget; the best-scoring such swap, or None.

    `pairs`: when no such swap exists, swap one stop for two unvisited nodes
    (`_exchange_two`) or, failing that, two consecutive stops for one (`_drop_two`).
    `many`: apply, after the best swap, every other one that touches none of its arcs
    and still fits (`_swap_many`)."""
    if len(route) < 3 or len(outside) == 0:
        return None
    mid = route[1:-1]
    if table is None:
        table = insertion_table(model, route, outside)
    saving, places, values, choice, extra = _exchange_tables(model, route, table, 4 if pairs else 3)
    value, new_used = _swap_values(model, route, used, outside, saving, extra)
    if not (value > -np.inf).any():
        if not pairs:
            return None
        two = None
        if len(outside) > 1:
            two = _exchange_two(model, route, used, outside, saving, places, choice, extra)
        if two is None and len(mid) > 1:
            two = _drop_two(model, route, used, outside, places, values)
        if two is None:
            return None
        # The moves' own prices are exact (tested); the route's cost is summed afresh
        # anyway, as after every move, so no float drift builds up.
        return two[0], path_cost(model, two[0]), two[2]
    if many:
        moved = _swap_many(model, route, used, outside, value, new_used, places, choice)
        return moved[0], path_cost(model, moved[0]), moved[2]
    i, k = divmod(int(value.argmax()), value.shape[1])
    position = int(places[int(choice[i, :, k].argmin()), k])
    node = outside[k]
    removed = route[i + 1]
    route = insert_at(route, position + 1, int(node))
    route = route[route != removed]
    outside = np.append(outside[outside != node], removed)
    return route, path_cost(model, route), outside


def _swap_values(
    model: SearchModel,
    route: IntArray,
    used: float,
    outside: IntArray,
    saving: FloatArray,
    extra: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Every 1-for-1 swap (stop i out, outside node k in at its best place away from the
    stop's arcs, `extra[i, k]`): its value (the score gained, ties to the shorter route;
    -inf unless it fits and scores more, or the same for less cost) and the route's cost
    after it."""
    mid = route[1:-1]
    new_used = used - saving[:, np.newaxis] + extra
    gain = model.scores[outside][np.newaxis, :] - model.scores[mid][:, np.newaxis]
    shorter = (gain > -_EPS) & (new_used < used - 1e-6)
    ok = (new_used <= model.budget + _EPS) & ((gain > _EPS) | shorter)
    return np.where(ok, gain - 1e-9 * new_used, -np.inf), new_used


def _swap_many(
    model: SearchModel,
    route: IntArray,
    used: float,
    outside: IntArray,
    value: FloatArray,
    new_used: FloatArray,
    places: IntArray,
    choice: FloatArray,
) -> tuple[IntArray, float, IntArray]:
    """`exchange`'s swaps several at a time: every swap that fits on its own (`value`,
    -inf for the others), in order of value, unless an earlier swap of the batch took
    its stop or its node, touched one of its arcs (the two of the removed stop and,
    failing its other places, the one the node goes on: `_free_place`) or used the
    slack it needs. Swaps on disjoint arcs add up exactly, as `fill_batched`'s
    insertions do, so the route stays exact and within the budget. The first swap is
    `exchange`'s own; a chain of swaps then costs one set of tables instead of one per
    swap (and one pass of `improve` each). Returns the route, its cost as the swaps
    predict it, and the nodes left outside."""
    flat = np.flatnonzero(value > -np.inf)
    order = flat[np.argsort(-value.ravel()[flat], kind="stable")]
    rows, cols = np.divmod(order, value.shape[1])
    deltas = new_used.ravel()[order] - used
    model.charge(_SWAP_CELLS * len(order), _SWAP_STEPS)
    slack = model.budget - used
    touched: set[int] = set()
    nodes_taken: set[int] = set()
    gone: list[int] = []
    places_at: list[int] = []
    nodes: list[int] = []
    for i, k, delta in zip(rows.tolist(), cols.tolist(), deltas.tolist(), strict=True):
        if k in nodes_taken or i in touched or i + 1 in touched or delta > slack + _EPS:
            continue
        place, delta = _free_place(
            model, route, outside, i, k, delta, slack, choice, places, touched
        )
        if place < 0:
            continue
        touched.update((i, i + 1, place))
        nodes_taken.add(k)
        slack -= delta
        used += delta
        gone.append(int(route[i + 1]))
        places_at.append(place + 1)
        nodes.append(int(outside[k]))
    route = np.insert(route, places_at, nodes)
    out = np.zeros(len(model.scores), dtype=bool)
    out[gone] = True
    route = route[~out[route]]
    keep = np.ones(len(outside), dtype=bool)
    keep[list(nodes_taken)] = False
    outside = np.concatenate((outside[keep], np.array(gone, dtype=outside.dtype)))
    return route, used, outside


def _free_place(
    model: SearchModel,
    route: IntArray,
    outside: IntArray,
    i: int,
    k: int,
    delta: float,
    slack: float,
    choice: FloatArray,
    places: IntArray,
    touched: set[int],
) -> tuple[int, float]:
    """For `_swap_many`: the cheapest of node k's places away from stop i's arcs that no
    swap of the batch has touched, and the swap's cost change with the node there
    (`delta` is at its best place); (-1, delta) when none is left or, at a dearer place,
    the swap no longer fits the slack or no longer gains (a place `choice[i]` rules out
    is inf; the places come cheapest first)."""
    costs = choice[i, :, k].tolist()
    best = min(costs)
    for j, cost in enumerate(costs):
        if cost == np.inf:
            continue
        place = int(places[j, k])
        if place in touched:
            continue
        more = cost - best
        if more > 0:
            gain = float(model.scores[outside[k]] - model.scores[route[i + 1]])
            if delta + more > slack + _EPS or not (gain > _EPS or delta + more < -1e-6):
                return -1, delta
        return place, delta + more
    return -1, delta


def _exchange_tables(
    model: SearchModel, route: IntArray, table: FloatArray, top: int
) -> tuple[FloatArray, IntArray, FloatArray, FloatArray, FloatArray]:
    """What the exchanges price from the route's insertion table `table`: each stop's
    removal saving; each outside node's `top` cheapest places and their costs; those
    costs per stop, inf where the place touches the stop (`choice`, stops x top x nodes);
    and the best of them. Removing a stop rules out at most two places, so the best of
    each node's three cheapest places that avoids them is its best place (and the best
    two are among its four cheapest)."""
    cost = model.cost
    mid = route[1:-1]
    saving = cost[route[:-2], mid] + cost[mid, route[2:]] - cost[route[:-2], route[2:]]
    top = min(top, table.shape[0])
    places = np.argsort(table, axis=0)[:top]  # (top, k)
    values = table[places, np.arange(table.shape[1])]
    stops = np.arange(len(mid))[:, np.newaxis, np.newaxis]
    allowed = (places[np.newaxis] != stops) & (places[np.newaxis] != stops + 1)
    choice = np.where(allowed, values[np.newaxis], np.inf)  # (stops, top, k)
    model.charge(choice.size)
    return saving, places, values, choice, choice.min(axis=1)


def _exchange_two(
    model: SearchModel,
    route: IntArray,
    used: float,
    outside: IntArray,
    saving: FloatArray,
    places: IntArray,
    choice: FloatArray,
    extra: FloatArray,
) -> tuple[IntArray, float, IntArray] | None:
    """Swap one visited stop for two unvisited nodes that together score more (or the same
    for less cost) and still fit, each at its cheapest place away from the removed stop's
    arcs and from the other's place; the best-scoring such swap, or None. From
    `exchange`'s tables: `places` (each node's cheapest places), `choice` (their costs,
    inf where they touch stop i), `extra` (the best of those).

    Only stops whose removal leaves room for some two nodes are tried (a bound from the
    two cheapest extras), and only the `PAIR_SHORTLIST` nodes that come closest to
    fitting with one of those stops out are paired."""
    room = model.budget - used + saving  # (stops,)
    model.charge(extra.size, 0.3)
    # No pair costs less than the two cheapest single extras with stop i out.
    cheapest = np.partition(extra, 1, axis=1)[:, :2].sum(axis=1)
    rows = np.flatnonzero(cheapest <= room + _EPS)
    if len(rows) == 0:
        return None
    best = extra[rows]  # (r, k)
    # A node can be in a fitting pair only if its extra, plus the cheapest partner's,
    # fits: the partner's may be negative where distances break the triangle inequality
    # (random test matrices; OPLib's rounded ones by a unit), so that much is allowed.
    partner = np.minimum(best.min(axis=1), 0.0)
    excess = (best - (room[rows] - partner)[:, np.newaxis]).min(axis=0)
    short = np.argsort(excess, kind="stable")[: min(PAIR_SHORTLIST, len(outside))]
    short = short[excess[short] <= _EPS]
    if len(short) < 2:
        return None
    sub = choice[rows][:, :, short]  # (r, top, s)
    first = sub.argmin(axis=1)  # (r, s)
    r_index = np.arange(len(rows))[:, np.newaxis]
    s_index = np.arange(len(short))[np.newaxis, :]
    best = sub[r_index, first, s_index]
    place = places[first, short[np.newaxis, :]]  # (r, s)
    rest = sub.copy()
    rest[r_index, first, s_index] = np.inf
    second = rest.min(axis=1)
    # A pair's cost: both at their best places when these differ, else one of the two
    # at its second best place (insertions at different places add up exactly).
    pair = best[:, :, np.newaxis] + best[:, np.newaxis, :]
    clash = place[:, :, np.newaxis] == place[:, np.newaxis, :]
    split = np.minimum(
        best[:, :, np.newaxis] + second[:, np.newaxis, :],
        second[:, :, np.newaxis] + best[:, np.newaxis, :],
    )
    pair = np.where(clash, split, pair)
    new_used = used - saving[rows, np.newaxis, np.newaxis] + pair
    node_scores = model.scores[outside[short]]
    gain = (node_scores[:, np.newaxis] + node_scores[np.newaxis, :])[np.newaxis] - model.scores[
        route[rows + 1]
    ][:, np.newaxis, np.newaxis]
    shorter = (gain > -_EPS) & (new_used < used - 1e-6)
    ok = (new_used <= model.budget + _EPS) & ((gain > _EPS) | shorter) & _upper(len(short))
    model.charge(sub.size + 8 * pair.size, 1.0)
    if not ok.any():
        return None
    value = np.where(ok, gain - 1e-9 * new_used, -np.inf)
    i, a, b = (int(v) for v in np.unravel_index(int(value.argmax()), value.shape))
    ka, kb = int(short[a]), int(short[b])
    pa, pb = int(place[i, a]), int(place[i, b])
    if pa == pb:
        # The split priced above: one of the two at its second best place.
        if best[i, a] + second[i, b] <= second[i, a] + best[i, b]:
            pb = int(places[int(rest[i, :, b].argmin()), kb])
        else:
            pa = int(places[int(rest[i, :, a].argmin()), ka])
    removed = route[rows[i] + 1]
    nodes = [int(outside[ka]), int(outside[kb])]
    route = np.insert(route, [pa + 1, pb + 1], nodes)
    route = route[route != removed]
    outside = np.append(outside[(outside != nodes[0]) & (outside != nodes[1])], removed)
    return route, float(new_used[i, a, b]), outside


def _frozen(rows: ArrayT) -> ArrayT:
    """`rows`, read-only: the cached tables below are shared by every call."""
    rows.setflags(write=False)
    return rows


@functools.cache
def _upper(size: int) -> npt.NDArray[np.bool_]:
    """`upper[0, a, b]`: a < b (each unordered pair once)."""
    return _frozen(np.triu(np.ones((size, size), dtype=bool), 1)[np.newaxis])


def _drop_two(
    model: SearchModel,
    route: IntArray,
    used: float,
    outside: IntArray,
    places: IntArray,
    values: FloatArray,
) -> tuple[IntArray, float, IntArray] | None:
    """Swap two consecutive stops for one unvisited node that scores more than both (or
    as much for less cost) and fits: the node goes in the gap they leave or at its
    cheapest place away from their arcs; the best-scoring such swap, or None."""
    cost = model.cost
    before, after = route[:-3], route[3:]  # the stops route[i+1], route[i+2] go
    saving = (
        cost[before, route[1:-2]]
        + cost[route[1:-2], route[2:-1]]
        + cost[route[2:-1], after]
        - cost[before, after]
    )
    lost = model.scores[route[1:-2]] + model.scores[route[2:-1]]
    node_scores = model.scores[outside]
    gain = node_scores[np.newaxis, :] - lost[:, np.newaxis]  # (runs, k)
    if not (gain > -_EPS).any():
        model.charge(gain.size, 0.3)
        return None
    runs = np.arange(len(before))[:, np.newaxis, np.newaxis]
    allowed = (places[np.newaxis] < runs) | (places[np.newaxis] > runs + 2)
    choice = np.where(allowed, values[np.newaxis], np.inf)  # (runs, top, k)
    elsewhere = choice.min(axis=1)
    gap = (
        cost.take(before, axis=0).take(outside, axis=1)
        + cost.take(outside, axis=0).take(after, axis=1).T
        - cost[before, after][:, np.newaxis]
    )
    extra = np.minimum(gap, elsewhere)
    new_used = used - saving[:, np.newaxis] + extra
    model.charge(choice.size + 6 * gap.size, 1.0)
    shorter = (gain > -_EPS) & (new_used < used - 1e-6)
    ok = (new_used <= model.budget + _EPS) & ((gain > _EPS) | shorter)
    if not ok.any():
        return None
    value = np.where(ok, gain - 1e-9 * new_used, -np.inf)
    i, k = divmod(int(value.argmax()), value.shape[1])
    node = int(outside[k])
    gone = route[i + 1 : i + 3]
    if gap[i, k] <= elsewhere[i, k]:
        route = np.concatenate((route[: i + 1], [node], route[i + 3 :])).astype(route.dtype)
    else:
        position = int(places[int(choice[i, :, k].argmin()), k])
        route = insert_at(route, position + 1, node)
        route = route[(route != gone[0]) & (route != gone[1])]
    outside = np.append(outside[outside != node], gone)
    return route, float(new_used[i, k]), outside


# `swap_two_for_two` is tried on routes of at most this many stops (every pair of them
# out: at most 36 pairs, each with its own insertion table), and pairs only the
# `PAIR_SHORTLIST` best-scoring outside nodes that could fit with a pair out.
TWO_FOR_TWO_STOPS = 9
# Steps `swap_two_for_two` is charged besides its cells (half of it for each of its
# three parts), set with its cells so that the move is charged at least as many units
# per CPU second as the search around it (measured in-process on the router's walks:
# 4.1e8 against 3.3e8 for the whole search, whose figure it leaves unchanged).
_TWO_FOR_TWO_STEPS = 6.0
_TWO_FOR_TWO_CELLS = 3


def swap_two_for_two(
    model: SearchModel, route: IntArray, used: float, outside: IntArray, three_in: bool = False
) -> tuple[IntArray, float, IntArray] | None:
    """Swap any two stops (not only consecutive ones) for two unvisited nodes that
    together score more (or the same for less cost) and fit: the best-scoring such swap,
    or None. Every pair of stops out at once: each reduced route gets its own insertion
    table (pairs x arcs x nodes); a node's best and second best places give the best
    placement of two nodes on distinct arcs exactly (insertions on distinct arcs add up);
    both nodes on one arc (either node's best, in either order) are priced by their
    sequence. Only the `PAIR_SHORTLIST` best-scoring nodes that could fit with the pair
    out are paired. `three_in`: two stops out, three nodes in too (`_three_in`), the
    better of the two. Returns the route, its cost as predicted, and the nodes outside."""
    stops = len(route) - 2
    if stops < 2 or stops > TWO_FOR_TWO_STOPS or len(outside) < 2:
        return None
    cost, scores = model.cost, model.scores
    first, second = np.triu_indices(stops, 1)
    pairs = len(first)
    keep = np.ones((pairs, len(route)), dtype=bool)
    rows = np.arange(pairs)
    keep[rows, first + 1] = False
    keep[rows, second + 1] = False
    reduced = np.broadcast_to(route, keep.shape)[keep].reshape(pairs, stops)
    heads, tails = reduced[:, :-1], reduced[:, 1:]  # (pairs, arcs)
    arcs = heads.shape[1]
    arc = cost[heads, tails]
    base = arc.sum(axis=1)  # each reduced route's cost
    room = model.budget - base
    n = len(outside)
    into = cost.take(heads.ravel(), axis=0).take(outside, axis=1).reshape(pairs, arcs, n)
    out = cost.take(outside, axis=0).take(tails.ravel(), axis=1).T.reshape(pairs, arcs, n)
    table = into + out - arc[:, :, np.newaxis]  # (pairs, arcs, nodes)
    model.charge(_TWO_FOR_TWO_CELLS * table.size, _TWO_FOR_TWO_STEPS / 2)
    at = np.arange(pairs)[:, np.newaxis]
    best_place = table.argmin(axis=1)  # (pairs, nodes)
    best = np.take_along_axis(table, best_place[:, np.newaxis, :], axis=1)[:, 0, :]
    if arcs > 1:
        rest = table.copy()
        np.put_along_axis(rest, best_place[:, np.newaxis, :], np.inf, axis=1)
        next_place = rest.argmin(axis=1)
        next_best = np.take_along_axis(rest, next_place[:, np.newaxis, :], axis=1)[:, 0, :]
    else:
        next_place = best_place
        next_best = np.full_like(best, np.inf)
    # A node can be in a fitting pair only if its extra, plus the cheapest partner's (which
    # may be negative where distances break the triangle inequality), fits.
    partner = np.minimum(best.min(axis=1), 0.0)
    fits = best <= (room - partner)[:, np.newaxis] + _EPS
    key = np.where(fits, -scores[outside][np.newaxis, :], np.inf)
    size = min(PAIR_SHORTLIST, n)
    short = np.argsort(key, axis=1, kind="stable")[:, :size]  # (pairs, s)
    nodes = outside[short]
    b1 = best[at, short]
    b2 = next_best[at, short]
    p1 = best_place[at, short]
    # Distinct arcs: both at their best places, or one at its second best when those clash.
    clash = p1[:, :, np.newaxis] == p1[:, np.newaxis, :]
    distinct = np.where(
        clash,
        np.minimum(
            b1[:, :, np.newaxis] + b2[:, np.newaxis, :], b2[:, :, np.newaxis] + b1[:, np.newaxis, :]
        ),
        b1[:, :, np.newaxis] + b1[:, np.newaxis, :],
    )
    # One arc: a's best arc, a then b or b then a; the pair's option is the better of that
    # and the same at b's best arc.
    a_then_b, b_then_a = _one_arc(model, heads, tails, p1, nodes)
    own = np.minimum(a_then_b, b_then_a)  # both at a's best arc
    same = np.minimum(own, own.transpose(0, 2, 1))
    extra = np.minimum(distinct, same)
    new_used = base[:, np.newaxis, np.newaxis] + extra
    mid = route[1:-1]
    lost = scores[mid[first]] + scores[mid[second]]
    node_scores = scores[nodes]
    gain = (
        node_scores[:, :, np.newaxis]
        + node_scores[:, np.newaxis, :]
        - lost[:, np.newaxis, np.newaxis]
    )
    shorter = (gain > -_EPS) & (new_used < used - 1e-6)
    ok = (new_used <= model.budget + _EPS) & ((gain > _EPS) | shorter) & _upper(size)
    model.charge(_TWO_FOR_TWO_CELLS * 8 * extra.size, _TWO_FOR_TWO_STEPS / 2)
    value = np.where(ok, gain - 1e-9 * new_used, -np.inf)
    three = _three_in(model, table, heads, tails, base, lost, outside, used) if three_in else None
    if not ok.any() and three is None:
        return None
    if three is not None and (not ok.any() or three[0] > value.max()):
        _, i, picked, places, predicted = three
        gone = np.array([mid[first[i]], mid[second[i]]], dtype=outside.dtype)
        new = np.insert(reduced[i], places + 1, picked)
        left = outside[~np.isin(outside, picked)]
        return new, predicted, np.concatenate((left, gone))
    i, a, b = (int(x) for x in np.unravel_index(int(value.argmax()), value.shape))
    gone = np.array([mid[first[i]], mid[second[i]]], dtype=outside.dtype)
    node_a, node_b = int(nodes[i, a]), int(nodes[i, b])
    path = reduced[i]
    if distinct[i, a, b] <= same[i, a, b]:
        pa, pb = int(p1[i, a]), int(p1[i, b])
        if pa == pb:
            ka, kb = int(short[i, a]), int(short[i, b])
            if b1[i, a] + b2[i, b] <= b2[i, a] + b1[i, b]:
                pb = int(next_place[i, kb])
            else:
                pa = int(next_place[i, ka])
        new = np.insert(path, [pa + 1, pb + 1], [node_a, node_b])
    else:
        # Both on one arc: a's best (a then b, or b then a) or b's best (likewise).
        if own[i, a, b] <= own[i, b, a]:
            place, x, y = int(p1[i, a]), (node_a, node_b), (node_b, node_a)
            pick = x if a_then_b[i, a, b] <= b_then_a[i, a, b] else y
        else:
            place, x, y = int(p1[i, b]), (node_b, node_a), (node_a, node_b)
            pick = x if a_then_b[i, b, a] <= b_then_a[i, b, a] else y
        new = np.concatenate((path[: place + 1], pick, path[place + 1 :])).astype(route.dtype)
    left = outside[(outside != node_a) & (outside != node_b)]
    return new, float(new_used[i, a, b]), np.concatenate((left, gone))


# Outside nodes `_three_in` makes triples of (each pair of stops out): 35 triples; and
# the cells charged per cell of its tables of places (see `_TWO_FOR_TWO_STEPS`).
TRIPLE_SHORTLIST = 7
_THREE_CELLS = 5


@functools.cache
def _triples(size: int) -> IntArray:
    """Every triple a < b < c of range(size), one a row."""
    return _frozen(np.array(list(itertools.combinations(range(size), 3)), dtype=np.intp))


@functools.cache
def _ranks() -> IntArray:
    """The choices of a first, second or third cheapest place for each of three nodes,
    two ranks off their cheapest in all at most (10 of the 27)."""
    rows = [r for r in itertools.product(range(3), repeat=3) if sum(r) <= 2]
    return _frozen(np.array(rows, dtype=np.intp))


@functools.cache
def _orders() -> IntArray:
    """The 6 orders (x, y, z) of a triple's three members."""
    return _frozen(np.array(list(itertools.permutations(range(3))), dtype=np.intp))


def _three_in(
    model: SearchModel,
    table: FloatArray,
    heads: IntArray,
    tails: IntArray,
    base: FloatArray,
    lost: FloatArray,
    outside: IntArray,
    used: float,
) -> tuple[float, int, IntArray, IntArray, float] | None:
    """For `swap_two_for_two`: the best two-out-three-in swap into a reduced route
    (`table[pair]`, its insertion table; `heads`, `tails`, its arcs; `base[pair]`, its
    cost; `lost[pair]`, the score the pair takes out). Three nodes on distinct arcs, each
    at one of its three cheapest places, two ranks off their cheapest in all at most (the
    best placement on distinct arcs unless their first and second places clash); or two of
    them in sequence on one arc (either's cheapest, either order) and the third at its
    cheapest other arc. Only the `TRIPLE_SHORTLIST` nodes of the best score per extra
    cost that could fit are tried. Returns (value, pair, nodes and their places in the
    reduced route in insertion order, predicted cost) or None."""
    _, arcs, n = table.shape
    if n < 3 or arcs < 2:
        return None
    scores = model.scores
    top = min(3, arcs)
    order = np.argsort(table, axis=1, kind="stable")[:, :top, :]  # (pairs, top, nodes)
    vals = np.take_along_axis(table, order, axis=1)
    if top < 3:
        order = np.concatenate((order, order[:, :1, :]), axis=1)
        vals = np.concatenate((vals, np.full_like(vals[:, :1, :], np.inf)), axis=1)
    room = model.budget - base
    # Two partners' extras, at their cheapest, bound what a node's own extra may be.
    floor = np.minimum(np.partition(vals[:, 0, :], 1, axis=1)[:, :2], 0.0).sum(axis=1)
    fits = vals[:, 0, :] <= (room - floor)[:, np.newaxis] + _EPS
    ratio = scores[outside][np.newaxis, :] / (
        np.maximum(vals[:, 0, :], 0.0) + np.maximum(room, 1e-6)[:, np.newaxis] / 8
    )
    key = np.where(fits, -ratio, np.inf)
    size = min(TRIPLE_SHORTLIST, n)
    short = np.argsort(key, axis=1, kind="stable")[:, :size]  # (pairs, s)
    place = np.take_along_axis(order, short[:, np.newaxis, :], axis=2).transpose(0, 2, 1)
    cost = np.take_along_axis(vals, short[:, np.newaxis, :], axis=2).transpose(0, 2, 1)
    nodes = outside[short]
    tri, ranks = _triples(size), _ranks()
    at = tri[:, np.newaxis, :], ranks[np.newaxis, :, :]
    spots = place[:, at[0], at[1]]  # (pairs, triples, 10, 3)
    extras = cost[:, at[0], at[1]].sum(axis=3)
    apart = (
        (spots[..., 0] != spots[..., 1])
        & (spots[..., 0] != spots[..., 2])
        & (spots[..., 1] != spots[..., 2])
    )
    extras = np.where(apart, extras, np.inf)
    pick = extras.argmin(axis=2)  # (pairs, triples)
    spread = np.take_along_axis(extras, pick[:, :, np.newaxis], axis=2)[:, :, 0]
    # Two in sequence on x's cheapest arc, the third at its cheapest other arc.
    a_then_b, b_then_a = _one_arc(model, heads, tails, place[:, :, 0], nodes)
    own = np.minimum(a_then_b, b_then_a)  # (pairs, s, s): x and y on x's cheapest arc
    members = tri[:, _orders()]  # (triples, 6, 3)
    x, y, z = members[..., 0], members[..., 1], members[..., 2]
    arc = place[:, x, 0]  # (pairs, triples, 6)
    third = np.where(place[:, z, 0] != arc, cost[:, z, 0], cost[:, z, 1])
    grouped = own[:, x, y] + third
    way = grouped.argmin(axis=2)
    paired = np.take_along_axis(grouped, way[:, :, np.newaxis], axis=2)[:, :, 0]
    extra = np.minimum(spread, paired)
    new_used = base[:, np.newaxis] + extra
    gain = scores[nodes][:, tri].sum(axis=2) - lost[:, np.newaxis]
    shorter = (gain > -_EPS) & (new_used < used - 1e-6)
    ok = (new_used <= model.budget + _EPS) & ((gain > _EPS) | shorter)
    model.charge(_THREE_CELLS * (spots.size + 4 * grouped.size), _TWO_FOR_TWO_STEPS / 2)
    if not ok.any():
        return None
    value = np.where(ok, gain - 1e-9 * new_used, -np.inf)
    i, t = divmod(int(value.argmax()), value.shape[1])
    if spread[i, t] <= paired[i, t]:
        picked, places = nodes[i, tri[t]], spots[i, t, pick[i, t]]
    else:
        q = int(way[i, t])
        xi, yi, zi = int(x[t, q]), int(y[t, q]), int(z[t, q])
        if b_then_a[i, xi, yi] < a_then_b[i, xi, yi]:
            xi, yi = yi, xi  # y first, on x's arc: the same arc either way
            spot = int(place[i, yi, 0])
        else:
            spot = int(place[i, xi, 0])
        zspot = int(place[i, zi, 0]) if place[i, zi, 0] != spot else int(place[i, zi, 1])
        picked = nodes[i, [xi, yi, zi]]
        places = np.array([spot, spot, zspot], dtype=np.intp)
    return float(value[i, t]), i, picked, places, float(new_used[i, t])


def _one_arc(
    model: SearchModel, heads: IntArray, tails: IntArray, best: IntArray, nodes: IntArray
) -> tuple[FloatArray, FloatArray]:
    """`[pair, a, b]`: the extra cost of a then b, and of b then a, in sequence on node
    a's cheapest arc `best[pair, a]` of the reduced route (`heads`, `tails`)."""
    cost = model.cost
    at = np.arange(len(heads))[:, np.newaxis]
    u = heads[at, best]
    v = tails[at, best]  # (pairs, s)
    link = cost[nodes[:, :, np.newaxis], nodes[:, np.newaxis, :]]  # link[a, b] = cost[a, b]
    uv = cost[u, v][:, :, np.newaxis]
    a_then_b = (
        cost[u, nodes][:, :, np.newaxis]
        + link
        + cost[nodes[:, np.newaxis, :], v[:, :, np.newaxis]]
        - uv
    )
    b_then_a = (
        cost[u[:, :, np.newaxis], nodes[:, np.newaxis, :]]
        + link.transpose(0, 2, 1)
        + cost[nodes, v][:, :, np.newaxis]
        - uv
    )
    return a_then_b, b_then_a
