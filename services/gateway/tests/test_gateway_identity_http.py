"""Identity endpoints over HTTP, built through `wire_identity` with in-memory fakes."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from gateway_identity_fakes import KEY, FakeUsers, identity_app, identity_settings
from prometheus_client import REGISTRY

from wildside_common.testing.analytics import RecordingAnalytics
from wildside_gateway.shared.domain.principal import Role

pytestmark = pytest.mark.unit


@pytest.fixture
async def users() -> FakeUsers:
    fake = FakeUsers()
    fake.add("walker", "right-password")
    fake.add("boss", "boss-password", Role.ADMIN)
    return fake


@pytest.fixture
async def client(users: FakeUsers) -> AsyncIterator[httpx.AsyncClient]:
    test_client, _ = identity_app(users)
    async with test_client:
        yield test_client


async def login(
    client: httpx.AsyncClient, username: str = "walker", password: str = "right-password"
) -> str:
    response = await client.post("/api/v1/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.cookies["session"])


async def test_login_sets_an_http_only_two_hour_cookie_and_returns_the_profile(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/api/v1/login", json={"username": "WALKER", "password": "right-password"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "walker" and body["revision"] == 0
    assert body["interest_theme_ids"] == []
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("session=")
    for attribute in ("HttpOnly", "Max-Age=7200", "Path=/", "SameSite=lax"):
        assert attribute in cookie
    assert "Secure" not in cookie


async def test_the_cookie_takes_secure_and_samesite_from_configuration(users: FakeUsers) -> None:
    test_client, _ = identity_app(users, identity_settings(secure=True, samesite="Strict"))
    response = await test_client.post(
        "/api/v1/login", json={"username": "walker", "password": "right-password"}
    )
    cookie = response.headers["set-cookie"]
    assert "Secure" in cookie and "SameSite=strict" in cookie


@pytest.mark.parametrize(
    ("username", "password"), [("walker", "wrong-password"), ("nobody", "right-password")]
)
async def test_wrong_credentials_are_401_without_a_cookie(
    client: httpx.AsyncClient, username: str, password: str
) -> None:
    response = await client.post("/api/v1/login", json={"username": username, "password": password})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert response.json()["trace_id"] == response.headers["trace-id"]
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": " ", "password": "x"}, "username"),
        ({"username": "walker", "password": ""}, "password"),
        ({"password": "x"}, "username"),
        ({"username": "walker", "password": 5}, "password"),
        ({"username": "walker", "password": "x", "remember": True}, "remember"),
    ],
)
async def test_blank_or_bad_credentials_are_400_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await client.post("/api/v1/login", json=body)
    assert response.status_code == 400
    assert response.json()["details"]["field"] == field


async def test_the_session_works_as_cookie_and_as_bearer(client: httpx.AsyncClient) -> None:
    token = await login(client)
    assert (await client.get("/api/v1/users/me")).json()["username"] == "walker"
    client.cookies.clear()
    me = await client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["username"] == "walker"
    assert (await client.get(f"/api/v1/users/me?session={token}")).status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/users/me"),
        ("PUT", "/api/v1/users/me/interests"),
        ("GET", "/api/v1/interest-themes"),
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/logout"),
        ("GET", "/api/v1/admin/enrichment/provenance"),
    ],
)
async def test_every_endpoint_but_login_needs_a_session(
    client: httpx.AsyncClient, method: str, path: str
) -> None:
    for headers in ({}, {"Authorization": "Bearer garbage"}, {"Cookie": "session=x.y.z"}):
        response = await client.request(method, path, headers=headers, json={})
        assert response.status_code == 401, (path, headers)
        body = response.json()
        assert body["code"] == "unauthorized"
        assert body["trace_id"] and body["trace_id"] == response.headers["trace-id"]


async def test_logout_clears_the_cookie(client: httpx.AsyncClient) -> None:
    await login(client)
    response = await client.post("/api/v1/logout")
    assert response.status_code == 204
    cookie = response.headers["set-cookie"]
    assert cookie.startswith('session="";') and "Max-Age=0" in cookie
    assert (await client.get("/api/v1/users/me")).status_code == 401


async def test_the_theme_catalogue(client: httpx.AsyncClient) -> None:
    await login(client)
    themes = (await client.get("/api/v1/interest-themes")).json()["data"]
    assert [theme["id"] for theme in themes] == ["history", "art", "nature", "food"]
    assert set(themes[0]) == {"id", "name", "description"}


async def test_interests_are_replaced_under_the_revision(client: httpx.AsyncClient) -> None:
    await login(client)
    first = await client.put("/api/v1/users/me/interests", json={"interest_theme_ids": ["art"]})
    assert first.status_code == 200 and first.json()["revision"] == 1
    stale = await client.put(
        "/api/v1/users/me/interests",
        json={"interest_theme_ids": ["food"], "expected_revision": 0},
    )
    assert stale.status_code == 409
    assert stale.json()["details"] == {"expected_revision": 0, "actual_revision": 1}
    missing = await client.put("/api/v1/users/me/interests", json={"interest_theme_ids": ["food"]})
    assert missing.status_code == 409
    assert missing.json()["details"] == {"expected_revision": None, "actual_revision": 1}
    second = await client.put(
        "/api/v1/users/me/interests",
        json={"interest_theme_ids": ["food", "history"], "expected_revision": 1},
    )
    assert second.json()["interest_theme_ids"] == ["food", "history"]
    assert (await client.get("/api/v1/users/me")).json()["revision"] == 2


@pytest.mark.parametrize(
    ("ids", "field"),
    [
        (["art", "astrology"], "interest_theme_ids[1]"),
        (["art", "food", "art"], "interest_theme_ids[2]"),
        (["art", 7], "interest_theme_ids[1]"),
        (["art"] * 101, "interest_theme_ids"),
        ("art", "interest_theme_ids"),
    ],
)
async def test_bad_interest_lists_are_400_naming_the_index_or_limit(
    client: httpx.AsyncClient, ids: object, field: str
) -> None:
    await login(client)
    response = await client.put("/api/v1/users/me/interests", json={"interest_theme_ids": ids})
    assert response.status_code == 400
    assert response.json()["details"]["field"] == field
    if field == "interest_theme_ids" and isinstance(ids, list):
        assert response.json()["details"]["limit"] == 100


async def test_admin_endpoints_are_403_for_a_user(client: httpx.AsyncClient) -> None:
    await login(client)
    for path in ("/api/v1/users", "/api/v1/admin/enrichment/provenance"):
        response = await client.get(path)
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"


async def test_the_user_listing_pages_with_absolute_links(
    client: httpx.AsyncClient, users: FakeUsers
) -> None:
    for index in range(5):
        users.add(f"extra{index}", "password-x")
    await login(client, "boss", "boss-password")
    page = (await client.get("/api/v1/users?limit=3&q=keep")).json()
    assert page["limit"] == 3 and len(page["data"]) == 3 and page["links"]["prev"] is None
    assert page["links"]["self"] == "http://testserver/api/v1/users?q=keep&limit=3"
    seen = [user["id"] for user in page["data"]]
    while page["links"]["next"]:
        assert page["links"]["next"].startswith("http://testserver/api/v1/users?q=keep&limit=3")
        page = (await client.get(page["links"]["next"])).json()
        seen += [user["id"] for user in page["data"]]
    assert len(seen) == len(set(seen)) == 7


def error_count(code: str) -> float:
    value = REGISTRY.get_sample_value(
        "wildside_pagination_errors_total", {"listing": "users", "code": code}
    )
    return value or 0.0


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("limit=0", "invalid_limit"),
        ("limit=101", "invalid_limit"),
        ("limit=ten", "invalid_limit"),
        ("cursor=%%%", "invalid_cursor"),
        ("cursor=bm90IGpzb24", "invalid_cursor"),
        ("cursor=eyJrIjpbImEiXSwiZCI6InVwIn0", "unsupported_direction"),
    ],
)
async def test_bad_page_parameters_are_400_with_a_code_and_counted(
    client: httpx.AsyncClient, query: str, code: str
) -> None:
    await login(client, "boss", "boss-password")
    before = error_count(code)
    response = await client.get(f"/api/v1/users?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["details"]["code"] == code
    assert error_count(code) == before + 1


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_page_size_direction_and_depth_are_recorded(
    client: httpx.AsyncClient, users: FakeUsers
) -> None:
    for index in range(4):
        users.add(f"metric{index}", "password-x")
    await login(client, "boss", "boss-password")
    labels = {"listing": "users", "direction": "next"}
    count = sample("wildside_pagination_page_size_count", labels)
    rows = sample("wildside_pagination_page_size_sum", labels)
    depth = sample("wildside_pagination_depth_sum", labels)
    first = (await client.get("/api/v1/users?limit=2")).json()
    await client.get(first["links"]["next"])
    assert sample("wildside_pagination_page_size_count", labels) == count + 2
    assert sample("wildside_pagination_page_size_sum", labels) == rows + 4
    assert sample("wildside_pagination_depth_sum", labels) == depth + 1
    before = sample("wildside_pagination_page_size_count", {**labels, "direction": "prev"})
    second = (await client.get(first["links"]["next"])).json()
    await client.get(second["links"]["prev"])
    after = sample("wildside_pagination_page_size_count", {**labels, "direction": "prev"})
    assert after == before + 1


def forged_tokens(user_id: str) -> list[str]:
    now = datetime.now(UTC)
    claims = {"sub": user_id, "role": "admin", "iat": now, "exp": now + timedelta(minutes=5)}
    expired = {**claims, "iat": now - timedelta(hours=3), "exp": now - timedelta(hours=1)}
    header = base64.urlsafe_b64encode(b'{"alg":"none","kid":"k-test"}').decode().rstrip("=")
    body = base64.urlsafe_b64encode(json.dumps({**claims, "iat": 0, "exp": 2**33}).encode())
    return [
        jwt.encode(expired, KEY.secret, "HS512", headers={"kid": KEY.kid}),
        jwt.encode(claims, b"w" * 64, "HS512", headers={"kid": KEY.kid}),
        f"{header}.{body.decode().rstrip('=')}.",
        jwt.encode(claims, KEY.secret, "HS512", headers={"kid": KEY.kid})[:-3] + "abc",
        "garbage",
    ]


async def test_expired_wrongly_signed_alg_none_tampered_and_garbage_tokens_are_401(
    client: httpx.AsyncClient, users: FakeUsers
) -> None:
    user_id = users.add("victim", "password-v", Role.ADMIN)
    for token in forged_tokens(user_id):
        for headers in ({"Authorization": f"Bearer {token}"}, {"Cookie": f"session={token}"}):
            response = await client.get("/api/v1/users/me", headers=headers)
            assert response.status_code == 401, token
            assert response.json()["code"] == "unauthorized"


async def test_a_login_is_one_user_logged_in_event_a_failed_one_none(users: FakeUsers) -> None:
    analytics = RecordingAnalytics()
    test_client, _ = identity_app(users, analytics=analytics)
    async with test_client:
        await login(test_client, "boss", "boss-password")
        wrong = await test_client.post(
            "/api/v1/login", json={"username": "walker", "password": "wrong-password"}
        )
        assert wrong.status_code == 401
    [event] = analytics.events
    assert event.name == "UserLoggedIn" and event.properties() == {"role": "admin"}
    boss = next(uid for uid, (summary, _) in users.rows.items() if summary.username == "boss")
    assert event.user_id == boss
