"""`GET /api/v1/admin/enrichment/provenance` against the real database (rows inserted
directly): admin only, newest first, keyset paged, filtered by time and bounding box."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from gateway_identity_fakes import identity_settings
from starlette.applications import Starlette

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.http import TelemetryMiddleware
from wildside_common.pg import create_pool
from wildside_common.revocations_redis import connect_revocations
from wildside_common.sessions import SessionCodec
from wildside_common.telemetry import configure_tracing
from wildside_gateway.bootstrap import identity_wiring
from wildside_gateway.identity.adapters.outbound.login_throttle import RedisLoginThrottle
from wildside_gateway.identity.adapters.outbound.signup_throttle import RedisSignupThrottle
from wildside_gateway.routes.adapters.outbound.redis_store import connect_redis
from wildside_gateway.shared.domain.principal import Role

pytestmark = pytest.mark.contract
URL = "/api/v1/admin/enrichment/provenance"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(database_url, 4, stateless=True, custom_plans=True)
    yield created
    await created.close()


@pytest.fixture
async def client(
    pool: asyncpg.Pool, redis_url: str, redis_prefix: str
) -> AsyncIterator[httpx.AsyncClient]:
    configure_tracing(CommonSettings.from_env(EnvReader({}), "gateway", 0))
    settings, redis = identity_settings(), connect_redis(redis_url)
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
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw.test"
    ) as http:
        http.headers.update({"x-test": "1"})
        yield http
    await revocations.close()
    await redis.aclose()


def bearer(pool: asyncpg.Pool, role: Role) -> dict[str, str]:
    """A session for a fresh user id (the report does not look the user up)."""
    token, _ = SessionCodec(identity_settings().keys.keyring).issue(str(uuid.uuid4()), str(role))
    return {"Authorization": f"Bearer {token}"}


async def insert(
    pool: asyncpg.Pool, fetched_at: datetime, box: tuple[float, float, float, float]
) -> str:
    row_id = await pool.fetchval(
        "INSERT INTO enrichment_provenance (job_id, source_url, fetched_at, bbox, themes, "
        "pois_added, pois_updated, bytes) VALUES ($1, $2, $3, "
        "ST_MakeEnvelope($4, $5, $6, $7, 4326), $8, 3, 4, 512) RETURNING id",
        uuid.uuid4(),
        "https://overpass-api.de/api/interpreter",
        fetched_at,
        *box,
        ["history", "art"],
    )
    return str(row_id)


@pytest.fixture
async def records(pool: asyncpg.Pool) -> tuple[datetime, list[str]]:
    """25 rows in a private time window (a random day of 1900-1987: the tests share a
    database, and a random year alone let two tests' windows meet about once in 20
    runs); some share a timestamp."""
    start = datetime(1900, 1, 1, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 32_000)
    ids = []
    for index in range(25):
        lng = 24.90 if index % 2 == 0 else 10.0  # even rows in Helsinki, odd ones elsewhere
        box = (lng, 60.15, lng + 0.05, 60.20)
        ids.append(await insert(pool, start + timedelta(minutes=index // 2), box))
    return start, ids


def window(start: datetime, **extra: str) -> dict[str, str]:
    return {"from": start.isoformat(), "to": (start + timedelta(days=1)).isoformat(), **extra}


async def test_no_session_is_401_and_a_user_session_403(
    pool: asyncpg.Pool, client: httpx.AsyncClient
) -> None:
    assert (await client.get(URL)).status_code == 401
    forbidden = await client.get(URL, headers=bearer(pool, Role.USER))
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"


async def test_records_come_newest_first_with_their_details(
    pool: asyncpg.Pool, client: httpx.AsyncClient, records: tuple[datetime, list[str]]
) -> None:
    start, _ = records
    response = await client.get(URL, params=window(start), headers=bearer(pool, Role.ADMIN))
    assert response.status_code == 200, response.text
    page = response.json()
    assert page["limit"] == 50 and len(page["data"]) == 25
    stamps = [item["fetched_at"] for item in page["data"]]
    assert stamps == sorted(stamps, reverse=True)
    first = page["data"][0]
    assert first["source_url"] == "https://overpass-api.de/api/interpreter"
    assert first["themes"] == ["history", "art"]
    assert first["counts"] == {"pois_added": 3, "pois_updated": 4, "bytes": 512}
    assert first["bbox"] == pytest.approx(
        {"min_lat": 60.15, "min_lng": 24.90, "max_lat": 60.20, "max_lng": 24.95}
    )


async def test_pages_forward_and_back_keep_the_filters(
    pool: asyncpg.Pool, client: httpx.AsyncClient, records: tuple[datetime, list[str]]
) -> None:
    start, ids = records
    auth = bearer(pool, Role.ADMIN)
    everything = (await client.get(URL, params=window(start), headers=auth)).json()["data"]
    expected = [item["id"] for item in everything]
    assert sorted(expected) == sorted(ids)
    seen, pages = [], []
    response = await client.get(URL, params=window(start, limit="4"), headers=auth)
    while True:
        page = response.json()
        pages.append([item["id"] for item in page["data"]])
        seen += pages[-1]
        if not page["links"]["next"]:
            break
        assert "from=" in page["links"]["next"] and "to=" in page["links"]["next"]
        response = await client.get(page["links"]["next"], headers=auth)
    assert seen == expected and len(pages) == 7
    back = []
    while page["links"]["prev"]:
        page = (await client.get(page["links"]["prev"], headers=auth)).json()
        back.append([item["id"] for item in page["data"]])
    assert list(reversed(back)) == pages[:-1]


async def test_time_range_and_bounding_box_filters(
    pool: asyncpg.Pool, client: httpx.AsyncClient, records: tuple[datetime, list[str]]
) -> None:
    start, ids = records
    auth = bearer(pool, Role.ADMIN)
    params = {"from": (start + timedelta(minutes=10)).isoformat(), "to": window(start)["to"]}
    late = (await client.get(URL, params=params, headers=auth)).json()["data"]
    assert {item["id"] for item in late} == set(ids[20:])
    params = window(start, bbox="24.93,60.10,25.00,60.16")
    helsinki = (await client.get(URL, params=params, headers=auth)).json()["data"]
    assert {item["id"] for item in helsinki} == set(ids[::2])
    params = window(start, bbox="0,0,1,1")
    assert (await client.get(URL, params=params, headers=auth)).json()["data"] == []


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"limit": "201"}, "limit", "invalid_limit"),
        ({"limit": "0"}, "limit", "invalid_limit"),
        ({"cursor": "bm9wZQ"}, "cursor", "invalid_cursor"),
        ({"cursor": "eyJrIjpbImEiXSwiZCI6InVwIn0"}, "cursor", "unsupported_direction"),
        ({"bbox": "1,2,3"}, "bbox", None),
        ({"bbox": "10,60,9,61"}, "bbox", None),
        ({"from": "yesterday"}, "from", None),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from", None),
    ],
)
async def test_bad_parameters_are_400(
    pool: asyncpg.Pool,
    client: httpx.AsyncClient,
    params: dict[str, str],
    field: str,
    code: str | None,
) -> None:
    response = await client.get(URL, params=params, headers=bearer(pool, Role.ADMIN))
    assert response.status_code == 400, response.text
    details = response.json()["details"]
    assert details["field"] == field
    if code:
        assert details["code"] == code


async def test_the_limit_goes_up_to_200(pool: asyncpg.Pool, client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params={"limit": "200"}, headers=bearer(pool, Role.ADMIN))
    assert response.status_code == 200 and response.json()["limit"] == 200
