"""The gateway's boundary with browsers over HTTP, through `bootstrap.gateway_app` with
in-memory fakes: CSRF origin check, 415 on non-JSON bodies, CORS, absolute links from
PUBLIC_BASE_URL, security headers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from gateway_identity_fakes import (
    FakeLoginThrottle,
    FakePasswords,
    FakeProvenance,
    FakeUsers,
    account_ports,
    identity_settings,
)
from gateway_identity_fakes import FakeThemes as FakeThemeDirectory
from gateway_route_fakes import (
    FakeAnnouncer,
    FakeCache,
    FakeLimiter,
    FakeQueue,
    FakeRouteRequests,
    FakeThemes,
)
from starlette.applications import Starlette

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.health import health_routes
from wildside_common.telemetry import configure_tracing
from wildside_common.testing.revocations import MemoryRevocations
from wildside_gateway.bootstrap import gateway_app, wire_identity
from wildside_gateway.routes.adapters.inbound.http import RouteEndpoints
from wildside_gateway.routes.app import RouteService, SubmissionPolicy
from wildside_gateway.routes.domain.routes import DurationBounds
from wildside_gateway.shared.adapters.inbound.openapi import openapi_route
from wildside_gateway.shared.domain.origins import AllowedOrigins
from wildside_gateway.shared.domain.principal import Role

pytestmark = pytest.mark.unit

PUBLIC = "https://wildside.test"
APP_ORIGIN = "https://app.wildside.test"
EVIL = "https://evil.example"
BODY = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60}
JSON = {"Content-Type": "application/json"}


def browser_app(direct: bool) -> Starlette:
    """The gateway's app over fakes; `direct`: the submission answered by
    `DirectRoutes` (as `bootstrap` wires it), else by the router alone."""
    configure_tracing(CommonSettings.from_env(EnvReader({}), "gateway", 0))
    users = FakeUsers()
    users.add("walker", "right-password")
    users.add("boss", "boss-password", Role.ADMIN)
    for index in range(4):
        users.add(f"extra{index}", "password-x")
    settings = identity_settings()
    wiring = wire_identity(
        settings,
        16384,
        users,
        users,
        FakeThemeDirectory(),
        FakePasswords(),
        FakeProvenance(),
        FakeLoginThrottle(settings.login_limits),
        MemoryRevocations(),
        account_ports=account_ports(users),
    )
    service = RouteService(
        FakeRouteRequests(),
        FakeQueue(),
        FakeAnnouncer(),
        FakeThemes(),
        SubmissionPolicy(DurationBounds(10, 480)),
        FakeCache(),
        FakeLimiter(),
    )
    endpoints = RouteEndpoints(service, wiring.auth, 16384, 1)
    routes = [
        *health_routes({}, metrics=False),
        openapi_route(),
        *endpoints.routes(),
        *wiring.routes,
    ]
    origins = AllowedOrigins.parse([PUBLIC, APP_ORIGIN])
    return gateway_app(routes, origins, PUBLIC, endpoints.direct() if direct else None)


@pytest.fixture(params=["direct", "router"])
async def client(request: pytest.FixtureRequest) -> AsyncIterator[httpx.AsyncClient]:
    app = browser_app(request.param == "direct")
    # The client's own address is not the public one: links must not follow it.
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.7:8080") as http:
        yield http


async def log_in(client: httpx.AsyncClient, username: str = "walker") -> str:
    password = {"walker": "right-password", "boss": "boss-password"}[username]
    response = await client.post("/api/v1/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return str(response.cookies["session"])


def assert_csrf_rejected(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    body = response.json()
    assert body["code"] == "csrf_rejected" and body["trace_id"] == response.headers["trace-id"]


# --- CSRF -------------------------------------------------------------------------------


async def test_a_cookie_post_from_a_foreign_origin_without_content_type_is_refused(
    client: httpx.AsyncClient,
) -> None:
    await log_in(client)
    response = await client.post(
        "/api/v1/routes",
        content=b'{"start":{"lat":60.17,"lng":24.94},"duration_minutes":60}',
        headers={"Origin": EVIL},
    )
    assert_csrf_rejected(response)
    assert response.json()["details"] == {"header": "origin"}


async def test_a_cross_origin_text_plain_logout_is_refused(client: httpx.AsyncClient) -> None:
    await log_in(client)
    response = await client.post(
        "/api/v1/logout", content=b"x", headers={"Origin": EVIL, "Content-Type": "text/plain"}
    )
    assert_csrf_rejected(response)
    assert "set-cookie" not in response.headers  # the session cookie is not cleared


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "null"},
        {"Origin": EVIL},
        {"Origin": "https://wildside.test.evil.example"},
        {"Origin": "http://wildside.test"},  # another scheme is another origin
        {"Origin": "https://wildside.test:8443"},
        {"Referer": f"{EVIL}/page"},
        {"Referer": "not a url"},
        {"Origin": EVIL, "Referer": f"{PUBLIC}/page"},  # Origin decides when present
    ],
)
async def test_every_unsafe_cookie_request_from_outside_the_list_is_refused(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await log_in(client)
    submitted = await client.post("/api/v1/routes", json=BODY, headers=headers)
    assert_csrf_rejected(submitted)
    interests = {"interest_theme_ids": [], "expected_revision": 0}
    replaced = await client.put("/api/v1/users/me/interests", json=interests, headers=headers)
    assert_csrf_rejected(replaced)
    assert_csrf_rejected(await client.post("/api/v1/logout", headers=headers))


async def test_a_login_from_a_foreign_origin_is_refused(client: httpx.AsyncClient) -> None:
    # Login CSRF: a foreign page must not log the victim in as the attacker.
    body = {"username": "walker", "password": "right-password"}
    response = await client.post("/api/v1/login", json=body, headers={"Origin": EVIL})
    assert_csrf_rejected(response)
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {},  # neither Origin nor Referer: not a browser
        {"Origin": PUBLIC},
        {"Origin": APP_ORIGIN},
        {"Referer": f"{APP_ORIGIN}/routes/new?x=1"},
    ],
)
async def test_allowed_origins_and_non_browser_clients_pass(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    await log_in(client)
    response = await client.post("/api/v1/routes", json=BODY, headers=headers)
    assert response.status_code == 202, response.text


async def test_bearer_requests_are_exempt_from_the_origin_check(
    client: httpx.AsyncClient,
) -> None:
    token = await log_in(client)
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {token}", "Origin": EVIL}
    response = await client.post("/api/v1/routes", json=BODY, headers=headers)
    assert response.status_code == 202, response.text


async def test_safe_methods_are_not_refused_for_their_origin(client: httpx.AsyncClient) -> None:
    await log_in(client)
    response = await client.get("/api/v1/users/me", headers={"Origin": EVIL})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers  # the page cannot read it


# --- 415 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "text/json", "application/jsonp", "multipart/form-data"]
)
async def test_a_body_that_is_not_application_json_is_415(
    client: httpx.AsyncClient, content_type: str | None
) -> None:
    token = await log_in(client)
    headers = {"Authorization": f"Bearer {token}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    body = b'{"start":{"lat":60.17,"lng":24.94},"duration_minutes":60}'
    for method, path in (("POST", "/api/v1/routes"), ("PUT", "/api/v1/users/me/interests")):
        response = await client.request(method, path, content=body, headers=headers)
        assert response.status_code == 415, response.text
        assert response.json()["code"] == "invalid_request"
        assert response.json()["details"] == {"expected": "application/json"}
    login = b'{"username":"walker","password":"right-password"}'
    refused = await client.post("/api/v1/login", content=login, headers=headers)
    assert refused.status_code == 415


@pytest.mark.parametrize(
    "content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"]
)
async def test_application_json_with_or_without_parameters_is_read(
    client: httpx.AsyncClient, content_type: str
) -> None:
    await log_in(client)
    body = b'{"start":{"lat":60.17,"lng":24.94},"duration_minutes":60}'
    response = await client.post(
        "/api/v1/routes", content=body, headers={"Content-Type": content_type}
    )
    assert response.status_code == 202, response.text


async def test_logout_reads_no_body_and_needs_no_content_type(client: httpx.AsyncClient) -> None:
    await log_in(client)
    response = await client.post("/api/v1/logout", headers={"Origin": PUBLIC})
    assert response.status_code == 204


# --- CORS -------------------------------------------------------------------------------


async def test_a_preflight_from_an_allowed_origin_names_methods_and_headers(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options(
        "/api/v1/routes",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, idempotency-key",
        },
    )
    assert response.status_code == 204
    headers = response.headers
    assert headers["access-control-allow-origin"] == APP_ORIGIN
    assert headers["access-control-allow-credentials"] == "true"
    assert {"GET", "POST", "PUT"} <= set(headers["access-control-allow-methods"].split(", "))
    allowed = set(headers["access-control-allow-headers"].split(", "))
    assert allowed == {"Authorization", "Content-Type", "Idempotency-Key"}
    assert int(headers["access-control-max-age"]) > 0
    assert "Origin" in headers["vary"]


async def test_a_preflight_from_another_origin_gets_no_cors_header(
    client: httpx.AsyncClient,
) -> None:
    response = await client.options(
        "/api/v1/routes", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    assert response.status_code != 204
    assert not [name for name in response.headers if name.startswith("access-control-")]


async def test_responses_to_an_allowed_origin_carry_the_cors_headers(
    client: httpx.AsyncClient,
) -> None:
    await log_in(client)
    response = await client.post("/api/v1/routes", json=BODY, headers={"Origin": APP_ORIGIN})
    assert response.status_code == 202
    assert response.headers["access-control-allow-origin"] == APP_ORIGIN
    assert response.headers["access-control-allow-credentials"] == "true"
    exposed = set(response.headers["access-control-expose-headers"].split(", "))
    assert {"Location", "Retry-After", "trace-id"} <= exposed
    assert "Origin" in response.headers["vary"]
    client.cookies.clear()
    refused = await client.get("/api/v1/users/me", headers={"Origin": APP_ORIGIN})
    assert refused.status_code == 401  # errors too: the page can read the envelope
    assert refused.headers["access-control-allow-origin"] == APP_ORIGIN


async def test_responses_to_another_origin_carry_no_cors_header(
    client: httpx.AsyncClient,
) -> None:
    await log_in(client)
    for origin in (EVIL, "null"):
        response = await client.get("/api/v1/users/me", headers={"Origin": origin})
        assert response.status_code == 200
        assert not [name for name in response.headers if name.startswith("access-control-")]
        assert "Origin" in response.headers["vary"]


# --- absolute links ---------------------------------------------------------------------


async def test_pagination_links_come_from_public_base_url_not_the_host_header(
    client: httpx.AsyncClient,
) -> None:
    await log_in(client, "boss")
    page = await client.get("/api/v1/users?limit=2", headers={"Host": "evil.example"})
    links = page.json()["links"]
    assert links["self"] == f"{PUBLIC}/api/v1/users?limit=2"
    assert links["next"].startswith(f"{PUBLIC}/api/v1/users?limit=2&cursor=")
    assert "evil.example" not in page.text


async def test_the_location_header_comes_from_public_base_url(client: httpx.AsyncClient) -> None:
    await log_in(client)
    response = await client.post("/api/v1/routes", json=BODY, headers={"Host": "evil.example"})
    request_id = response.json()["request_id"]
    assert response.headers["location"] == f"{PUBLIC}/api/v1/routes/{request_id}"


async def test_the_trailing_slash_redirect_comes_from_public_base_url(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/users/?limit=2", headers={"Host": "evil.example"})
    assert response.status_code in (307, 308)
    assert response.headers["location"] == f"{PUBLIC}/api/v1/users?limit=2"


# --- security headers -------------------------------------------------------------------

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "content-security-policy": "frame-ancestors 'none'",
    "referrer-policy": "strict-origin-when-cross-origin",
}


async def test_every_response_carries_the_security_headers(client: httpx.AsyncClient) -> None:
    await log_in(client)
    responses = [
        await client.get("/api/v1/users/me"),
        await client.get(f"/api/v1/routes/{uuid.uuid4()}"),  # 404 envelope
        await client.get("/no/such/path"),
        await client.get("/openapi.json"),
        await client.get("/health/live"),
        await client.post("/api/v1/routes", json=BODY, headers={"Origin": EVIL}),
    ]
    for response in responses:
        for name, value in SECURITY.items():
            assert response.headers.get(name) == value, (response.url, name)


async def test_api_responses_are_no_store_and_other_documents_keep_their_caching(
    client: httpx.AsyncClient,
) -> None:
    await log_in(client)
    for path in ("/api/v1/users/me", "/api/v1/interest-themes", f"/api/v1/routes/{uuid.uuid4()}"):
        assert (await client.get(path)).headers["cache-control"] == "no-store", path
    assert "cache-control" not in (await client.get("/openapi.json")).headers
    assert "cache-control" not in (await client.get("/health/live")).headers


# --- the submission answered without the router (DirectRoutes) --------------------------

KEY = "0b7a3c52-6f0e-4d55-9c1e-2f4f6a8b9c0d"
VARYING_HEADERS = {"trace-id", "location", "date", "set-cookie"}


def comparable(response: httpx.Response) -> tuple[int, list[tuple[str, str]], Any]:
    """Status, headers and body, with what differs per request (ids, trace ids) masked."""
    headers = sorted((k, v) for k, v in response.headers.items() if k not in VARYING_HEADERS)
    kept = [k for k in ("location", "trace-id") if k in response.headers]
    body = response.json() if response.content else None
    if isinstance(body, dict) and "data" in body:  # the listing: ids and times of its own
        headers = [(k, v) for k, v in headers if k != "content-length"]
        body = {**body, "data": len(body["data"])}
    elif isinstance(body, dict):
        body = {k: ("<id>" if k in ("request_id", "trace_id") else v) for k, v in body.items()}
    return response.status_code, [*headers, *((k, "<set>") for k in kept)], body


SUBMISSIONS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/api/v1/routes", {"json": BODY, "headers": {"Origin": APP_ORIGIN}}),
    ("POST", "/api/v1/routes", {"json": BODY, "headers": {"Idempotency-Key": KEY}}),
    ("POST", "/api/v1/routes", {"json": BODY, "headers": {"Idempotency-Key": KEY}}),
    (
        "POST",
        "/api/v1/routes",
        {"json": {**BODY, "duration_minutes": 61}, "headers": {"Idempotency-Key": KEY}},
    ),
    ("POST", "/api/v1/routes", {"json": BODY, "headers": {"Idempotency-Key": "not-a-uuid"}}),
    ("POST", "/api/v1/routes", {"json": {**BODY, "duration_minutes": 5}}),
    ("POST", "/api/v1/routes", {"json": [1, 2]}),
    ("POST", "/api/v1/routes", {"content": b"{nope", "headers": JSON}),
    ("POST", "/api/v1/routes", {"content": b"{}", "headers": {"Content-Type": "text/plain"}}),
    ("POST", "/api/v1/routes", {"content": b"x" * 20000, "headers": JSON}),
    ("POST", "/api/v1/routes", {"json": BODY, "headers": {"Origin": EVIL}}),
    ("POST", "/api/v1/routes/", {"json": BODY}),
    ("PUT", "/api/v1/routes", {"json": BODY}),
    ("GET", "/api/v1/routes", {}),
    ("POST", "/api/v1/routes", {"json": BODY, "headers": {"Authorization": "Bearer nope"}}),
]


async def test_the_direct_submission_answers_as_the_router_does() -> None:
    answers: dict[bool, list[Any]] = {}
    for direct in (True, False):
        transport = httpx.ASGITransport(app=browser_app(direct))
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as http:
            await log_in(http)
            answers[direct] = [
                comparable(await http.request(method, path, **options))
                for method, path, options in SUBMISSIONS
            ]
            http.cookies.clear()
            answers[direct].append(comparable(await http.post("/api/v1/routes", json=BODY)))
    assert answers[True] == answers[False]
    statuses = [status for status, _, _ in answers[True]]
    # Every case above reached a different answer of the endpoint (not one error for all).
    assert statuses == [
        202,
        202,
        202,
        409,
        400,
        400,
        400,
        400,
        415,
        413,
        403,
        307,
        405,
        200,
        401,
        401,
    ], statuses
    replayed = answers[True][2][1]
    assert ("idempotent-replayed", "true") in replayed
    assert ("location", "<set>") in replayed
