"""Route requests as the gateway accepts them: validated on construction.

The body is the architecture seed's: `start {lat, lng}`, `duration_minutes`,
`preferences` (theme ids), plus an optional `end` (one-way walk) and integer `seed`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wildside_common.errors import InvalidInput
from wildside_common.messages import GeoPoint, RouteStatus
from wildside_common.route import Route, route_to_json
from wildside_gateway.shared.domain.walks import WalkSummary

ALLOWED_FIELDS = frozenset({"start", "end", "duration_minutes", "preferences", "seed"})
MAX_PREFERENCES = 20
SEED_RANGE = (0, 2**31 - 1)


@dataclass(frozen=True, slots=True)
class DurationBounds:
    minimum: int
    maximum: int


@dataclass(frozen=True, slots=True)
class RouteRequest:
    start: GeoPoint
    duration_minutes: int
    preferences: tuple[str, ...]
    end: GeoPoint | None = None
    seed: int | None = None

    def to_payload(self) -> dict[str, Any]:
        """The canonical payload stored with the request (and fingerprinted)."""
        payload: dict[str, Any] = {
            "start": self.start.to_wire(),
            "duration_minutes": self.duration_minutes,
            "preferences": list(self.preferences),
        }
        if self.end is not None:
            payload["end"] = self.end.to_wire()
        if self.seed is not None:
            payload["seed"] = self.seed
        return payload


def _integer(body: Mapping[str, Any], name: str) -> int:
    value = body.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput.field(name, "must be an integer")
    return value


def _point(value: Any, name: str) -> GeoPoint:
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"lat", "lng"})
        if unknown:
            raise InvalidInput.field(f"{name}.{unknown[0]}", "is not a known field")
    return GeoPoint.from_wire(value, name)


def _preferences(value: Any, known_themes: frozenset[str]) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise InvalidInput.field("preferences", "must be a list of theme ids")
    if len(value) > MAX_PREFERENCES:
        raise InvalidInput.field("preferences", f"must hold at most {MAX_PREFERENCES} ids")
    seen: list[str] = []
    for index, theme in enumerate(value):
        if not isinstance(theme, str) or theme not in known_themes:
            raise InvalidInput.field(
                f"preferences[{index}]", "is not a known theme id", known=sorted(known_themes)
            )
        if theme not in seen:
            seen.append(theme)
    return tuple(seen)


def parse_route_request(
    body: Any, known_themes: frozenset[str], bounds: DurationBounds
) -> RouteRequest:
    """Validate a decoded JSON body; every problem is `InvalidInput` naming the field."""
    if not isinstance(body, Mapping):
        raise InvalidInput("the body must be a JSON object")
    unknown = sorted(set(body) - ALLOWED_FIELDS)
    if unknown:
        raise InvalidInput.field(unknown[0], "is not a known field")
    if "start" not in body:
        raise InvalidInput.field("start", "is required")
    start = _point(body["start"], "start")
    end = _point(body["end"], "end") if body.get("end") is not None else None
    if "duration_minutes" not in body:
        raise InvalidInput.field("duration_minutes", "is required")
    duration = _integer(body, "duration_minutes")
    if not bounds.minimum <= duration <= bounds.maximum:
        raise InvalidInput.field(
            "duration_minutes", f"must be between {bounds.minimum} and {bounds.maximum}"
        )
    seed = None
    if body.get("seed") is not None:
        seed = _integer(body, "seed")
        if not SEED_RANGE[0] <= seed <= SEED_RANGE[1]:
            raise InvalidInput.field("seed", f"must be between 0 and {SEED_RANGE[1]}")
    preferences = _preferences(body.get("preferences", []), known_themes)
    return RouteRequest(start, duration, preferences, end, seed)


@dataclass(frozen=True, slots=True)
class RouteState:
    """What the store knows of one request."""

    request_id: str
    user_id: str
    status: RouteStatus
    progress: int
    error: str | None
    result: Route | None
    rerouted_from: str | None = None  # the walk this request reroutes (docs/live-walk.md)

    def view(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "request_id": self.request_id,
            "status": self.status.value,
            "progress": self.progress,
        }
        if self.error is not None:
            body["error"] = self.error
        if self.result is not None:
            body["route"] = route_to_json(self.result)
        if self.rerouted_from is not None:
            body["rerouted_from"] = self.rerouted_from
        return body


@dataclass(frozen=True, slots=True)
class Cancellation:
    """What a cancel found: `previous` is the open status it moved from (queued or
    running), or None when it moved nothing: `found` tells an ended request (its `status`)
    from an unknown one (or another user's: as unknown as a missing one)."""

    found: bool
    status: RouteStatus | None = None
    previous: RouteStatus | None = None

    @property
    def cancelled(self) -> bool:
        return self.previous is not None


@dataclass(frozen=True, slots=True)
class RequestSummary:
    """One of the caller's own route requests in `GET /api/v1/routes`."""

    request_id: str
    status: RouteStatus
    progress: int
    created_at: datetime
    walk: WalkSummary

    def view(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "status": self.status.value,
            "progress": self.progress,
            "created_at": self.created_at.isoformat(),
            "summary": self.walk.view(),
        }


STATUS_RANK = {
    RouteStatus.QUEUED: 0,
    RouteStatus.RUNNING: 1,
    RouteStatus.SUCCEEDED: 2,
    RouteStatus.FAILED: 2,
    RouteStatus.CANCELLED: 2,
}


def is_newer(status: RouteStatus, progress: int, last: tuple[RouteStatus, int] | None) -> bool:
    """Whether an event moves a subscriber's view forward (events may arrive twice)."""
    if last is None:
        return True
    last_status, last_progress = last
    if last_status.final:
        return False
    if STATUS_RANK[status] != STATUS_RANK[last_status]:
        return STATUS_RANK[status] > STATUS_RANK[last_status]
    return progress > last_progress
