"""Plan a walk: candidates + street network -> an orienteering instance -> a route.

Travel costs are minutes of walking along the street network: every point (start, end,
candidate) is snapped to its nearest network node, and the cost between two points is
snap distance + shortest network path + snap distance, walked at the configured speed.
The budget is the walk's duration in minutes, a hard limit including the dwell time at
each place. Where the network does not reach the start or the end (no node within
`max_snap_m`), every leg is a straight line lengthened by `STRAIGHT_DETOUR` and the result
says `"straight_line": true`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from wildside_common.errors import InvalidInput
from wildside_common.messages import GenerateRouteJob, GeoPoint
from wildside_common.route import Route, Stop
from wildside_router.domain.geometry import haversine_m
from wildside_router.domain.network import FloatArray, StreetNetwork
from wildside_router.domain.scoring import InterestProfile, ScoredCandidate
from wildside_router.solver.model import OPInstance, OPSolution, ProgressFn, RouteSolver

ENGINE_VERSION = "engine-1"
ATTRIBUTION = "Map data (c) OpenStreetMap contributors, ODbL"
DEFAULT_SEED = 20_261_122
# Streets are rarely straight: a straight-line fallback plans with this detour so the walk
# still fits the budget when walked for real.
STRAIGHT_DETOUR = 1.3


@dataclass(frozen=True, slots=True)
class PlannerSettings:
    """The engine's knobs (see docs/engine.md)."""

    walking_speed_kmh: float = 4.8
    time_limit: float = 0.1
    max_snap_m: float = 250.0

    def __post_init__(self) -> None:
        if not 0.5 <= self.walking_speed_kmh <= 20:
            raise InvalidInput.field("walking_speed_kmh", "must be between 0.5 and 20")
        if self.time_limit <= 0 or self.max_snap_m <= 0:
            raise InvalidInput("time_limit and max_snap_m must be positive")

    @property
    def metres_per_minute(self) -> float:
        """Walking speed in metres per minute."""
        return self.walking_speed_kmh * 1000 / 60

    def walk_metres(self, minutes: float) -> float:
        """How far the walker gets in `minutes` without stopping."""
        return minutes * self.metres_per_minute


@dataclass(frozen=True, slots=True)
class _Stop:
    lat: float
    lng: float
    node: int
    snap_m: float


def plan_walk(
    job: GenerateRouteJob,
    network: StreetNetwork | None,
    scored: Sequence[ScoredCandidate],
    profile: InterestProfile,
    solver: RouteSolver,
    settings: PlannerSettings,
    progress: ProgressFn | None = None,
) -> Route:
    """The route for `job` (result shape in docs/engine.md)."""
    end = job.end or job.start
    stops = [_stop(network, job.start, settings)]
    if job.end is not None:
        stops.append(_stop(network, end, settings))
    on_network = network is not None and all(s.snap_m <= settings.max_snap_m for s in stops)
    chosen = list(scored)
    if on_network:
        assert network is not None
        snapped = _stops(network, chosen)
        keep = [i for i, s in enumerate(snapped) if s.snap_m <= settings.max_snap_m]
        chosen, stops = [chosen[i] for i in keep], stops + [snapped[i] for i in keep]
        metres = _network_metres(network, stops, settings.walk_metres(job.duration_minutes))
    else:
        stops += [_Stop(c.candidate.lat, c.candidate.lng, -1, 0.0) for c in chosen]
        metres = _straight_metres(stops)
    fixed = len(stops) - len(chosen)
    minutes = metres / settings.metres_per_minute
    dwell = np.array([0.0] * fixed + [c.dwell_minutes for c in chosen])
    reachable = _reachable(minutes, dwell, fixed, float(job.duration_minutes))
    chosen = [c for i, c in enumerate(chosen) if reachable[fixed + i]]
    index = np.flatnonzero(reachable)
    stops = [stops[i] for i in index]
    minutes, metres = minutes[np.ix_(index, index)], metres[np.ix_(index, index)]
    instance = _instance(job, minutes, dwell[index], [c.score for c in chosen], fixed)
    seed = DEFAULT_SEED if job.seed is None else job.seed % 2**63
    solution = solver.solve(instance, settings.time_limit, seed, progress)
    return _result(job, network if on_network else None, stops, chosen, profile,
                   solution, metres, settings, fixed)  # fmt: skip


def _stop(network: StreetNetwork | None, point: GeoPoint, settings: PlannerSettings) -> _Stop:
    if network is None:
        return _Stop(point.lat, point.lng, -1, float("inf"))
    node, distance = network.snap(point.lat, point.lng)
    return _Stop(point.lat, point.lng, node, distance)


def _stops(network: StreetNetwork, chosen: list[ScoredCandidate]) -> list[_Stop]:
    """The candidates snapped to the network, in one KD-tree query."""
    lat = np.array([c.candidate.lat for c in chosen], dtype=np.float64)
    lng = np.array([c.candidate.lng for c in chosen], dtype=np.float64)
    nodes, metres = network.snap_many(lat, lng)
    return [
        _Stop(c.candidate.lat, c.candidate.lng, int(node), float(distance))
        for c, node, distance in zip(chosen, nodes.tolist(), metres.tolist(), strict=True)
    ]


def _network_metres(network: StreetNetwork, stops: list[_Stop], walk_m: float) -> FloatArray:
    """Snap + shortest path + snap between every pair of stops; inf when out of reach."""
    nodes = sorted({s.node for s in stops})
    rows = network.distances(nodes, limit=walk_m, targets=nodes)
    row_of = {node: i for i, node in enumerate(nodes)}
    index = np.array([row_of[s.node] for s in stops])
    between = rows[np.ix_(index, index)]
    snap = np.array([s.snap_m for s in stops])
    metres = snap[:, None] + between + snap[None, :]
    np.fill_diagonal(metres, 0.0)
    return np.asarray(metres, np.float64)


def _straight_metres(stops: list[_Stop]) -> FloatArray:
    n = len(stops)
    metres = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            a, b = stops[i], stops[j]
            metres[i, j] = metres[j, i] = haversine_m(a.lat, a.lng, b.lat, b.lng) * STRAIGHT_DETOUR
    return metres


def _reachable(minutes: FloatArray, dwell: FloatArray, fixed: int, budget: float) -> FloatArray:
    """Stops worth giving the solver: start/end always, candidates that fit on their own."""
    end = 1 if fixed == 2 else 0
    alone = minutes[0, :] + dwell + minutes[:, end]
    keep = np.isfinite(alone) & (alone <= budget)
    keep[:fixed] = True
    return np.asarray(keep)


def _instance(
    job: GenerateRouteJob,
    minutes: FloatArray,
    dwell: FloatArray,
    scores: list[float],
    fixed: int,
) -> OPInstance:
    budget = float(job.duration_minutes)
    # Pairs out of Dijkstra's reach can never be on a feasible route: any finite cost
    # above the budget keeps the matrix valid and the solver away from them.
    costs = np.where(np.isfinite(minutes), minutes, budget * 10 + 1)
    try:
        return OPInstance(
            costs, np.array([0.0] * fixed + scores), budget, 0, 1 if fixed == 2 else 0, dwell
        )
    except InvalidInput as exc:
        raise InvalidInput.field(
            "duration_minutes", "too short to walk from the start to the end"
        ) from exc


def _result(
    job: GenerateRouteJob,
    network: StreetNetwork | None,
    stops: list[_Stop],
    chosen: list[ScoredCandidate],
    profile: InterestProfile,
    solution: OPSolution,
    metres: FloatArray,
    settings: PlannerSettings,
    fixed: int,
) -> Route:
    route = list(solution.route)
    points = [Stop(job.start.lat, job.start.lng, "Start")]
    matched: set[str] = set()
    dwell = walk = 0.0
    for before, index in itertools.pairwise(route[:-1]):
        walk += float(metres[before, index]) / settings.metres_per_minute
        visit = chosen[index - fixed]
        place = visit.candidate
        matched.update(profile.matches(place.themes))
        points.append(
            Stop(
                place.lat,
                place.lng,
                place.name or place.category,
                place.osm,
                tuple(place.themes),
                round(visit.dwell_minutes, 1),
                round(walk + dwell, 1),
            )
        )
        dwell += visit.dwell_minutes
    end = job.end or job.start
    points.append(Stop(end.lat, end.lng, "End" if job.end else "Start"))
    distance = float(sum(metres[a, b] for a, b in itertools.pairwise(route)))
    walk = distance / settings.metres_per_minute
    return Route(
        stops=tuple(points),
        geometry=_geometry(network, stops, route),
        distance_m=round(distance, 1),
        duration_minutes=round(walk + dwell, 1),
        walk_minutes=round(walk, 1),
        themes_matched=tuple(sorted(matched)),
        pois_considered=len(chosen),
        proven_optimal=solution.proven_optimal,
        optimality_gap=_gap(solution),
        engine=ENGINE_VERSION,
        attribution=ATTRIBUTION,
        straight_line=network is None,
        score=round(float(solution.score), 4),
    )


def _gap(solution: OPSolution) -> float | None:
    """The solver's optimality gap (0 when proven, None when it has no bound)."""
    gap = solution.optimality_gap
    return None if gap is None else round(gap, 4)


def _geometry(
    network: StreetNetwork | None, stops: list[_Stop], route: list[int]
) -> tuple[tuple[float, float], ...]:
    """The walked line: each stop, its snap to the network, the street path, and on."""
    coords: list[tuple[float, float]] = [(stops[route[0]].lng, stops[route[0]].lat)]
    for a, b in itertools.pairwise(route):
        if network is not None:
            coords.extend(network.polyline(network.path(stops[a].node, stops[b].node)))
        coords.append((stops[b].lng, stops[b].lat))
    line = [list(coords[0])]
    for point in coords[1:]:
        if list(point) != line[-1]:
            line.append(list(point))
    if len(line) == 1:
        line.append(list(line[0]))
    return tuple((round(float(x), 7), round(float(y), 7)) for x, y in line)
