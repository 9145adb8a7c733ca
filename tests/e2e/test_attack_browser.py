"""Attack suite, browser side: a foreign site abusing the victim's session cookie (CSRF,
login CSRF, cross-site WebSocket hijacking), CORS, hostile WebSocket frames and
`Host` header injection, against the running gateway process."""

from __future__ import annotations

import base64
import json
import os
import socket
import uuid
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect
from websockets.typing import Origin, Subprotocol

from tests.e2e import stack

pytestmark = pytest.mark.e2e

PUBLIC = "https://wildside.test"
APP = "https://app.wildside.test"
EVIL = "https://evil.example"
BODY = {"start": {"lat": 60.1699, "lng": 24.9384}, "duration_minutes": 60}
RAW_BODY = json.dumps(BODY).encode()


@pytest.fixture(scope="module")
def gateway(stack_env: dict[str, str]) -> Iterator[stack.Service]:
    env = {**stack_env, "PUBLIC_BASE_URL": PUBLIC, "ALLOWED_ORIGINS": f"{PUBLIC},{APP}"}
    with stack.running(stack.gateway(env)) as (service,):
        yield service


def url(gateway: stack.Service, path: str) -> str:
    return gateway.health_url.removesuffix("/health/ready") + path


def cookie(gateway: stack.Service, username: str = "demo") -> dict[str, str]:
    """The victim's ambient credential: the browser attaches it to any request."""
    return {"Cookie": f"session={stack.token(gateway, username)}"}


def assert_csrf_rejected(response: httpx.Response) -> None:
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "csrf_rejected"
    assert "set-cookie" not in response.headers


# --- CSRF -------------------------------------------------------------------------------


def test_a_foreign_form_post_with_the_cookie_submits_nothing(gateway: stack.Service) -> None:
    # What a <form> or fetch(no-cors) on evil.example sends: cookie, Origin, no JSON type.
    headers = {**cookie(gateway), "Origin": EVIL}
    assert_csrf_rejected(
        httpx.post(url(gateway, "/api/v1/routes"), content=RAW_BODY, headers=headers)
    )
    text = {**headers, "Content-Type": "text/plain"}
    assert_csrf_rejected(httpx.post(url(gateway, "/api/v1/routes"), content=RAW_BODY, headers=text))


def test_a_cross_origin_logout_is_refused(gateway: stack.Service) -> None:
    headers = {**cookie(gateway), "Origin": EVIL, "Content-Type": "text/plain"}
    assert_csrf_rejected(httpx.post(url(gateway, "/api/v1/logout"), content=b"x", headers=headers))


@pytest.mark.parametrize(
    "origin_headers",
    [{"Origin": "null"}, {"Referer": f"{EVIL}/attack.html"}, {"Origin": f"{PUBLIC}.evil.example"}],
)
def test_sandboxed_and_referer_only_forgeries_are_refused(
    gateway: stack.Service, origin_headers: dict[str, str]
) -> None:
    headers = {**cookie(gateway), **origin_headers}
    assert_csrf_rejected(httpx.post(url(gateway, "/api/v1/routes"), json=BODY, headers=headers))
    interests = {"interest_theme_ids": ["history"], "expected_revision": None}
    put = httpx.put(url(gateway, "/api/v1/users/me/interests"), json=interests, headers=headers)
    assert_csrf_rejected(put)


def test_login_csrf_is_refused(gateway: stack.Service) -> None:
    # A foreign page logging the victim in as the attacker, to read what they do later.
    credentials = {"username": "demo", "password": "wildside-demo"}
    response = httpx.post(url(gateway, "/api/v1/login"), json=credentials, headers={"Origin": EVIL})
    assert_csrf_rejected(response)


def test_allowed_origins_non_browsers_and_bearer_pass(gateway: stack.Service) -> None:
    for headers in (
        {**cookie(gateway), "Origin": APP},
        cookie(gateway),  # neither Origin nor Referer: a non-browser client
        {**stack.auth(gateway), "Origin": EVIL},  # Bearer: nothing ambient to abuse
    ):
        response = httpx.post(url(gateway, "/api/v1/routes"), json=BODY, headers=headers)
        assert response.status_code == 202, (headers.keys(), response.text)


def test_a_body_that_is_not_json_is_415(gateway: stack.Service) -> None:
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = dict(stack.auth(gateway))
        if content_type:
            headers["Content-Type"] = content_type
        response = httpx.post(url(gateway, "/api/v1/routes"), content=RAW_BODY, headers=headers)
        assert response.status_code == 415, response.text
        assert response.json()["code"] == "invalid_request"


# --- CORS -------------------------------------------------------------------------------


def test_preflight_answers_allowed_origins_only(gateway: stack.Service) -> None:
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = httpx.options(url(gateway, "/api/v1/routes"), headers={**ask, "Origin": APP})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == APP
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "POST" in allowed.headers["access-control-allow-methods"]
    names = {
        name.strip().lower() for name in allowed.headers["access-control-allow-headers"].split(",")
    }
    assert {"idempotency-key", "content-type", "authorization"} <= names
    evil = httpx.options(url(gateway, "/api/v1/routes"), headers={**ask, "Origin": EVIL})
    assert evil.status_code != 204
    assert not [name for name in evil.headers if name.startswith("access-control-")]
    read = httpx.get(url(gateway, "/api/v1/users/me"), headers={**cookie(gateway), "Origin": EVIL})
    assert "access-control-allow-origin" not in read.headers  # the page cannot read the profile


# --- WebSocket --------------------------------------------------------------------------


def raw_handshake(gateway: stack.Service, headers: dict[str, str]) -> tuple[str, str]:
    """The upgrade over a bare TCP socket: the status line and the body."""
    port = int(gateway.env["GATEWAY_PORT"])
    lines = [
        "GET /ws HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}",
        "Sec-WebSocket-Version: 13",
        *(f"{name}: {value}" for name, value in headers.items()),
    ]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        raw.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        received = b""
        while b"\r\n\r\n" not in received or not received.rstrip().endswith(b"}"):
            chunk = raw.recv(4096)
            if not chunk:
                break
            received += chunk
    head, _, body = received.decode().partition("\r\n\r\n")
    return head.split("\r\n")[0], body


def test_cross_site_websocket_hijacking_is_refused_before_the_upgrade(
    gateway: stack.Service,
) -> None:
    for origin in (EVIL, "null"):
        status, body = raw_handshake(gateway, {**cookie(gateway), "Origin": origin})
        assert status.startswith("HTTP/1.1 403"), status
        assert json.loads(body)["code"] == "csrf_rejected"
    with pytest.raises(InvalidStatus) as refused:
        ws_connect(
            url(gateway, "/ws").replace("http://", "ws://"),
            origin=Origin(EVIL),
            additional_headers=cookie(gateway),
            open_timeout=5,
        )
    assert refused.value.response.status_code == 403


def open_socket(gateway: stack.Service, username: str = "demo") -> ClientConnection:
    return ws_connect(
        url(gateway, "/ws").replace("http://", "ws://"),
        origin=Origin(APP),
        additional_headers=cookie(gateway, username),
        subprotocols=[Subprotocol("wildside.v1")],
        open_timeout=5,
    )


def exchange(socket: ClientConnection, frame: str | bytes) -> dict[str, object]:
    socket.send(frame)
    answer: dict[str, object] = json.loads(socket.recv(timeout=5))
    return answer


def test_binary_and_non_object_frames_get_an_error_and_the_socket_lives(
    gateway: stack.Service,
) -> None:
    with open_socket(gateway) as ws:
        for frame in (b"\x00\xffbinary", b'{"type":"ping"}', "[1,2]", '"subscribe"', "42", "{"):
            answer = exchange(ws, frame)
            assert answer["type"] == "error" and answer["code"] == "invalid_message", frame
        assert exchange(ws, '{"type":"ping"}') == {"type": "pong"}


def test_a_request_id_that_is_not_a_plain_uuid_gets_an_error_frame(
    gateway: stack.Service,
) -> None:
    one = uuid.UUID(int=7)
    with open_socket(gateway) as ws:
        for request_id in (f"{{{one}}}", f"urn:uuid:{one}", one.hex, "1' OR '1'='1"):
            answer = exchange(ws, json.dumps({"type": "subscribe", "request_id": request_id}))
            assert answer["code"] == "invalid_message", request_id
        assert exchange(ws, '{"type":"ping"}') == {"type": "pong"}


def test_probing_foreign_request_ids_is_struck_out(gateway: stack.Service) -> None:
    admin = stack.auth(gateway, "admin")
    submitted = httpx.post(url(gateway, "/api/v1/routes"), json=BODY, headers=admin, timeout=10)
    foreign = submitted.json()["request_id"]
    with open_socket(gateway, "demo") as ws:
        for _ in range(10):
            answer = exchange(ws, json.dumps({"type": "subscribe", "request_id": foreign}))
            assert answer["code"] == "not_found"
        ws.send(json.dumps({"type": "subscribe", "request_id": str(uuid.uuid4())}))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


# --- Host header injection, headers, metrics --------------------------------------------


def test_host_header_injection_reaches_no_link(gateway: stack.Service) -> None:
    evil_host = {"Host": "evil.example"}
    admin = {**stack.auth(gateway, "admin"), **evil_host}
    page = httpx.get(url(gateway, "/api/v1/users?limit=1"), headers=admin, timeout=5)
    assert page.status_code == 200
    assert page.json()["links"]["self"] == f"{PUBLIC}/api/v1/users?limit=1"
    assert page.json()["links"]["next"].startswith(f"{PUBLIC}/")
    slash = httpx.get(url(gateway, "/api/v1/users/?limit=1"), headers=admin, timeout=5)
    assert slash.status_code in (307, 308)
    assert slash.headers["location"] == f"{PUBLIC}/api/v1/users?limit=1"
    posted = httpx.post(url(gateway, "/api/v1/routes"), json=BODY, headers=admin, timeout=10)
    assert posted.headers["location"].startswith(f"{PUBLIC}/api/v1/routes/")


def test_security_headers_and_no_public_metrics(gateway: stack.Service) -> None:
    me = httpx.get(url(gateway, "/api/v1/users/me"), headers=cookie(gateway), timeout=5)
    assert me.headers["cache-control"] == "no-store"
    openapi = httpx.get(url(gateway, "/openapi.json"), timeout=5)
    assert "no-store" not in openapi.headers.get("cache-control", "")
    for response in (me, openapi):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert httpx.get(url(gateway, "/metrics"), timeout=5).status_code == 404
    assert "wildside_csrf_rejected_total" in httpx.get(gateway.metrics_url, timeout=5).text
