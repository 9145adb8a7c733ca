"""`get_route_tile` (Martin's route source) against real PostGIS: the layers, their
features and properties, and empty tiles for anything that is not a visible route."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from wildside_common.testing.db import insert_user

pytestmark = pytest.mark.contract

ROUTE = {
    "points": [
        {"lat": 60.1699, "lng": 24.9384, "name": "Start"},
        {"lat": 60.1686, "lng": 24.9525, "name": "Havis Amanda"},
        {"lat": 60.1699, "lng": 24.9384, "name": "Start"},
    ],
    "geometry": {
        "type": "LineString",
        "coordinates": [[24.9384, 60.1699], [24.9450, 60.1690], [24.9525, 60.1686]],
    },
    "distance_m": 1650.5,
    "duration_minutes": 31.2,
    "straight_line": False,
}


def tile_of(lat: float, lng: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lng + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def fields(data: bytes) -> list[tuple[int, object]]:
    """Top-level protobuf fields: (number, int or bytes)."""
    found, at = [], 0
    while at < len(data):
        key, at = varint(data, at)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, at = varint(data, at)
            found.append((number, value))
        elif wire == 2:
            size, at = varint(data, at)
            found.append((number, data[at : at + size]))
            at += size
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return found


def layers(tile: bytes) -> dict[str, dict[str, object]]:
    """MVT layers by name: feature count and property keys (spec 2.1: Tile.layers = 3;
    Layer.name = 1, features = 2, keys = 3)."""
    decoded: dict[str, dict[str, object]] = {}
    for number, layer in fields(tile):
        assert number == 3 and isinstance(layer, bytes)
        parts = fields(layer)
        name = next(v for n, v in parts if n == 1)
        assert isinstance(name, bytes)
        decoded[name.decode()] = {
            "features": sum(1 for n, _ in parts if n == 2),
            "keys": {v.decode() for n, v in parts if n == 3 and isinstance(v, bytes)},
        }
    return decoded


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def stored_route(conn: asyncpg.Connection, route: dict, expired: bool = False) -> str:
    user = await insert_user(conn, "tiles")
    request_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO route_requests (id, user_id, payload, status, progress) "
        "VALUES ($1, $2, '{}'::jsonb, 'succeeded', 100)",
        request_id,
        user,
    )
    await conn.execute(
        "INSERT INTO route_results (request_id, route, expires_at) "
        "VALUES ($1, $2::jsonb, now() + $3::text::interval)",
        request_id,
        json.dumps(route),
        "-1 second" if expired else "1 day",
    )
    return str(request_id)


async def tile(conn: asyncpg.Connection, z: int, x: int, y: int, params: object) -> bytes:
    return bytes(
        await conn.fetchval(
            "SELECT get_route_tile($1, $2, $3, $4::json)", z, x, y, json.dumps(params)
        )
    )


async def test_the_route_tile_has_the_line_and_its_stops(conn) -> None:
    request_id = await stored_route(conn, ROUTE)
    decoded = layers(await tile(conn, *tile_of(60.1692, 24.945, 13), {"request_id": request_id}))
    assert decoded["route"]["features"] == 1
    assert decoded["route"]["keys"] == {
        "request_id",
        "distance_m",
        "duration_minutes",
        "straight_line",
    }
    assert decoded["stops"]["features"] == 3
    assert decoded["stops"]["keys"] == {"position", "name"}


async def test_a_tile_the_route_does_not_touch_is_empty(conn) -> None:
    request_id = await stored_route(conn, ROUTE)
    assert await tile(conn, *tile_of(48.8566, 2.3522, 13), {"request_id": request_id}) == b""


@pytest.mark.parametrize(
    "params", [{}, {"request_id": "not-a-uuid"}, {"request_id": None}, {"other": 1}]
)
async def test_a_missing_or_malformed_request_id_is_an_empty_tile(conn, params) -> None:
    assert await tile(conn, *tile_of(60.1692, 24.945, 13), params) == b""


async def test_unknown_and_expired_routes_are_empty_tiles(conn) -> None:
    expired = await stored_route(conn, ROUTE, expired=True)
    where = tile_of(60.1692, 24.945, 13)
    assert await tile(conn, *where, {"request_id": expired}) == b""
    assert await tile(conn, *where, {"request_id": str(uuid.uuid4())}) == b""


async def test_a_route_without_geometry_still_shows_its_stops(conn) -> None:
    request_id = await stored_route(conn, {**ROUTE, "geometry": None})
    decoded = layers(await tile(conn, *tile_of(60.1692, 24.945, 13), {"request_id": request_id}))
    assert set(decoded) == {"stops"} and decoded["stops"]["features"] == 3


async def test_martin_reads_the_functions_tilejson_comment(conn) -> None:
    comment = await conn.fetchval(
        "SELECT obj_description('get_route_tile(integer, integer, integer, json)'::regprocedure)"
    )
    tilejson = json.loads(comment)
    assert [layer["id"] for layer in tilejson["vector_layers"]] == ["route", "stops"]
    assert "OpenStreetMap" in tilejson["attribution"]
