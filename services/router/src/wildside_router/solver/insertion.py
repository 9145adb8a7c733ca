"""An insertion table kept up to date across insertions instead of rebuilt after each.

For every node outside the route it keeps the cheapest place (the first such edge, as
`argmin` over a rebuilt table would pick) and that extra cost. After `node` goes between
`a` and `b`, only two new edges, (a, node) and (node, b), are priced for every node; the
nodes whose cheapest place was the split edge (a, b) are re-priced over the whole route
(their column of the table, kept beside). Every other node's cheapest place is an edge
that did not change, so it stays valid; its index only shifts. The budget's slack plays
no part in the table: what fits is decided afresh from the cheapest costs each time.

Same float formula as `moves.insertion_table`, same tie-breaking (lowest edge index), so
the choices are identical to rebuilding the table after every insertion (tested).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from wildside_router.solver.model import FloatArray
    from wildside_router.solver.moves import IntArray, SearchModel

# Steps an update is charged (its numpy calls on short arrays, against the fixed charge
# of one vectorised step): calibrated so that the search does as much work per CPU second
# as with rebuilt tables (docs/solver.md).
UPDATE_STEPS = 0.7
_EPS = 1e-9


def fitting_ratios(extra: FloatArray, slack: float, weight: FloatArray) -> tuple[FloatArray, int]:
    """`weight / extra` of the insertions whose extra cost fits in `slack` (-inf for the
    others) and how many fit: the one feasibility test and ratio of every greedy fill
    (`moves.best_insertion`, `moves.fill_batched`, `InsertionTable.choose`)."""
    fits = extra <= slack + _EPS
    ratio = np.where(fits, weight / (np.maximum(extra, 0.0) + 1e-6), -np.inf)
    return ratio, int(fits.sum())


class InsertionTable:
    """Cheapest insertion of each of `nodes` into `route`, updated insertion by insertion.

    Nodes are never removed from the arrays: an inserted node gets an infinite cost, so
    it never fits again (cheaper than deleting from every array)."""

    def __init__(self, model: SearchModel, route: IntArray, nodes: IntArray) -> None:
        self.model = model
        self.route = route
        self.nodes = nodes
        cost = model.cost
        # Rows of the cost matrix into and out of the nodes, for pricing new edges.
        self._out = cost[:, nodes]
        self._into = np.ascontiguousarray(cost[nodes].T)
        head, tail = route[:-1], route[1:]
        self.table: FloatArray = self._out[head] + self._into[tail] - cost[head, tail][:, None]
        model.charge(2 * cost.shape[0] * len(nodes) + self.table.size)
        self.place = self.table.argmin(axis=0)
        cols = np.arange(len(nodes))
        self.extra: FloatArray = self.table[self.place, cols]
        self.alive = np.ones(len(nodes), dtype=bool)

    def insert(self, k: int, place: int) -> None:
        """Put `nodes[k]` on edge `place` (between `route[place]` and `route[place+1]`)."""
        model, route, node = self.model, self.route, int(self.nodes[k])
        a, b = int(route[place]), int(route[place + 1])
        cost = model.cost
        first = self._out[a] + self._into[node] - cost[a, node]
        second = self._out[node] + self._into[b] - cost[node, b]
        self.route = np.concatenate(
            (route[: place + 1], np.array([node], dtype=route.dtype), route[place + 1 :])
        )
        self.table = np.concatenate((self.table[:place], [first, second], self.table[place + 1 :]))
        stale = self.place == place
        shifted = self.place + (self.place > place)
        # The better new edge; the first one on a tie, as argmin would pick.
        pick_second = second < first
        new = np.where(pick_second, second, first)
        new_place = place + pick_second
        # An unchanged edge before the split wins ties, one after it loses them.
        take = ((new < self.extra) | ((new == self.extra) & (shifted > place))) & self.alive
        self.place = np.where(take, new_place, shifted)
        self.extra = np.where(take, new, self.extra)
        cells = 8 * len(self.nodes)
        if stale.any():
            cols = np.flatnonzero(stale)
            column = self.table[:, cols]
            best = column.argmin(axis=0)
            self.place[cols] = best
            self.extra[cols] = column[best, np.arange(len(cols))]
            cells += column.size
        self.alive[k] = False
        self.extra[k] = np.inf
        self.place[k] = -1  # never on a split edge, never shifted into one
        model.charge(cells, UPDATE_STEPS)

    def choose(
        self, slack: float, weight: FloatArray, rng: np.random.Generator | None
    ) -> tuple[int, int, float] | None:
        """(index into nodes, edge, extra) of the feasible insertion with the best
        `weight / extra`, now and then one of the best three with `rng` (as
        `moves.best_insertion`); None when nothing fits in `slack`."""
        ratio, count = fitting_ratios(self.extra, slack, weight)
        if count == 0:
            return None
        k = int(ratio.argmax())
        if rng is not None and count > 1 and rng.random() < 0.3:
            # Sorted over the live nodes only, in their order: the same array, so the
            # same order of ties, as a table rebuilt over the outside nodes.
            live = np.flatnonzero(self.alive)
            top = live[np.argsort(-ratio[live])[: min(3, count)]]
            k = int(top[rng.integers(len(top))])
        return k, int(self.place[k]), float(self.extra[k])
