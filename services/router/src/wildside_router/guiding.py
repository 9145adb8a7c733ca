"""The guide worker's use case: one position in, its frames out (docs/live-walk.md).

Each accepted position gets a `guidance` frame; a `tip` follows when one is due and a
place fits; a `reroute.wanted` when the walker has been off the route for a while (the
gateway replica holding their socket submits the new route request on their behalf, through
the same use case as POST /api/v1/routes). Any replica takes any position: the walk's route,
request and state live in the `WalkStore`. The first position of a walk loads the route of
the succeeded request (or saved route) and stores it with the walk; later positions read only
the request and state, and the route only when this replica has no plan of it cached.
Positions are never logged; only counts leave this module (as metrics, by the inbound adapter).
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass, field
from typing import Any

from wildside_common.errors import DomainError
from wildside_common.route import Route
from wildside_router.domain.guide import (
    Guidance,
    GuideParams,
    Position,
    WalkPlan,
    WalkRequest,
    WalkState,
    guide,
    minutes_left,
    plan_walk,
    reject_reason,
)
from wildside_router.domain.tips import Tip, looked, pick_tip, should_look, tip_radius_m
from wildside_router.plan_cache import PlanCache
from wildside_router.ports import GuidancePublisher, TipPlaces, WalkRoutes, WalkStore

log = logging.getLogger(__name__)
TIP_CANDIDATES = 20  # the nearest places looked at for a tip


def guidance_frame(request_id: str, g: Guidance) -> dict[str, Any]:
    """The `guidance` message of `/ws` (schemas/asyncapi.yaml)."""
    n = g.next_stop
    return {
        "type": "guidance",
        "request_id": request_id,
        "next_stop": {
            "index": n.index,
            "name": n.name,
            "distance_m": n.distance_m,
            "bearing_deg": n.bearing_deg,
            "eta_s": n.eta_s,
        },
        "progress": {"walked_m": g.walked_m, "remaining_m": g.remaining_m, "fraction": g.fraction},
        "off_route": g.off_route,
        "arrived": g.arrived,
    }


def tip_frame(request_id: str, tip: Tip) -> dict[str, Any]:
    """The `tip` message of `/ws` (schemas/asyncapi.yaml)."""
    p = tip.poi
    return {
        "type": "tip",
        "request_id": request_id,
        "poi": {"id": p.id, "name": p.name, "themes": list(p.themes), "lat": p.lat, "lng": p.lng},
        "distance_m": tip.distance_m,
        "detour_minutes": tip.detour_minutes,
    }


def reroute_wanted_frame(
    request_id: str, request: WalkRequest, state: WalkState, position: Position
) -> dict[str, Any]:
    """The guide's `reroute.wanted` (bus only): the route request to submit for the walker,
    from where they stand, with the time they have left (whole minutes, at least one)."""
    started = position.timestamp if state.started_at is None else state.started_at
    left = minutes_left(request.duration_minutes, started, position.timestamp)
    route_request: dict[str, Any] = {
        "start": {"lat": position.lat, "lng": position.lng},
        "duration_minutes": max(1, math.ceil(left)),
        "preferences": list(request.themes),
    }
    if request.end is not None:
        route_request["end"] = {"lat": request.end[0], "lng": request.end[1]}
    return {
        "type": "reroute.wanted",
        "request_id": request_id,
        "reroute": state.reroutes,  # 1 for the walk's first: with the id, names this reroute
        "route_request": route_request,
    }


def parse_position(data: Any) -> tuple[str, Position] | None:
    """(request_id, position) from a bus message, or None when malformed."""
    if not isinstance(data, dict):
        return None
    try:
        request_id = str(uuid.UUID(str(data["request_id"])))
        values = [float(data[k]) for k in ("lat", "lng", "accuracy_m", "timestamp")]
    except (KeyError, TypeError, ValueError):
        return None
    lat, lng, accuracy, timestamp = values
    if not (-90 <= lat <= 90 and -180 <= lng <= 180 and accuracy >= 0):
        return None
    return request_id, Position(lat, lng, accuracy, timestamp)


@dataclass
class GuideWalk:
    routes: WalkRoutes
    walks: WalkStore
    publisher: GuidancePublisher
    places: TipPlaces
    params: GuideParams = field(default_factory=GuideParams)
    plans: PlanCache = field(default_factory=PlanCache)

    async def on_position(self, request_id: str, position: Position, now: float) -> str:
        """Handle one position; the outcome ("guided", "unknown_walk" or why it was
        ignored) is for counting."""
        found = await self.walks.get(request_id)
        route: Route | None = None
        if found is None:
            loaded = await self.routes.walk_of(request_id)
            if loaded is None:
                return "unknown_walk"
            route, request = loaded
            rev, state = None, WalkState()
        else:
            rev, request, state = found
        reason = reject_reason(state, position, now, self.params)
        if reason is not None:
            return reason
        plan = None if rev is None else self.plans.get(request_id, rev)
        if plan is None:
            if route is None:
                route = await self.walks.route(request_id)
                if route is None:  # expired since it was read
                    return "unknown_walk"
            plan = plan_walk(route)
        state, g = guide(plan, state, position, self.params)
        frames = [guidance_frame(request_id, g)]
        state, tip = await self._tip(plan, request, state, position)
        if tip is not None and await self.walks.claim_tip(request_id, tip.poi.id):
            frames.append(tip_frame(request_id, tip))
        if g.reroute:
            frames.append(reroute_wanted_frame(request_id, request, state, position))
        if rev is None:
            assert route is not None  # a walk not stored yet was loaded with its route
            rev = await self.walks.start(request_id, route, request, state)
        else:
            await self.walks.put_state(request_id, state)
        self.plans.put(request_id, rev, plan)
        for frame in frames:
            await self.publisher.publish(request_id, frame)
        return "guided"

    async def _tip(
        self, plan: WalkPlan, request: WalkRequest, state: WalkState, position: Position
    ) -> tuple[WalkState, Tip | None]:
        """A tip if one is due, looking places up only when `should_look` says so."""
        if not should_look(state, position, self.params):
            return state, None
        state = looked(state, position)
        try:
            places = await self.places.near(
                position.lat,
                position.lng,
                tip_radius_m(self.params),
                request.themes,
                TIP_CANDIDATES,
            )
        except DomainError:  # no tip this time; guidance goes on
            log.warning("places for tips unavailable")
            return state, None
        return pick_tip(plan, state, position, places, request.themes, self.params)
