"""Saved routes: a copy of a succeeded route request's route, kept with no expiry under a
name the user chose (pure rules: validation, the payload fingerprint, the views)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from wildside_common.errors import InvalidInput
from wildside_common.inputs import canonical_uuid
from wildside_common.messages import RouteStatus
from wildside_common.route import Route, route_to_json
from wildside_gateway.shared.domain.walks import WalkSummary

NAME_MAX = 100
DEFAULT_CAP = 500


def parse_name(value: Any) -> str:
    """The name trimmed of surrounding white space: 1 to 100 characters."""
    if not isinstance(value, str):
        raise InvalidInput.field("name", "must be a string")
    name = value.strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise InvalidInput.field(
            "name", f"must be 1 to {NAME_MAX} characters once trimmed", maximum=NAME_MAX
        )
    if any(ord(char) < 32 or ord(char) == 127 for char in name):
        raise InvalidInput.field("name", "must not contain control characters")
    return name


def parse_saved_id(value: str) -> str:
    """A saved route id in a path: a canonical UUID (lower case), else 400."""
    saved_id = canonical_uuid(value)
    if saved_id is None:
        raise InvalidInput.field("id", "must be a UUID (8-4-4-4-12 hexadecimal digits)")
    return saved_id


def _object(body: Any, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise InvalidInput("the body must be a JSON object")
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidInput.field(unknown[0], "is not a known field")
    return body


@dataclass(frozen=True, slots=True)
class SaveRequest:
    request_id: str
    name: str

    def fingerprint(self) -> str:
        """What an `Idempotency-Key` is bound to (the kind keeps it apart from a route
        request's fingerprint: one key never serves both)."""
        raw = orjson.dumps(
            {"kind": "saved_route", "request_id": self.request_id, "name": self.name},
            option=orjson.OPT_SORT_KEYS,
        )
        return hashlib.sha256(raw).hexdigest()


def parse_save(body: Any) -> SaveRequest:
    """`{"request_id": uuid, "name": text}`; every problem is `InvalidInput` naming the field."""
    fields = _object(body, frozenset({"request_id", "name"}))
    if "request_id" not in fields:
        raise InvalidInput.field("request_id", "is required")
    raw = fields["request_id"]
    request_id = canonical_uuid(raw) if isinstance(raw, str) else None
    if request_id is None:
        raise InvalidInput.field("request_id", "must be a UUID (8-4-4-4-12 hexadecimal digits)")
    if "name" not in fields:
        raise InvalidInput.field("name", "is required")
    return SaveRequest(request_id, parse_name(fields["name"]))


def parse_rename(body: Any) -> str:
    """`{"name": text}`: the new name."""
    fields = _object(body, frozenset({"name"}))
    if "name" not in fields:
        raise InvalidInput.field("name", "is required")
    return parse_name(fields["name"])


@dataclass(frozen=True, slots=True)
class SourceRequest:
    """The route request a save copies from, as the store knows it."""

    request_id: str
    user_id: str
    status: RouteStatus
    payload: Mapping[str, Any]
    route: Route | None


@dataclass(frozen=True, slots=True)
class NewSavedRoute:
    saved_id: str
    user_id: str
    request_id: str
    name: str
    payload: Mapping[str, Any]
    route: Route


@dataclass(frozen=True, slots=True)
class SavedRouteSummary:
    """A saved route in a listing (no geometry)."""

    saved_id: str
    name: str
    request_id: str
    created_at: datetime
    updated_at: datetime
    walk: WalkSummary

    def view(self) -> dict[str, Any]:
        return {
            "id": self.saved_id,
            "name": self.name,
            "request_id": self.request_id,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "summary": self.walk.view(),
        }


@dataclass(frozen=True, slots=True)
class SavedRoute:
    """A saved route with the route itself (the shared `Route` type)."""

    summary: SavedRouteSummary
    route: Route

    def view(self) -> dict[str, Any]:
        return {**self.summary.view(), "route": route_to_json(self.route)}
