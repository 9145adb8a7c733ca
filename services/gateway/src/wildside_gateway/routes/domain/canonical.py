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
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any

from wildside_gateway.routes.domain.routes import RouteRequest

COORDINATE_PLACES = Decimal("0.00001")


def round_coordinate(value: float) -> float:
    """Round to 5 decimals, half away from zero (Decimal's ROUND_HALF_UP is that).

    A float whose shortest repr has at most 5 decimals (no exponent) is its own rounding:
    returned as it is, without the Decimal round trip (which would give the same float)."""
    text = repr(value)
    dot = text.find(".")
    if dot > 0 and len(text) - dot <= 6 and "e" not in text and isinstance(value, float):
        return value
    return float(Decimal(text).quantize(COORDINATE_PLACES, rounding=ROUND_HALF_UP))


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


# The C encoder `_ENCODER.encode` builds on every call (json.encoder.JSONEncoder.iterencode),
# built once with the same options: the same bytes. No circular-reference markers (a
# canonical payload is a tree of fresh dicts and lists); without the C module, `encode`.
_C_ENCODE = (
    None
    if c_make_encoder is None
    else c_make_encoder(
        None,
        _ENCODER.default,
        encode_basestring,  # ensure_ascii=False's string encoder
        None,
        _ENCODER.key_separator,
        _ENCODER.item_separator,
        _ENCODER.sort_keys,
        _ENCODER.skipkeys,
        _ENCODER.allow_nan,
    )
)


def canonical_bytes(payload: dict[str, Any]) -> bytes:
    if _C_ENCODE is None:
        return _ENCODER.encode(payload).encode("utf-8")
    return "".join(_C_ENCODE(payload, 0)).encode("utf-8")


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
