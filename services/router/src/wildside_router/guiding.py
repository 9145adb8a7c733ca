"""The guide worker's use case: one position in, one guidance frame out (docs/live-walk.md).

Any replica takes any position: the walk's route and state live in the `WalkStore`. The
first position of a walk loads the route of the succeeded request. Positions are never
logged; only counts leave this module (as metrics, by the inbound adapter).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from wildside_router.domain.guide import (
    Guidance,
    GuideParams,
    Position,
    WalkState,
    guide,
    plan_walk,
    reject_reason,
)
from wildside_router.ports import GuidancePublisher, RouteResults, WalkStore


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
    routes: RouteResults
    walks: WalkStore
    publisher: GuidancePublisher
    params: GuideParams = field(default_factory=GuideParams)

    async def on_position(self, request_id: str, position: Position, now: float) -> str:
        """Handle one position; the outcome ("guided", "unknown_walk" or why it was
        ignored) is for counting."""
        found = await self.walks.get(request_id)
        if found is None:
            route = await self.routes.result_of(request_id)
            if route is None:
                return "unknown_walk"
            found = (route, WalkState())
        route, state = found
        reason = reject_reason(state, position, now, self.params)
        if reason is not None:
            return reason
        state, g = guide(plan_walk(route), state, position, self.params)
        await self.walks.put(request_id, route, state)
        await self.publisher.publish(request_id, guidance_frame(request_id, g))
        return "guided"
