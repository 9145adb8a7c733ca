"""The route cache's canonicalisation, pinned: order-insensitive themes, rounding at the
fifth decimal (half away from zero), stable JSON, and the key format."""

from __future__ import annotations

import hashlib
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wildside_common.messages import GeoPoint
from wildside_gateway.routes.domain.canonical import (
    cache_key,
    canonical_bytes,
    canonical_payload,
    fingerprint,
    round_coordinate,
)
from wildside_gateway.routes.domain.routes import RouteRequest

pytestmark = pytest.mark.unit


def request(
    lat: float = 60.1699,
    lng: float = 24.9384,
    themes: tuple[str, ...] = ("history",),
    seed: int | None = None,
) -> RouteRequest:
    return RouteRequest(GeoPoint(lat, lng), 60, themes, None, seed)


def test_key_format_is_namespace_and_lowercase_hex_sha256() -> None:
    key = cache_key(request(), "v1", "engine-1")
    assert re.fullmatch(r"route:v1:[0-9a-f]{64}", key)


def test_key_is_the_sha256_of_the_documented_canonical_json() -> None:
    expected = (
        b'{"duration_minutes":60,"engine":"engine-1","start":{"lat":60.1699,'
        b'"lng":24.9384},"themes":["art","history"]}'
    )
    key = cache_key(request(themes=("history", "art")), "v1", "engine-1")
    assert key == "route:v1:" + hashlib.sha256(expected).hexdigest()


def test_themes_are_order_insensitive_and_deduplicated() -> None:
    a = cache_key(request(themes=("nature", "history", "art")), "v1", "e")
    b = cache_key(request(themes=("art", "nature", "history", "art")), "v1", "e")
    assert a == b


@pytest.mark.parametrize(
    "raw,rounded",
    [
        (60.123455, 60.12346),
        (60.123454999, 60.12345),
        (-60.123455, -60.12346),
        (24.000005, 24.00001),
        (-24.000005, -24.00001),
        (0.000004, 0.0),
        (179.999995, 180.0),
    ],
)
def test_coordinates_round_half_away_from_zero_at_the_fifth_decimal(raw, rounded) -> None:
    assert round_coordinate(raw) == rounded


def test_points_within_the_rounding_share_a_key_and_others_do_not() -> None:
    same = cache_key(request(lat=60.1699901), "v1", "e") == cache_key(
        request(lat=60.1699949), "v1", "e"
    )
    other = cache_key(request(lat=60.16999), "v1", "e") != cache_key(
        request(lat=60.16998), "v1", "e"
    )
    assert same and other


def test_namespace_and_engine_version_rotate_the_key() -> None:
    base = cache_key(request(), "v1", "e1")
    assert cache_key(request(), "v2", "e1") != base
    assert cache_key(request(), "v1", "e2") != base


def test_seed_is_part_of_the_key_and_the_fingerprint() -> None:
    assert cache_key(request(seed=1), "v1", "e") != cache_key(request(seed=2), "v1", "e")
    assert fingerprint(request(seed=1)) != fingerprint(request(seed=2))


themes = st.lists(st.sampled_from(["history", "art", "nature", "food"]), max_size=4)
lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lngs = st.floats(min_value=-179.99, max_value=180, allow_nan=False)


@given(lats, lngs, themes)
def test_canonical_bytes_are_stable_sorted_compact_utf8(lat, lng, chosen) -> None:
    payload = canonical_payload(request(lat, lng, tuple(chosen)))
    raw = canonical_bytes(payload)
    assert b" " not in raw and raw.decode("utf-8")
    assert payload["themes"] == sorted(set(chosen))
    shuffled = canonical_payload(request(lat, lng, tuple(reversed(chosen))))
    assert canonical_bytes(shuffled) == raw


@given(lats, lngs)
def test_rounding_is_idempotent_and_within_half_a_unit(lat, lng) -> None:
    for value in (lat, lng):
        once = round_coordinate(value)
        assert round_coordinate(once) == once
        assert abs(once - value) <= 0.000005 + 1e-12


def test_rounding_is_decimals_half_away_from_zero_for_every_float() -> None:
    """The shortcut for floats already at 5 decimals gives what the Decimal rounding gives."""
    import random
    from decimal import ROUND_HALF_UP, Decimal

    def by_decimal(value: float) -> float:
        return float(Decimal(repr(value)).quantize(Decimal("0.00001"), rounding=ROUND_HALF_UP))

    rng = random.Random(19)
    values = [rng.uniform(-180, 180) for _ in range(5000)]
    values += [round(v, places) for v in values[:2000] for places in (0, 1, 4, 5, 6)]
    values += [0.0, -0.0, 1e-05, -1e-05, 1.5e-05, 0.000015, 60.155555, 24.000005, 1e16, 180.0]
    for value in values:
        got, want = round_coordinate(value), by_decimal(value)
        assert repr(got) == repr(want), value


def test_canonical_bytes_are_json_dumps_bytes() -> None:
    import json

    payloads: list[dict[str, object]] = [
        {"start": {"lat": 60.15123, "lng": 24.9384}, "duration_minutes": 60, "themes": []},
        {"b": [1, 2.5, "ä", None, True], "a": {"z": 1e-05, "y": "\u2028"}, "engine": "e-1"},
    ]
    for payload in payloads:
        expected = json.dumps(
            payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode()
        assert canonical_bytes(payload) == expected
    with pytest.raises(ValueError):
        canonical_bytes({"x": float("nan")})
