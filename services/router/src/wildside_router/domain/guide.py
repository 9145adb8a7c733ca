"""Live walk guidance (pure): map matching, arrivals, progress, tips and reroutes.

The guide worker keeps one `WalkState` per walk and feeds it each accepted position;
`guide` returns the new state and the `Guidance` to send back. Distances along the
route are measured on a local flat projection around the route's first point (a walk
is a few kilometres: the error is far below GPS noise). Docs: docs/live-walk.md.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from wildside_common.route import Route
from wildside_router.domain.geometry import haversine_m

M_PER_DEG_LAT = 111_195.0


@dataclass(frozen=True, slots=True)
class GuideParams:
    """The guide's thresholds (docs/live-walk.md)."""

    walking_speed_mps: float = 4.8 / 3.6
    max_accuracy_m: float = 100.0
    max_age_s: float = 30.0
    arrival_m: float = 25.0
    off_route_m: float = 50.0
    reroute_after_s: float = 20.0
    tip_max_detour_minutes: float = 5.0
    tip_every_s: float = 180.0
    # places for tips are looked up again only after this far, or this many positions
    tip_look_every_m: float = 50.0
    tip_look_every_positions: int = 10
    # how far past the last match a position snaps at no cost (plus twice the distance
    # moved since the last position: a walker who sends positions rarely moves far)
    lookahead_m: float = 30.0


@dataclass(frozen=True, slots=True)
class PlanStop:
    index: int
    name: str
    lat: float
    lng: float
    along_m: float  # where the stop lies along the route
    set_back_m: float  # how far the stop is from the route
    osm: str | None = None


@dataclass(frozen=True, slots=True)
class WalkPlan:
    """A route prepared for matching: projected vertices with cumulative distances."""

    points: tuple[tuple[float, float], ...]  # (lat, lng)
    xy: tuple[tuple[float, float], ...]  # metres east, north of points[0]
    cum: tuple[float, ...]  # distance along the route at each vertex
    stops: tuple[PlanStop, ...]

    @property
    def length_m(self) -> float:
        return self.cum[-1]


@dataclass(frozen=True, slots=True)
class Match:
    segment: int
    along_m: float
    offset_m: float


@dataclass(frozen=True, slots=True)
class Position:
    lat: float
    lng: float
    accuracy_m: float
    timestamp: float  # Unix seconds


@dataclass(frozen=True, slots=True)
class WalkState:
    """What the guide remembers of a walk between positions."""

    segment: int = 0
    along_m: float = 0.0
    reached: int = 0  # stops reached so far (the next stop's index)
    last_timestamp: float | None = None
    last_lat: float | None = None  # the last accepted position (kept with the state only)
    last_lng: float | None = None
    off_route_since: float | None = None
    rerouted: bool = False  # a reroute was asked during the current off-route spell
    tips_given: tuple[str, ...] = ()
    last_tip_at: float | None = None
    positions: int = 0
    started_at: float | None = None  # the first accepted position's time
    looked_lat: float | None = None  # where places for tips were last looked up
    looked_lng: float | None = None
    looked_at_position: int = 0
    reroutes: int = 0  # reroutes asked so far


@dataclass(frozen=True, slots=True)
class WalkRequest:
    """What the walker asked for: their themes, time budget and end (None: back to the
    start). A reroute asks for the same from where they stand, with the time left."""

    themes: tuple[str, ...] = ()
    duration_minutes: float = 0.0
    end: tuple[float, float] | None = None  # (lat, lng)


@dataclass(frozen=True, slots=True)
class NextStop:
    index: int
    name: str
    distance_m: float
    bearing_deg: float
    eta_s: float


@dataclass(frozen=True, slots=True)
class Guidance:
    next_stop: NextStop
    walked_m: float
    remaining_m: float
    fraction: float
    off_route: bool
    arrived: int | None
    reroute: bool = False


@dataclass(frozen=True, slots=True)
class _Projection:
    lat0: float
    lng0: float
    kx: float = field(default=0.0)

    @classmethod
    def at(cls, lat: float, lng: float) -> _Projection:
        return cls(lat, lng, M_PER_DEG_LAT * math.cos(math.radians(lat)))

    def xy(self, lat: float, lng: float) -> tuple[float, float]:
        return ((lng - self.lng0) * self.kx, (lat - self.lat0) * M_PER_DEG_LAT)


def _projection(plan: WalkPlan) -> _Projection:
    return _Projection.at(*plan.points[0])


def _on_segment(
    xy: Sequence[tuple[float, float]], i: int, px: float, py: float, from_m: float = 0.0
) -> tuple[float, float]:
    """(distance from p to segment i, distance from segment i's start to p's foot), the
    segment taken from `from_m` metres past its start on (the part not walked yet)."""
    (ax, ay), (bx, by) = xy[i], xy[i + 1]
    dx, dy = bx - ax, by - ay
    seg2 = dx * dx + dy * dy
    low = 0.0 if seg2 == 0 else min(max(from_m / math.sqrt(seg2), 0.0), 1.0)
    t = low if seg2 == 0 else max(low, min(1.0, ((px - ax) * dx + (py - ay) * dy) / seg2))
    fx, fy = ax + t * dx, ay + t * dy
    return math.hypot(px - fx, py - fy), t * math.sqrt(seg2)


def snap(
    plan: WalkPlan,
    lat: float,
    lng: float,
    from_segment: int = 0,
    from_along_m: float = 0.0,
    lookahead_m: float = math.inf,
    near_m: float = 50.0,
) -> Match:
    """The nearest point of the route at or ahead of the last match.

    Only segments from `from_segment` on are considered, and a point more than
    `lookahead_m` past `from_along_m` costs the excess on top of its distance, so a route
    that doubles back or crosses itself is followed in order (the earliest of equally near
    points wins). If that match is farther than `near_m` but some point ahead is within it,
    the walker skipped ahead: that point is taken.
    """
    px, py = _projection(plan).xy(lat, lng)
    best = _best(plan, px, py, from_segment, from_along_m, from_along_m + lookahead_m)
    if best.offset_m > near_m and math.isfinite(lookahead_m):
        far = _best(plan, px, py, from_segment, from_along_m, math.inf)
        if far.offset_m <= near_m:
            best = far
    if best.segment == from_segment and best.along_m < from_along_m:
        best = replace(best, along_m=from_along_m)  # never walk backwards along a segment
    return best


def _best(
    plan: WalkPlan, px: float, py: float, first: int, from_along_m: float, free_until_m: float
) -> Match:
    best: Match | None = None
    best_cost = math.inf
    for i in range(first, len(plan.xy) - 1):
        if plan.cum[i] - free_until_m > best_cost:
            break  # every point from here on costs more than the best
        # the first segment only ahead of the last match: on a route that doubles back,
        # the way out behind the walker must not hold the match at the turn
        from_m = from_along_m - plan.cum[i] if i == first else 0.0
        d, along = _on_segment(plan.xy, i, px, py, from_m)
        cost = d + max(0.0, plan.cum[i] + along - free_until_m)
        if cost < best_cost - 1e-9:
            best, best_cost = Match(i, plan.cum[i] + along, d), cost
    assert best is not None  # a plan has at least one segment
    return best


def plan_walk(route: Route) -> WalkPlan:
    """Project the route's geometry and place each stop along it, in order."""
    points = tuple((lat, lng) for lng, lat in route.geometry)
    proj = _Projection.at(*points[0])
    xy = tuple(proj.xy(lat, lng) for lat, lng in points)
    cum = [0.0]
    for (ax, ay), (bx, by) in itertools.pairwise(xy):
        cum.append(cum[-1] + math.hypot(bx - ax, by - ay))
    plan = WalkPlan(points, xy, tuple(cum), ())
    stops: list[PlanStop] = []
    segment, along = 0, 0.0
    last = len(route.stops) - 1
    for index, stop in enumerate(route.stops):
        if index == last:
            m = Match(len(xy) - 2, cum[-1], haversine_m(stop.lat, stop.lng, *points[-1]))
        else:
            m = snap(plan, stop.lat, stop.lng, segment, along)
        segment, along = m.segment, m.along_m
        stops.append(PlanStop(index, stop.name, stop.lat, stop.lng, along, m.offset_m, stop.osm))
    return replace(plan, stops=tuple(stops))


def reject_reason(
    state: WalkState, position: Position, now: float, params: GuideParams
) -> str | None:
    """Why a position is ignored (None: accepted)."""
    if not position.accuracy_m <= params.max_accuracy_m:
        return "inaccurate"
    if state.last_timestamp is not None and position.timestamp <= state.last_timestamp:
        return "out_of_order"
    if now - position.timestamp > params.max_age_s:
        return "stale"
    return None


def bearing_deg(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Initial bearing from the first point to the second, degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lng2 - lng1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(y, x)) % 360.0


def guide(
    plan: WalkPlan, state: WalkState, position: Position, params: GuideParams
) -> tuple[WalkState, Guidance]:
    """Match an accepted position and say what comes next."""
    moved = (
        0.0
        if state.last_lat is None or state.last_lng is None
        else haversine_m(state.last_lat, state.last_lng, position.lat, position.lng)
    )
    m = snap(
        plan,
        position.lat,
        position.lng,
        state.segment,
        state.along_m,
        params.lookahead_m + 2 * moved,
        params.off_route_m,
    )
    off_route = m.offset_m > params.off_route_m
    if off_route:
        # off the route: keep the last match (the walker resumes from there)
        m = Match(state.segment, state.along_m, m.offset_m)
    reached, arrived = state.reached, None
    while reached < len(plan.stops):
        stop = plan.stops[reached]
        # near it, and far enough along (a loop's end is not reached at its start)
        near = (
            haversine_m(position.lat, position.lng, stop.lat, stop.lng) <= params.arrival_m
            and m.along_m >= stop.along_m - params.arrival_m
        )
        passed = (
            not off_route
            and stop.set_back_m > params.arrival_m
            and m.along_m >= stop.along_m
            and reached < len(plan.stops) - 1
        )
        if not (near or passed):
            break
        arrived, reached = reached, reached + 1
    off_since = (state.off_route_since or position.timestamp) if off_route else None
    reroute = (
        off_route
        and not state.rerouted
        and off_since is not None
        and position.timestamp - off_since >= params.reroute_after_s
    )
    new_state = replace(
        state,
        segment=m.segment,
        along_m=m.along_m,
        reached=reached,
        last_timestamp=position.timestamp,
        last_lat=position.lat,
        last_lng=position.lng,
        off_route_since=off_since,
        rerouted=(state.rerouted or reroute) if off_route else False,
        positions=state.positions + 1,
        started_at=position.timestamp if state.started_at is None else state.started_at,
        reroutes=state.reroutes + int(reroute),
    )
    target = plan.stops[min(reached, len(plan.stops) - 1)]
    straight = haversine_m(position.lat, position.lng, target.lat, target.lng)
    if reached >= len(plan.stops):
        distance = 0.0
    elif off_route:
        distance = straight
    else:
        distance = max(target.along_m - m.along_m, 0.0) + target.set_back_m
        distance = max(distance, straight)
    length = plan.length_m
    walked = min(m.along_m, length)
    next_stop = NextStop(
        target.index,
        target.name,
        round(distance, 1),
        round(bearing_deg(position.lat, position.lng, target.lat, target.lng), 1),
        round(distance / params.walking_speed_mps, 1),
    )
    guidance = Guidance(
        next_stop,
        round(walked, 1),
        round(length - walked, 1),
        round(walked / length, 4) if length > 0 else 1.0,
        off_route,
        arrived,
        reroute,
    )
    return new_state, guidance


def minutes_left(budget_minutes: float, started_at: float, now: float) -> float:
    """The walk's time budget minus the time since it started (never below zero)."""
    return max(budget_minutes - (now - started_at) / 60, 0.0)
