"""Typed bus messages. Each has a JSON Schema in `schemas/` and an example beside it.

Models validate on construction, so a malformed payload fails at the edge with
`InvalidInput` (which the JetStream mapping turns into `term` + dead letter).
`to_wire()` gives the plain dict that the msgpack codec writes; `from_wire()` reads it.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from wildside_common.errors import InvalidInput

THEME_SLUG_MAX = 40
# The same rule as the interest_themes.id CHECK and the schemas' ThemeId.
THEME_ID = re.compile(r"[a-z][a-z0-9_-]{0,39}")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


def utc_now() -> datetime:
    return datetime.now(UTC)


CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _uuid(value: Any, name: str) -> str:
    if isinstance(value, str) and CANONICAL_UUID.fullmatch(value):
        return value  # already what str(UUID(...)) would give: skip the parse
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput.field(name, "must be a UUID") from None


def _timestamp(value: Any, name: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            raise InvalidInput.field(name, "must be an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise InvalidInput.field(name, "must carry a time zone")
    return parsed


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _mapping(value: Any, name: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput.field(name, "must be an object")
    return value


def _themes(value: Any, name: str) -> tuple[str, ...]:
    if not isinstance(value, list | tuple):
        raise InvalidInput.field(name, "must be a list of theme ids")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not THEME_ID.fullmatch(item):
            raise InvalidInput.field(f"{name}[{index}]", "must be a theme id")
    return tuple(value)


def _optional_text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidInput.field(name, "must be a string")
    return value


def _normalise_uuid(instance: object, name: str) -> None:
    # Frozen dataclass: normalise in place so equal ids compare (and re-encode) equal.
    object.__setattr__(instance, name, _uuid(getattr(instance, name), name))


@dataclass(frozen=True, slots=True)
class GeoPoint:
    """A WGS84 point: latitude in [-90, 90], longitude in (-180, 180]."""

    lat: float
    lng: float

    def __post_init__(self) -> None:
        for name, value in (("lat", self.lat), ("lng", self.lng)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput.field(name, "must be a number")
            if not math.isfinite(value):
                raise InvalidInput.field(name, "must be finite")
        if not -90.0 <= self.lat <= 90.0:
            raise InvalidInput.field("lat", "must be between -90 and 90")
        if not -180.0 < self.lng <= 180.0:
            raise InvalidInput.field("lng", "must be greater than -180 and at most 180")

    @classmethod
    def from_wire(cls, data: Any, name: str) -> GeoPoint:
        body = _mapping(data, name)
        try:
            return cls(lat=body.get("lat"), lng=body.get("lng"))  # type: ignore[arg-type]
        except InvalidInput as exc:
            field_name = f"{name}.{exc.details.get('field')}"
            raise InvalidInput.field(field_name, exc.message.split(": ", 1)[-1]) from None

    def to_wire(self) -> dict[str, float]:
        return {"lat": float(self.lat), "lng": float(self.lng)}


@dataclass(frozen=True, slots=True)
class BoundingBox:
    """min/max latitude and longitude, south-west to north-east."""

    min_lat: float
    min_lng: float
    max_lat: float
    max_lng: float

    def __post_init__(self) -> None:
        GeoPoint(self.min_lat, self.min_lng)
        GeoPoint(self.max_lat, self.max_lng)
        if self.min_lat > self.max_lat or self.min_lng > self.max_lng:
            raise InvalidInput.field("bbox", "minimum must not exceed maximum")

    @classmethod
    def from_wire(cls, data: Any) -> BoundingBox:
        body = _mapping(data, "bbox")
        values: list[float] = []
        for key in ("min_lat", "min_lng", "max_lat", "max_lng"):
            value = body.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInput.field("bbox", "needs numeric min_lat, min_lng, max_lat, max_lng")
            values.append(value)
        return cls(*values)

    def to_wire(self) -> dict[str, float]:
        return {
            "min_lat": self.min_lat,
            "min_lng": self.min_lng,
            "max_lat": self.max_lat,
            "max_lng": self.max_lng,
        }


class RouteStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES


FINAL_STATUSES = frozenset({RouteStatus.SUCCEEDED, RouteStatus.FAILED, RouteStatus.CANCELLED})

# The seed's transitions: queued -> running -> succeeded; running -> failed. A status may
# repeat (progress events while running). A request may also fail straight from queued
# when it can never run (a job rejected before it starts). The user may cancel a request
# that is queued or running (DELETE /api/v1/routes/{id}): cancelled is final.
_ALLOWED = {
    RouteStatus.QUEUED: {
        RouteStatus.QUEUED,
        RouteStatus.RUNNING,
        RouteStatus.FAILED,
        RouteStatus.SUCCEEDED,
        RouteStatus.CANCELLED,
    },
    RouteStatus.RUNNING: {
        RouteStatus.RUNNING,
        RouteStatus.SUCCEEDED,
        RouteStatus.FAILED,
        RouteStatus.CANCELLED,
    },
    RouteStatus.SUCCEEDED: set(),
    RouteStatus.FAILED: set(),
    RouteStatus.CANCELLED: set(),
}


def can_transition(current: RouteStatus | None, new: RouteStatus) -> bool:
    """True when `new` may follow `current` (None: nothing recorded yet)."""
    if current is None:
        return new is RouteStatus.QUEUED
    return new in _ALLOWED[current]


class Message:
    """Base of bus messages: a schema name and version, wire conversion."""

    schema_name: ClassVar[str]
    schema_version: ClassVar[int] = 1

    def to_wire(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Any:
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class GenerateRouteJob(Message):
    """Compute a walk for one accepted route request."""

    schema_name: ClassVar[str] = "GenerateRouteJob"
    request_id: str
    user_id: str
    start: GeoPoint
    duration_minutes: int
    themes: tuple[str, ...]
    submitted_at: datetime
    end: GeoPoint | None = None
    seed: int | None = None
    idempotency_key: str | None = None
    cache_key: str | None = None

    def __post_init__(self) -> None:
        _normalise_uuid(self, "request_id")
        _normalise_uuid(self, "user_id")
        _themes(self.themes, "themes")
        _timestamp(self.submitted_at, "submitted_at")
        _optional_text(self.idempotency_key, "idempotency_key")
        _optional_text(self.cache_key, "cache_key")
        if isinstance(self.duration_minutes, bool) or not isinstance(self.duration_minutes, int):
            raise InvalidInput.field("duration_minutes", "must be an integer")
        if not 1 <= self.duration_minutes <= 1440:
            raise InvalidInput.field("duration_minutes", "must be between 1 and 1440")
        if self.seed is not None:
            if isinstance(self.seed, bool) or not isinstance(self.seed, int):
                raise InvalidInput.field("seed", "must be an integer")
            if not INT64_MIN <= self.seed <= INT64_MAX:
                raise InvalidInput.field("seed", "must fit in 64 bits")

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "request_id": self.request_id,
            "user_id": self.user_id,
            "start": self.start.to_wire(),
            "duration_minutes": self.duration_minutes,
            "themes": list(self.themes),
            "submitted_at": _iso(self.submitted_at),
        }
        if self.end is not None:
            wire["end"] = self.end.to_wire()
        for name in ("seed", "idempotency_key", "cache_key"):
            value = getattr(self, name)
            if value is not None:
                wire[name] = value
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> GenerateRouteJob:
        body = _mapping(data, "message")
        end = body.get("end")
        return cls(
            request_id=_uuid(body.get("request_id"), "request_id"),
            user_id=_uuid(body.get("user_id"), "user_id"),
            start=GeoPoint.from_wire(body.get("start"), "start"),
            duration_minutes=body.get("duration_minutes"),  # type: ignore[arg-type]
            themes=_themes(body.get("themes", []), "themes"),
            submitted_at=_timestamp(body.get("submitted_at"), "submitted_at"),
            end=GeoPoint.from_wire(end, "end") if end is not None else None,
            seed=body.get("seed"),
            idempotency_key=body.get("idempotency_key"),
            cache_key=body.get("cache_key"),
        )


@dataclass(frozen=True, slots=True)
class RouteGenerationStatus(Message):
    """The seed's `route_generation_status` event."""

    schema_name: ClassVar[str] = "RouteGenerationStatus"
    request_id: str
    status: RouteStatus
    progress: int
    timestamp: datetime = field(default_factory=utc_now)
    error: str | None = None

    def __post_init__(self) -> None:
        _normalise_uuid(self, "request_id")
        try:
            object.__setattr__(self, "status", RouteStatus(self.status))
        except ValueError:
            problem = "must be queued, running, succeeded, failed or cancelled"
            raise InvalidInput.field("status", problem) from None
        _timestamp(self.timestamp, "timestamp")
        _optional_text(self.error, "error")
        if isinstance(self.progress, bool) or not isinstance(self.progress, int):
            raise InvalidInput.field("progress", "must be an integer")
        if not 0 <= self.progress <= 100:
            raise InvalidInput.field("progress", "must be between 0 and 100")
        if self.status is RouteStatus.FAILED and not self.error:
            raise InvalidInput.field("error", "is required when status is failed")

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "type": "route_generation_status",
            "request_id": self.request_id,
            "status": self.status.value,
            "progress": self.progress,
            "timestamp": _iso(self.timestamp),
        }
        if self.error is not None:
            wire["error"] = self.error
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> RouteGenerationStatus:
        body = _mapping(data, "message")
        if body.get("type") != "route_generation_status":
            raise InvalidInput.field("type", "must be route_generation_status")
        try:
            status = RouteStatus(str(body.get("status")))
        except ValueError:
            problem = "must be queued, running, succeeded, failed or cancelled"
            raise InvalidInput.field("status", problem) from None
        return cls(
            request_id=_uuid(body.get("request_id"), "request_id"),
            status=status,
            progress=body.get("progress"),  # type: ignore[arg-type]
            timestamp=_timestamp(body.get("timestamp", _iso(utc_now())), "timestamp"),
            error=body.get("error"),
        )


@dataclass(frozen=True, slots=True)
class EnrichmentJob(Message):
    """Fetch more POIs for an area that had too few."""

    schema_name: ClassVar[str] = "EnrichmentJob"
    job_id: str
    bbox: BoundingBox
    themes: tuple[str, ...]
    requested_at: datetime
    request_id: str | None = None
    reason: str | None = None

    def __post_init__(self) -> None:
        _normalise_uuid(self, "job_id")
        if self.request_id is not None:
            _normalise_uuid(self, "request_id")
        _themes(self.themes, "themes")
        _timestamp(self.requested_at, "requested_at")
        _optional_text(self.reason, "reason")

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {
            "job_id": self.job_id,
            "bbox": self.bbox.to_wire(),
            "themes": list(self.themes),
            "requested_at": _iso(self.requested_at),
        }
        if self.request_id is not None:
            wire["request_id"] = self.request_id
        if self.reason is not None:
            wire["reason"] = self.reason
        return wire

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> EnrichmentJob:
        body = _mapping(data, "message")
        return cls(
            job_id=_uuid(body.get("job_id"), "job_id"),
            bbox=BoundingBox.from_wire(body.get("bbox")),
            themes=_themes(body.get("themes", []), "themes"),
            requested_at=_timestamp(body.get("requested_at"), "requested_at"),
            request_id=body.get("request_id"),
            reason=body.get("reason"),
        )


MESSAGE_TYPES: dict[str, type[Message]] = {
    cls.schema_name: cls for cls in (GenerateRouteJob, RouteGenerationStatus, EnrichmentJob)
}
