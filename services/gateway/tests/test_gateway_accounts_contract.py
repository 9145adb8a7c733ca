"""Accounts against the real PostgreSQL and Redis: the `Accounts` port (the same suite
over the fake and `PostgresUsers`: create, case-insensitive duplicates, delete, the last
administrator, also under races), the cascade of a deletion, the export sections, the
sign-up throttle (fake and Redis), and the endpoints over the real adapters."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from gateway_identity_fakes import FakeSignupThrottle, FakeUsers, identity_settings
from redis.asyncio import Redis
from starlette.applications import Starlette

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.errors import Unavailable
from wildside_common.http import TelemetryMiddleware
from wildside_common.pg import create_pool
from wildside_common.revocations_redis import connect_revocations
from wildside_common.telemetry import configure_tracing
from wildside_common.testing.servers import free_port
from wildside_gateway.bootstrap import identity_wiring
from wildside_gateway.identity.adapters.outbound.export import postgres_sections
from wildside_gateway.identity.adapters.outbound.login_throttle import RedisLoginThrottle
from wildside_gateway.identity.adapters.outbound.signup_throttle import RedisSignupThrottle
from wildside_gateway.identity.adapters.outbound.users import PostgresUsers
from wildside_gateway.identity.domain.accounts import LastAdmin
from wildside_gateway.routes.adapters.outbound.redis_store import connect_redis
from wildside_gateway.shared.domain.principal import Role

pytestmark = pytest.mark.contract
PASSWORD = "contract pass phrase"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(database_url, 12, stateless=True, custom_plans=True)
    yield created
    await created.close()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


class Store:
    """The `Accounts` port under test, with what the suite needs around it."""

    def __init__(self, kind: str, pool: asyncpg.Pool) -> None:
        self.kind = kind
        self.pool = pool
        self.fake = FakeUsers()
        self.port: Any = self.fake if kind == "fake" else PostgresUsers(pool)

    async def only_admins(self, *user_ids: str) -> None:
        """Make these users the only administrators."""
        if self.kind == "fake":
            for user_id, (user, hashed) in list(self.fake.rows.items()):
                role = Role.ADMIN if user_id in user_ids else Role.USER
                self.fake.rows[user_id] = (replace(user, role=role), hashed)
            return
        await self.pool.execute(
            "UPDATE users SET role = CASE WHEN id = ANY($1::uuid[]) THEN 'admin' ELSE 'user' END "
            "WHERE role = 'admin' OR id = ANY($1::uuid[])",
            [uuid.UUID(user_id) for user_id in user_ids],
        )

    async def admins(self) -> set[str]:
        if self.kind == "fake":
            return {u.id for u, _ in self.fake.rows.values() if u.role is Role.ADMIN}
        rows = await self.pool.fetch("SELECT id FROM users WHERE role = 'admin'")
        return {str(row["id"]) for row in rows}

    async def exists(self, user_id: str) -> bool:
        if self.kind == "fake":
            return user_id in self.fake.rows
        found = await self.pool.fetchval("SELECT 1 FROM users WHERE id = $1", uuid.UUID(user_id))
        return found is not None


@pytest.fixture(params=["fake", "postgres"])
def store(request: pytest.FixtureRequest, pool: asyncpg.Pool) -> Store:
    return Store(request.param, pool)


def name() -> str:
    return f"acct-{uuid.uuid4().hex[:12]}"


async def test_create_answers_an_id_and_none_for_a_taken_name_in_any_case(store: Store) -> None:
    username = name()
    user_id = await store.port.create(username, "Someone", "hash", Role.USER)
    assert user_id is not None and uuid.UUID(user_id)
    assert await store.port.create(username.upper(), "Other", "hash", Role.USER) is None
    stored = await store.port.credentials(username.upper())
    assert stored is not None and stored.user_id == user_id and stored.role is Role.USER


async def test_of_concurrent_sign_ups_of_one_name_exactly_one_is_created(store: Store) -> None:
    username = name()
    spellings = [username, username.upper(), username.title(), username] * 3
    created = await asyncio.gather(
        *(store.port.create(spelled, "Racer", "hash", Role.USER) for spelled in spellings)
    )
    assert len([user_id for user_id in created if user_id is not None]) == 1


async def test_delete_removes_the_user_once(store: Store) -> None:
    user_id = await store.port.create(name(), "Leaver", "hash", Role.USER)
    assert await store.port.delete(user_id) is True
    assert not await store.exists(user_id)
    assert await store.port.delete(user_id) is False
    assert await store.port.delete(str(uuid.uuid4())) is False


async def test_the_last_admin_is_not_deleted(store: Store) -> None:
    first = await store.port.create(name(), "Admin", "hash", Role.ADMIN)
    second = await store.port.create(name(), "Admin", "hash", Role.ADMIN)
    await store.only_admins(first, second)
    assert await store.port.delete(second) is True
    with pytest.raises(LastAdmin) as refused:
        await store.port.delete(first)
    assert refused.value.code == "last_admin"
    assert await store.exists(first) and await store.admins() == {first}
    user = await store.port.create(name(), "User", "hash", Role.USER)
    assert await store.port.delete(user) is True  # others may still leave


@pytest.mark.parametrize("round_", range(5))
async def test_two_admins_leaving_at_once_leave_one_admin(pool: asyncpg.Pool, round_: int) -> None:
    users = PostgresUsers(pool)
    store = Store("postgres", pool)
    admins = [await users.create(name(), "Admin", "hash", Role.ADMIN) for _ in range(2)]
    await store.only_admins(*admins)  # type: ignore[arg-type]
    outcomes = await asyncio.gather(
        *(users.delete(admin) for admin in admins),  # type: ignore[arg-type]
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["LastAdmin", "bool"]
    assert len(await store.admins()) == 1


async def test_an_admin_leaving_while_the_other_is_demoted_leaves_one_admin(
    pool: asyncpg.Pool,
) -> None:
    users = PostgresUsers(pool)
    store = Store("postgres", pool)
    for _ in range(5):
        names = [name(), name()]
        admins = [await users.create(n, "Admin", "hash", Role.ADMIN) for n in names]
        await store.only_admins(*admins)  # type: ignore[arg-type]
        await asyncio.gather(
            users.delete(admins[0]),  # type: ignore[arg-type]
            users.set_role(names[1], Role.USER),
            return_exceptions=True,
        )
        # Whichever went first, the other saw it and was refused: one admin is left.
        remaining = await store.admins()
        assert len(remaining) == 1
        if remaining == {admins[0]}:  # demoted first; the deletion was refused
            assert await store.exists(admins[0])  # type: ignore[arg-type]
        else:  # deleted first; the demotion was refused
            assert remaining == {admins[1]} and not await store.exists(admins[0])  # type: ignore[arg-type]


async def test_the_last_admin_is_not_demoted_unless_asked(pool: asyncpg.Pool) -> None:
    users = PostgresUsers(pool)
    store = Store("postgres", pool)
    names = [name(), name()]
    admins = [await users.create(n, "Admin", "hash", Role.ADMIN) for n in names]
    await store.only_admins(*admins)  # type: ignore[arg-type]
    assert await users.set_role(names[1], Role.USER) == admins[1]
    with pytest.raises(LastAdmin) as refused:
        await users.set_role(names[0], Role.USER)
    assert refused.value.code == "last_admin" and await store.admins() == {admins[0]}
    assert await users.set_role(f"nobody-{names[0]}", Role.USER) is None
    assert await users.set_role(names[0], Role.USER, keep_an_admin=False) == admins[0]
    assert await store.admins() == set()
    await users.set_role(names[0], Role.ADMIN)  # the shared database keeps an admin


async def add_owned_rows(pool: asyncpg.Pool, user_id: str, expired: bool = False) -> str:
    """A route request with its result, an idempotency key, a saved route (kept however old
    the request is: saved routes do not expire) and interests of the user."""
    uid, request_id = uuid.UUID(user_id), uuid.uuid4()
    ttl = timedelta(hours=-1 if expired else 1)
    await pool.execute(
        "INSERT INTO route_requests (id, user_id, status, payload, expires_at) "
        "VALUES ($1, $2, 'succeeded', $3::jsonb, now() + $4)",
        request_id,
        uid,
        {"duration_minutes": 60, "owner": user_id},
        ttl,
    )
    await pool.execute(
        "INSERT INTO route_results (request_id, route, expires_at) "
        "VALUES ($1, $2::jsonb, now() + $3)",
        request_id,
        {"stops": [], "owner": user_id},
        ttl,
    )
    await pool.execute(
        "INSERT INTO idempotency_keys (user_id, key, payload_sha256, request_id, "
        "response_status, response_body, expires_at) "
        "VALUES ($1, $2, $3, $4, 202, '{}'::jsonb, now() + $5)",
        uid,
        uuid.uuid4(),
        "0" * 64,
        request_id,
        ttl,
    )
    await pool.execute(
        "INSERT INTO saved_routes (id, user_id, request_id, name, payload, route) "
        "VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb)",
        uuid.uuid4(),
        uid,
        request_id,
        f"Walk of {user_id}",
        {"duration_minutes": 60, "owner": user_id},
        {"stops": [], "owner": user_id},
    )
    await pool.execute(
        "INSERT INTO user_interest_sets (user_id) VALUES ($1) ON CONFLICT DO NOTHING", uid
    )
    await pool.execute(
        "INSERT INTO user_interests (user_id, theme_id) VALUES ($1, 'art') ON CONFLICT DO NOTHING",
        uid,
    )
    return str(request_id)


OWNED = {
    "route_requests": "SELECT count(*) FROM route_requests WHERE user_id = $1",
    "route_results": "SELECT count(*) FROM route_results r JOIN route_requests q "
    "ON q.id = r.request_id WHERE q.user_id = $1",
    "idempotency_keys": "SELECT count(*) FROM idempotency_keys WHERE user_id = $1",
    "saved_routes": "SELECT count(*) FROM saved_routes WHERE user_id = $1",
    "user_interest_sets": "SELECT count(*) FROM user_interest_sets WHERE user_id = $1",
    "user_interests": "SELECT count(*) FROM user_interests WHERE user_id = $1",
    "users": "SELECT count(*) FROM users WHERE id = $1",
}


async def owned(pool: asyncpg.Pool, user_id: str) -> dict[str, int]:
    return {table: await pool.fetchval(q, uuid.UUID(user_id)) for table, q in OWNED.items()}


async def test_deleting_a_user_deletes_everything_theirs_and_nothing_else(
    pool: asyncpg.Pool,
) -> None:
    users = PostgresUsers(pool)
    leaver = await users.create(name(), "Leaver", "hash", Role.USER)
    stayer = await users.create(name(), "Stayer", "hash", Role.USER)
    for user_id in (leaver, stayer):
        await add_owned_rows(pool, user_id)  # type: ignore[arg-type]
        await add_owned_rows(pool, user_id, expired=True)  # type: ignore[arg-type]
    before = await owned(pool, stayer)  # type: ignore[arg-type]
    assert all(count >= 1 for count in before.values())
    assert await users.delete(leaver) is True  # type: ignore[arg-type]
    assert set((await owned(pool, leaver)).values()) == {0}  # type: ignore[arg-type]
    assert await owned(pool, stayer) == before  # type: ignore[arg-type]
    orphans = await pool.fetchval(
        "SELECT count(*) FROM route_results r WHERE NOT EXISTS "
        "(SELECT 1 FROM route_requests q WHERE q.id = r.request_id)"
    )
    assert orphans == 0


async def test_every_table_that_names_a_user_cascades_from_users(pool: asyncpg.Pool) -> None:
    """A table naming a user must cascade from `users`, or leaving would fail or keep their
    rows; a table naming one of the user's rows must not block the cascade (CASCADE, or
    SET NULL for a row that is the user's by its own `user_id`)."""
    rows = await pool.fetch(
        """
        SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent,
               c.confdeltype::text AS on_delete
          FROM pg_constraint c
         WHERE c.contype = 'f'
           AND c.confrelid IN (SELECT conrelid FROM pg_constraint
                                WHERE contype = 'f' AND confrelid = 'users'::regclass
                               UNION SELECT 'users'::regclass)
        """
    )
    assert {row["child"] for row in rows} >= {
        "user_interest_sets",
        "user_interests",
        "route_requests",
        "route_results",
        "idempotency_keys",
        "saved_routes",
    }
    blocking = [
        (row["child"], row["parent"], row["on_delete"])
        for row in rows
        if row["on_delete"] != "c" and (row["parent"] == "users" or row["on_delete"] != "n")
    ]
    assert blocking == []


async def test_the_export_sections_hold_the_users_rows_within_retention_only(
    pool: asyncpg.Pool,
) -> None:
    users = PostgresUsers(pool)
    mine = await users.create(name(), "Mine", "hash", Role.USER)
    theirs = await users.create(name(), "Theirs", "hash", Role.USER)
    kept = await add_owned_rows(pool, mine)  # type: ignore[arg-type]
    await add_owned_rows(pool, mine, expired=True)  # type: ignore[arg-type]
    await add_owned_rows(pool, theirs)  # type: ignore[arg-type]
    sections = {section.name: section for section in postgres_sections(pool)}
    assert list(sections) == ["route_requests", "saved_routes", "idempotency_keys"]
    requests = await sections["route_requests"].collect(mine)  # type: ignore[arg-type]
    assert [request["id"] for request in requests] == [kept]
    assert requests[0]["request"]["owner"] == mine
    assert requests[0]["result"]["route"]["owner"] == mine
    assert requests[0]["status"] == "succeeded"
    keys = await sections["idempotency_keys"].collect(mine)  # type: ignore[arg-type]
    assert [key["request_id"] for key in keys] == [kept]
    saved = await sections["saved_routes"].collect(mine)  # type: ignore[arg-type]
    assert len(saved) == 2  # the expired request's saved copy is kept: no expiry
    assert {walk["route"]["owner"] for walk in saved} == {mine}
    assert {walk["name"] for walk in saved} == {f"Walk of {mine}"}
    assert kept in {walk["request_id"] for walk in saved}
    orjson.dumps({"s": requests, "k": keys, "w": saved})  # JSON-ready as is
    assert await sections["route_requests"].collect(str(uuid.uuid4())) == []


def throttle_of(kind: str, redis: Redis, prefix: str, attempts: int = 3, window: int = 60) -> Any:
    if kind == "fake":
        return FakeSignupThrottle(attempts, window)
    return RedisSignupThrottle(redis, attempts, window, prefix)


@pytest.mark.parametrize("kind", ["fake", "redis"])
async def test_sign_ups_per_address_are_counted_in_a_window(
    kind: str, redis: Redis, redis_prefix: str
) -> None:
    throttle = throttle_of(kind, redis, redis_prefix)
    address = uuid.uuid4().hex
    assert [await throttle.attempt(address) for _ in range(3)] == [None, None, None]
    refused = await throttle.attempt(address)
    assert refused is not None and 1 <= refused <= 60
    assert await throttle.attempt(uuid.uuid4().hex) is None  # another address


@pytest.mark.parametrize("kind", ["fake", "redis"])
async def test_the_window_ends(kind: str, redis: Redis, redis_prefix: str) -> None:
    throttle = throttle_of(kind, redis, redis_prefix, attempts=1, window=1)
    address = uuid.uuid4().hex
    assert await throttle.attempt(address) is None
    assert await throttle.attempt(address) == 1
    await asyncio.sleep(1.1)
    assert await throttle.attempt(address) is None


async def test_sign_up_fails_closed_without_redis() -> None:
    down = connect_redis(f"redis://127.0.0.1:{free_port()}/0")
    try:
        with pytest.raises(Unavailable):
            await RedisSignupThrottle(down, 3).attempt("addr")
    finally:
        await down.aclose()


@pytest.fixture
async def client(
    pool: asyncpg.Pool, redis: Redis, redis_url: str, redis_prefix: str
) -> AsyncIterator[httpx.AsyncClient]:
    configure_tracing(CommonSettings.from_env(EnvReader({}), "gateway", 0))
    settings = identity_settings()
    revocations = connect_revocations(redis_url, redis_prefix)
    await revocations.start()
    wiring = identity_wiring(
        settings,
        16384,
        pool,
        RedisLoginThrottle(redis, settings.login_limits, redis_prefix),
        revocations,
        signup_throttle=RedisSignupThrottle(redis, 1000, prefix=redis_prefix),
    )
    app = Starlette(routes=wiring.routes)
    app.add_middleware(TelemetryMiddleware, service="gateway", router=app.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
        yield http
    await revocations.close()


async def test_sign_up_export_and_leave_over_the_real_adapters(
    pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    username = name()
    body = {"username": username, "password": PASSWORD, "display_name": "Real"}
    created = await client.post("/api/v1/users", json=body)
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    stored = await pool.fetchval(
        "SELECT password_hash FROM users WHERE id = $1", uuid.UUID(user_id)
    )
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    taken = await client.post("/api/v1/users", json={**body, "username": username.upper()})
    assert taken.status_code == 409 and taken.json()["code"] == "username_taken"
    request_id = await add_owned_rows(pool, user_id)
    export = await client.get("/api/v1/users/me/export")
    assert export.status_code == 200
    document = export.json()
    assert document["profile"]["username"] == username
    assert [request["id"] for request in document["route_requests"]] == [request_id]
    assert len(document["idempotency_keys"]) == 1
    old = await client.request("DELETE", "/api/v1/users/me", json={"password": "not the one"})
    assert old.status_code == 403 and old.json()["code"] == "wrong_password"
    gone = await client.request("DELETE", "/api/v1/users/me", json={"password": PASSWORD})
    assert gone.status_code == 204
    assert set((await owned(pool, user_id)).values()) == {0}
    await asyncio.sleep(0.05)
    assert (await client.get("/api/v1/users/me")).status_code == 401
    login = await client.post("/api/v1/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 401
