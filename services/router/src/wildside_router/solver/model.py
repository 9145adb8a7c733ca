"""The Orienteering Problem (OP): pick and order places so the collected score is highest
while the walk (travel plus time spent at each place) stays within a budget.

An `OPInstance` is a travel-cost matrix (may be asymmetric), one score and one dwell cost
per node, a budget, and a start and an end node (`end == start` is a round trip). A
route lists node indices in visit order, from `start` to `end`; a round trip lists the
start at both ends. `RouteSolver` is the port every solver implements.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from wildside_common.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
ProgressFn = Callable[[float], None]

# Float slack when comparing a route length with the budget: lengths are sums of
# square roots, and a route the literature reports as feasible may sit exactly on Tmax.
_BUDGET_RTOL = 1e-9


def _as_float_array(values: object, name: str, ndim: int) -> FloatArray:
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInput.field(name, "must be numeric") from exc
    if array.ndim != ndim:
        raise InvalidInput.field(name, f"must have {ndim} dimension(s)")
    if not np.all(np.isfinite(array)):
        raise InvalidInput.field(name, "must be finite")
    if np.any(array < 0):
        raise InvalidInput.field(name, "must be non-negative")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, slots=True, eq=False)
class OPInstance:
    """A validated OP instance; arrays are copied and made read-only."""

    distances: FloatArray
    scores: FloatArray
    budget: float
    start: int
    end: int
    service: FloatArray = field(default_factory=lambda: np.zeros(0))
    name: str = ""

    def __post_init__(self) -> None:
        distances = _as_float_array(self.distances, "distances", 2)
        n = distances.shape[0]
        if n == 0 or distances.shape != (n, n):
            raise InvalidInput.field("distances", "must be a non-empty square matrix")
        scores = _as_float_array(self.scores, "scores", 1)
        service = _as_float_array(self.service, "service", 1) if len(self.service) else None
        if service is None:
            service = np.zeros(n)
            service.setflags(write=False)
        if scores.shape != (n,) or service.shape != (n,):
            raise InvalidInput.field("scores", f"scores and service need {n} entries")
        if isinstance(self.budget, bool) or not isinstance(self.budget, numbers.Real):
            raise InvalidInput.field("budget", "must be a finite number")
        if not math.isfinite(float(self.budget)):
            raise InvalidInput.field("budget", "must be a finite number")
        if self.budget < 0:
            raise InvalidInput.field("budget", "must be non-negative")
        for label, index in (("start", self.start), ("end", self.end)):
            integral = isinstance(index, numbers.Integral) and not isinstance(index, bool)
            if not integral or not 0 <= index < n:
                raise InvalidInput.field(label, f"must be a node index in [0, {n})")
        object.__setattr__(self, "distances", distances)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "service", service)
        object.__setattr__(self, "budget", float(self.budget))
        object.__setattr__(self, "start", int(self.start))
        object.__setattr__(self, "end", int(self.end))
        if self.base_cost() > self.budget * (1 + _BUDGET_RTOL):
            raise InvalidInput.field("budget", "too small even to go from start to end")

    @property
    def n(self) -> int:
        """Number of nodes."""
        return int(self.distances.shape[0])

    @property
    def round_trip(self) -> bool:
        """True when the route must come back to its start."""
        return self.start == self.end

    def base_route(self) -> list[int]:
        """The shortest legal route: straight from start to end."""
        return [self.start, self.end]

    def base_cost(self) -> float:
        """Length of `base_route`, dwell at start and end included."""
        return route_length(self, self.base_route())


@dataclass(frozen=True, slots=True)
class OPSolution:
    """A route with its score and its length (travel plus dwell).

    `proven_optimal` says a solver proved no feasible route scores more; `bound`, when a
    solver computed one, is an upper bound on the best score (None: nothing known).
    """

    route: tuple[int, ...]
    score: float
    length: float
    proven_optimal: bool = False
    bound: float | None = None

    def __post_init__(self) -> None:
        if not self.route:
            raise InvalidInput.field("route", "must not be empty")
        if self.length < 0 or not math.isfinite(self.length):
            raise InvalidInput.field("length", "must be a finite non-negative number")
        if self.bound is not None and not self.bound >= self.score - 1e-9 * max(1.0, self.score):
            raise InvalidInput.field("bound", "must be at least the score")

    @property
    def optimality_gap(self) -> float | None:
        """(bound - score) / bound: 0 when proven optimal, None when no bound is known."""
        if self.proven_optimal:
            return 0.0
        if self.bound is None or not math.isfinite(self.bound):
            return None
        if self.bound <= 0:
            return 0.0
        return max(0.0, (self.bound - self.score) / self.bound)

    @classmethod
    def of(cls, instance: OPInstance, route: Sequence[int]) -> OPSolution:
        """Build a solution, computing score and length from the instance."""
        return cls(
            tuple(int(v) for v in route),
            route_score(instance, route),
            route_length(instance, route),
        )


def _distinct(route: Sequence[int]) -> list[int]:
    """The nodes of a route, a round trip's repeated start counted once."""
    if len(route) > 1 and route[0] == route[-1]:
        return list(route[:-1])
    return list(route)


def route_length(instance: OPInstance, route: Sequence[int]) -> float:
    """Travel along consecutive pairs plus the dwell cost of every distinct node."""
    nodes = np.asarray(route, dtype=np.intp)
    travel = float(instance.distances[nodes[:-1], nodes[1:]].sum()) if len(nodes) > 1 else 0.0
    return travel + float(instance.service[_distinct(route)].sum())


def route_score(instance: OPInstance, route: Sequence[int]) -> float:
    """Sum of the scores of the distinct nodes the route visits."""
    return float(instance.scores[_distinct(route)].sum())


def feasibility_problem(instance: OPInstance, route: Sequence[int]) -> str | None:
    """Why `route` is not feasible for `instance`, or None when it is."""
    if len(route) < 2 and not (len(route) == 1 and instance.round_trip):
        return "route too short"
    if any(not 0 <= v < instance.n for v in route):
        return "node index out of range"
    if route[0] != instance.start or route[-1] != instance.end:
        return "route must start at start and end at end"
    inner = _distinct(route)
    if len(set(inner)) != len(inner) or (not instance.round_trip and len(route) < 2):
        return "a node is visited twice"
    if instance.round_trip and instance.start in route[1:-1]:
        return "a node is visited twice"
    length = route_length(instance, route)
    if length > instance.budget * (1 + _BUDGET_RTOL) + 1e-12:
        return f"length {length:.6f} exceeds the budget {instance.budget:.6f}"
    return None


def check_feasible(instance: OPInstance, route: Sequence[int]) -> bool:
    """True when the route starts and ends right, repeats no node and fits the budget."""
    return feasibility_problem(instance, list(route)) is None


class RouteSolver(Protocol):
    """Finds a high-scoring feasible route; must never return an infeasible one."""

    def solve(
        self, instance: OPInstance, time_limit: float, seed: int, progress: ProgressFn | None
    ) -> OPSolution:
        """Solve within about `time_limit` seconds, deterministically for a given seed,
        calling `progress(fraction)` now and then from the calling thread."""
        ...
