"""One suite over the in-memory route owners and the PostgreSQL adapter, the latter
connected as tiles-auth's own role (tiles_auth_ro, migration 0005: it may read route
owners and nothing else; local trust auth needs no password)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from tiles_auth_fakes import FakeRouteOwners

from wildside_common.testing.db import insert_user
from wildside_tiles_auth.adapters.outbound.postgres import PostgresRouteOwners

pytestmark = pytest.mark.contract


async def a_route(database_url: str, expired: bool = False) -> tuple[str, str]:
    conn = await asyncpg.connect(database_url)
    try:
        user = await insert_user(conn, "owner")
        request_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO route_requests (id, user_id, payload, expires_at) "
            "VALUES ($1, $2, '{}'::jsonb, now() + $3::text::interval)",
            request_id,
            user,
            "-1 second" if expired else "1 day",
        )
        return str(request_id), str(user)
    finally:
        await conn.close()


@pytest.fixture(params=["fake", "postgres"])
async def owners_and_routes(request, database_url: str) -> AsyncIterator[tuple[object, dict]]:
    live, gone = await a_route(database_url), await a_route(database_url, expired=True)
    routes = {"live": live, "expired": gone}
    if request.param == "fake":
        yield FakeRouteOwners({live[0]: live[1]}), routes
        return
    parts = urlsplit(database_url)
    as_tiles_auth = parts._replace(netloc=f"tiles_auth_ro@{parts.hostname}:{parts.port or 5432}")
    owners = PostgresRouteOwners(urlunsplit(as_tiles_auth), pool_size=2)
    yield owners, routes
    await owners.close()


async def test_a_route_has_its_owner_and_unknown_or_expired_ones_none(owners_and_routes) -> None:
    owners, routes = owners_and_routes
    request_id, user = routes["live"]
    assert await owners.owner_of(request_id) == user
    assert await owners.owner_of(request_id) == user  # again (the adapter remembers it)
    assert await owners.owner_of(routes["expired"][0]) is None
    assert await owners.owner_of(str(uuid.uuid4())) is None


async def test_an_unreachable_database_is_unavailable_not_a_crash() -> None:
    from wildside_common.errors import Unavailable
    from wildside_common.testing.servers import free_port

    owners = PostgresRouteOwners(f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    with pytest.raises(Unavailable):
        await owners.owner_of(str(uuid.uuid4()))
