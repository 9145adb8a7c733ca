"""Canonical form of a route request: the one byte string its cache key and its
idempotency fingerprint are hashed from.

Rules (pinned by contract tests): stable JSON (UTF-8, keys sorted, no whitespace);
coordinates rounded to 5 decimals, half away from zero (~1.1 m); themes sorted and
de-duplicated; user-specific fields (ids, idempotency key) never included. The cache
key is `route:<namespace>:` + lowercase hex SHA-256 of the canonical bytes, where the
canonical payload also names the engine version, so a new engine never reads old
entries; bumping the namespace (`v1` -> `v2`) retires a whole schema generation.
"""

from __future__ import annotations

import hashlib
import json
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from wildside_gateway.routes.domain.routes import RouteRequest

COORDINATE_PLACES = Decimal("0.00001")


def round_coordinate(value: float) -> float:
    """Round to 5 decimals, half away from zero (Decimal's ROUND_HALF_UP is that)."""
    return float(Decimal(repr(value)).quantize(COORDINATE_PLACES, rounding=ROUND_HALF_UP))


def _point(lat: float, lng: float) -> dict[str, float]:
    return {"lat": round_coordinate(lat), "lng": round_coordinate(lng)}


def canonical_payload(request: RouteRequest) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "start": _point(request.start.lat, request.start.lng),
        "duration_minutes": request.duration_minutes,
        "themes": sorted(set(request.preferences)),
    }
    if request.end is not None:
        payload["end"] = _point(request.end.lat, request.end.lng)
    if request.seed is not None:
        payload["seed"] = request.seed
    return payload


# One encoder for every request (json.dumps with these options builds a new one per call).
_ENCODER = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    return _ENCODER.encode(payload).encode("utf-8")


def fingerprint(request: RouteRequest) -> str:
    """SHA-256 of the canonical request: what an idempotency key is bound to."""
    return identities(request, "", "")[0]


def cache_key(request: RouteRequest, namespace: str, engine_version: str) -> str:
    return identities(request, namespace, engine_version)[1]


def identities(request: RouteRequest, namespace: str, engine_version: str) -> tuple[str, str]:
    """The fingerprint and the cache key together, canonicalising the request once."""
    payload = canonical_payload(request)
    digest = hashlib.sha256(canonical_bytes(payload)).hexdigest()
    payload["engine"] = engine_version
    return digest, f"route:{namespace}:{hashlib.sha256(canonical_bytes(payload)).hexdigest()}"
