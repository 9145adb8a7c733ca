"""Identity adapters and endpoints against the real PostgreSQL (users, interests,
pagination over 1,000+ users, provenance report)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from gateway_identity_fakes import identity_settings
from starlette.applications import Starlette

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.errors import Conflict
from wildside_common.http import TelemetryMiddleware
from wildside_common.pg import create_pool
from wildside_common.revocations_redis import connect_revocations
from wildside_common.telemetry import configure_tracing
from wildside_gateway.bootstrap import identity_wiring
from wildside_gateway.identity.adapters.outbound.login_throttle import RedisLoginThrottle
from wildside_gateway.identity.adapters.outbound.passwords import Argon2Passwords
from wildside_gateway.identity.adapters.outbound.signup_throttle import RedisSignupThrottle
from wildside_gateway.identity.adapters.outbound.users import PostgresInterestSets, PostgresUsers
from wildside_gateway.identity.domain.interests import InterestUpdate
from wildside_gateway.routes.adapters.outbound.redis_store import connect_redis

pytestmark = pytest.mark.contract
PASSWORD = "contract-password"
HASH = Argon2Passwords().hash(PASSWORD)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(database_url, 12, stateless=True, custom_plans=True)
    yield created
    await created.close()


@pytest.fixture
async def client(
    pool: asyncpg.Pool, redis_url: str, redis_prefix: str
) -> AsyncIterator[httpx.AsyncClient]:
    configure_tracing(CommonSettings.from_env(EnvReader({}), "gateway", 0))
    settings = identity_settings()
    redis = connect_redis(redis_url)
    throttle = RedisLoginThrottle(redis, settings.login_limits, redis_prefix)
    revocations = connect_revocations(redis_url, redis_prefix)
    await revocations.start()
    wiring = identity_wiring(
        settings,
        16384,
        pool,
        throttle,
        revocations,
        signup_throttle=RedisSignupThrottle(redis, 1000, prefix=redis_prefix),
    )
    app = Starlette(routes=wiring.routes)
    app.add_middleware(TelemetryMiddleware, service="gateway", router=app.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw.test") as http:
        yield http
    await revocations.close()
    await redis.aclose()


async def new_user(pool: asyncpg.Pool, role: str = "user") -> tuple[str, str]:
    username = f"u-{uuid.uuid4().hex[:12]}"
    user_id = await pool.fetchval(
        "INSERT INTO users (username, display_name, password_hash, role) "
        "VALUES ($1, $2, $3, $4) RETURNING id",
        username,
        username,
        HASH,
        role,
    )
    return username, str(user_id)


async def log_in(client: httpx.AsyncClient, username: str) -> dict[str, str]:
    response = await client.post("/api/v1/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.cookies['session']}"}


async def test_login_checks_the_argon2_hash_and_usernames_ignore_case(
    pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    username, user_id = await new_user(pool)
    stored = await pool.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    ok = await client.post(
        "/api/v1/login", json={"username": username.upper(), "password": PASSWORD}
    )
    assert ok.status_code == 200 and ok.json()["id"] == user_id
    bad = await client.post("/api/v1/login", json={"username": username, "password": "x" * 12})
    assert bad.status_code == 401 and "set-cookie" not in bad.headers
    me = await client.get("/api/v1/users/me", headers=await log_in(client, username))
    assert me.json() == {**ok.json(), "revision": 0, "interest_theme_ids": []}


async def test_the_theme_catalogue_comes_from_the_database(
    pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    username, _ = await new_user(pool)
    themes = await client.get("/api/v1/interest-themes", headers=await log_in(client, username))
    ids = [theme["id"] for theme in themes.json()["data"]]
    expected = {"history", "art", "nature", "food", "architecture", "culture", "shopping"}
    assert expected | {"entertainment"} <= set(ids)
    assert all(theme["name"] and theme["description"] for theme in themes.json()["data"])


async def test_interests_replace_under_the_revision(
    pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    username, _ = await new_user(pool)
    auth = await log_in(client, username)
    url = "/api/v1/users/me/interests"
    first = await client.put(url, headers=auth, json={"interest_theme_ids": ["nature", "art"]})
    assert first.json()["revision"] == 1
    assert first.json()["interest_theme_ids"] == ["nature", "art"]
    body = {"interest_theme_ids": ["food"], "expected_revision": 1}
    second = await client.put(url, headers=auth, json=body)
    assert second.json()["revision"] == 2 and second.json()["interest_theme_ids"] == ["food"]
    stale = await client.put(url, headers=auth, json=body)
    assert stale.status_code == 409
    assert stale.json()["details"] == {"expected_revision": 1, "actual_revision": 2}
    missing = await client.put(url, headers=auth, json={"interest_theme_ids": []})
    assert missing.status_code == 409 and missing.json()["details"]["actual_revision"] == 2
    unknown = await client.put(url, headers=auth, json={"interest_theme_ids": ["astrology"]})
    assert unknown.status_code == 400
    assert unknown.json()["details"]["field"] == "interest_theme_ids[0]"
    me = await client.get("/api/v1/users/me", headers=auth)
    assert me.json()["interest_theme_ids"] == ["food"] and me.json()["revision"] == 2


@pytest.mark.parametrize("username", ["nul\u0000inside", "bell\u0007", "\u0000"])
async def test_login_refuses_control_characters_with_400(
    client: httpx.AsyncClient, username: str
) -> None:
    response = await client.post(
        "/api/v1/login", json={"username": username, "password": "whatever-password"}
    )
    assert response.status_code == 400
    assert response.json()["details"]["field"] == "username"


async def test_text_postgres_cannot_hold_is_invalid_input_not_a_crash(pool: asyncpg.Pool) -> None:
    from wildside_common.errors import InvalidInput
    from wildside_common.pg import guarded

    with pytest.raises(InvalidInput):
        await guarded(lambda: pool.fetchval("SELECT $1::text", "nul\u0000"))


@pytest.mark.parametrize("start_revision", [0, 1])
async def test_of_concurrent_writers_with_one_revision_exactly_one_wins(
    pool: asyncpg.Pool, start_revision: int
) -> None:
    _, user_id = await new_user(pool)
    sets = PostgresInterestSets(pool)
    if start_revision:
        await sets.replace(user_id, InterestUpdate(("art",), None))
    expected = start_revision if start_revision else None
    writers = [
        sets.replace(user_id, InterestUpdate((theme,), expected))
        for theme in ("history", "nature", "food", "culture", "shopping", "architecture")
    ]
    outcomes = await asyncio.gather(*writers, return_exceptions=True)
    wins = [outcome for outcome in outcomes if isinstance(outcome, int)]
    assert wins == [start_revision + 1]
    assert all(isinstance(o, Conflict) for o in outcomes if not isinstance(o, int))
    profile = await PostgresUsers(pool).profile(user_id)
    assert profile is not None and profile.revision == start_revision + 1
    assert len(profile.interest_theme_ids) == 1


async def add_users(pool: asyncpg.Pool, count: int) -> None:
    """Bulk-insert users in one statement; every 7 share one created_at (ties broken by id)."""
    base = datetime(2001, 1, 1, tzinfo=UTC)
    names = [f"bulk-{uuid.uuid4().hex}" for _ in range(count)]
    stamps = [base + timedelta(seconds=index // 7) for index in range(count)]
    await pool.execute(
        "INSERT INTO users (username, display_name, password_hash, created_at) "
        "SELECT name, 'Bulk', $2, stamp "
        "FROM unnest($1::text[], $3::timestamptz[]) AS t(name, stamp)",
        names,
        HASH,
        stamps,
    )


async def test_walking_1000_users_forward_and_back_sees_each_row_once_in_order(
    pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    await add_users(pool, 1050)
    admin, _ = await new_user(pool, "admin")
    auth = await log_in(client, admin)
    rows = await pool.fetch("SELECT id FROM users ORDER BY created_at, id")
    expected = [str(row["id"]) for row in rows]
    assert len(expected) >= 1051
    pages, url = [], "http://gw.test/api/v1/users?limit=100&role=ignored"
    while url:
        page = (await client.get(url, headers=auth)).json()
        assert page["limit"] == 100 and page["links"]["self"].startswith("http://gw.test/")
        assert "role=ignored" in page["links"]["self"]
        pages.append([user["id"] for user in page["data"]])
        url = page["links"]["next"]
    assert [user for page in pages for user in page] == expected
    assert all(len(page) == 100 for page in pages[:-1])
    back, url = [], page["links"]["prev"]
    while url:
        page = (await client.get(url, headers=auth)).json()
        back.append([user["id"] for user in page["data"]])
        url = page["links"]["prev"]
    assert list(reversed(back)) == pages[:-1]


async def test_the_listing_is_served_by_the_created_at_id_index(pool: asyncpg.Pool) -> None:
    await add_users(pool, 1000)
    await pool.execute("ANALYZE users")
    plan = await pool.fetch(
        "EXPLAIN SELECT id FROM users WHERE (created_at, id) > ($1::timestamptz, $2::uuid) "
        "ORDER BY created_at, id LIMIT 21",
        datetime(2001, 1, 1, tzinfo=UTC),
        uuid.uuid4(),
    )
    text = "\n".join(row[0] for row in plan)
    assert "users_created_at_id_idx" in text and "Sort" not in text


async def test_limit_and_cursor_guardrails_against_the_database(
    pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    admin, _ = await new_user(pool, "admin")
    auth = await log_in(client, admin)
    for query, code in [
        ("limit=0", "invalid_limit"),
        ("limit=101", "invalid_limit"),
        ("limit=x", "invalid_limit"),
        ("cursor=eyJrIjpbImEiXSwiZCI6Im5leHQifQ", "invalid_cursor"),  # {"k":["a"],"d":"next"}
        ("cursor=eyJrIjpbImEiXSwiZCI6InVwIn0", "unsupported_direction"),
    ]:
        response = await client.get(f"/api/v1/users?{query}", headers=auth)
        assert response.status_code == 400, query
        assert response.json()["details"]["code"] == code
    default = (await client.get("/api/v1/users", headers=auth)).json()
    assert default["limit"] == 20 and len(default["data"]) <= 20
