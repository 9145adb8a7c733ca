"""What a walk looks like in a listing: where it starts, how long, which themes, how far
and how many places, shared by "my route requests" and saved routes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wildside_common.messages import GeoPoint
from wildside_common.route import Route


@dataclass(frozen=True, slots=True)
class WalkSummary:
    """A request's walk at a glance; `distance_m` and `stops` (the places visited, start
    and end excluded) are known once it has a route, None before."""

    start: GeoPoint
    duration_minutes: int
    themes: tuple[str, ...]
    distance_m: float | None = None
    stops: int | None = None

    @classmethod
    def of(
        cls, payload: Mapping[str, Any], distance_m: float | None, stops: int | None
    ) -> WalkSummary:
        """From a stored request payload (`RouteRequest.to_payload`'s shape)."""
        return cls(
            GeoPoint.from_wire(payload["start"], "start"),
            int(payload["duration_minutes"]),
            tuple(str(theme) for theme in payload.get("preferences", ())),
            distance_m,
            stops,
        )

    @classmethod
    def with_route(cls, payload: Mapping[str, Any], route: Route) -> WalkSummary:
        return cls.of(payload, route.distance_m, len(route.places))

    def view(self) -> dict[str, Any]:
        return {
            "start": self.start.to_wire(),
            "duration_minutes": self.duration_minutes,
            "themes": list(self.themes),
            "distance_m": self.distance_m,
            "stops": self.stops,
        }
