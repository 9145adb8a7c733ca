"""Sessions across the real processes: login, every endpoint's guard, /ws, tiles-auth."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import base
from wildside_gateway.asyncapi import bundle, render

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def tiles(stack_env: dict[str, str]) -> Iterator[stack.Service]:
    for attempt in range(3):  # a free port can be taken before the service binds it
        service = stack.tiles_auth(stack_env)
        service.start()
        try:
            service.wait_ready()
            break
        except (RuntimeError, TimeoutError):
            service.stop()
            if attempt == 2:
                raise
    yield service
    service.stop()


def test_login_sets_the_session_cookie_and_wrong_passwords_get_none(gateway) -> None:
    url = f"{base(gateway)}/api/v1/login"
    response = httpx.post(url, json={"username": "demo", "password": "wildside-demo"}, timeout=10)
    assert response.status_code == 200
    assert response.json()["username"] == "demo"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Max-Age=7200" in cookie and "Path=/" in cookie
    wrong = httpx.post(url, json={"username": "demo", "password": "nope-nope"}, timeout=10)
    assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
    assert wrong.json()["trace_id"] == wrong.headers["trace-id"]


def test_the_served_openapi_document_is_the_checked_in_one(gateway) -> None:
    served = httpx.get(f"{base(gateway)}/openapi.json", timeout=5).json()
    assert served == json.loads((ROOT / "schemas" / "openapi.json").read_text())


def test_the_served_asyncapi_document_is_the_checked_in_one(gateway) -> None:
    """schemas/asyncapi.yaml, as JSON with its schema files bundled in."""
    served = httpx.get(f"{base(gateway)}/asyncapi.json", timeout=5).json()
    assert served == json.loads(render(bundle(ROOT / "schemas")))


def test_every_api_endpoint_but_login_and_sign_up_answers_401_without_a_session(gateway) -> None:
    document = httpx.get(f"{base(gateway)}/openapi.json", timeout=5).json()
    checked = 0
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1/") or path == "/api/v1/login":
            continue
        for method in operations:
            if (method, path) == ("post", "/api/v1/users"):  # sign-up: the account to be
                assert operations[method]["security"] == []  # (test_accounts_e2e.py)
                continue
            url = base(gateway) + path.replace("{request_id}", str(uuid.uuid4()))
            for headers in ({}, {"Authorization": "Bearer not.a.token"}):
                response = httpx.request(method, url, headers=headers, json={}, timeout=5)
                assert response.status_code == 401, (method, path, response.text)
                assert response.json()["code"] == "unauthorized"
                assert response.json()["trace_id"] == response.headers["trace-id"] != ""
                assert "401" in operations[method]["responses"], (method, path)
            checked += 1
    assert checked >= 10


def test_admin_listings_need_an_admin(gateway) -> None:
    url = f"{base(gateway)}/api/v1/users?limit=1"
    assert httpx.get(url, headers=stack.auth(gateway), timeout=5).status_code == 403
    page = httpx.get(url, headers=stack.auth(gateway, "admin"), timeout=5)
    assert page.status_code == 200 and len(page.json()["data"]) == 1
    assert page.json()["links"]["self"].startswith(base(gateway))


def test_the_websocket_needs_a_session_and_never_reads_the_query(gateway) -> None:
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    v1, garbage = Subprotocol("wildside.v1"), Subprotocol("bearer.garbage")
    for url, protocols in (
        (ws_url, [v1]),
        (ws_url, [v1, garbage]),
        (f"{ws_url}?token={stack.token(gateway)}", [v1]),
        (f"{ws_url}?session={stack.token(gateway)}", [v1]),
    ):
        with pytest.raises(InvalidStatus), ws_connect(url, subprotocols=protocols, open_timeout=5):
            pass
    with ws_connect(ws_url, subprotocols=stack.ws_protocols(gateway), open_timeout=5) as socket:
        assert socket.subprotocol == "wildside.v1"
        socket.send(json.dumps({"type": "ping"}))
        assert json.loads(socket.recv(timeout=5)) == {"type": "pong"}


def test_logout_clears_the_cookie(gateway) -> None:
    with httpx.Client(base_url=base(gateway), timeout=10) as client:
        client.post("/api/v1/login", json={"username": "demo", "password": "wildside-demo"})
        assert client.get("/api/v1/users/me").status_code == 200
        response = client.post("/api/v1/logout")
        assert response.status_code == 204 and "Max-Age=0" in response.headers["set-cookie"]
        assert client.get("/api/v1/users/me").status_code == 401


def test_tiles_auth_accepts_the_gateways_sessions(gateway, tiles) -> None:
    from tests.e2e.test_walking_skeleton import BODY

    url = f"{base(tiles)}/auth"
    token = stack.token(gateway)
    posted = httpx.post(
        f"{base(gateway)}/api/v1/routes", json=BODY, headers=stack.auth(gateway), timeout=10
    )
    own = f"/tiles/get_route_tile?request_id={posted.json()['request_id']}"  # a URI it allows
    by_cookie = httpx.get(url, headers={"Cookie": f"session={token}", "X-Forwarded-Uri": own})
    by_bearer = httpx.get(url, headers={"Authorization": f"Bearer {token}", "X-Forwarded-Uri": own})
    me = httpx.get(f"{base(gateway)}/api/v1/users/me", headers=stack.auth(gateway), timeout=5)
    for response in (by_cookie, by_bearer):
        assert response.status_code == 200
        assert response.headers["x-wildside-user"] == me.json()["id"]
    for headers in ({}, {"Authorization": "Bearer " + token[:-4] + "AAAA"}):
        denied = httpx.get(url, headers=headers, timeout=5)
        assert denied.status_code == 401 and denied.json()["code"] == "unauthorized"


def test_route_tiles_are_for_the_routes_owner_and_martins_function_draws_them(
    gateway, router, tiles, stack_env
) -> None:
    import asyncio
    import math

    import asyncpg

    from tests.e2e.test_walking_skeleton import BODY

    posted = httpx.post(
        f"{base(gateway)}/api/v1/routes",
        json={**BODY, "seed": 777},
        headers=stack.auth(gateway),
        timeout=10,
    )
    assert posted.status_code == 202
    request_id = posted.json()["request_id"]
    for _ in range(300):
        state = httpx.get(
            f"{base(gateway)}/api/v1/routes/{request_id}", headers=stack.auth(gateway), timeout=5
        )
        if state.status_code == 200:
            break
    assert state.json()["status"] == "succeeded", state.text
    uri = f"/tiles/get_route_tile/13/4663/2366?request_id={request_id}"
    url = f"{base(tiles)}/auth"

    def ask(username: str) -> httpx.Response:
        headers = {"Authorization": f"Bearer {stack.token(gateway, username)}"}
        return httpx.get(url, headers={**headers, "X-Forwarded-Uri": uri}, timeout=5)

    assert ask("demo").status_code == 200
    assert ask("admin").status_code == 200  # admins may look at any route
    unknown = uri.replace(request_id, str(uuid.uuid4()))
    headers = {"Authorization": f"Bearer {stack.token(gateway)}", "X-Forwarded-Uri": unknown}
    assert httpx.get(url, headers=headers, timeout=5).status_code == 404

    start = BODY["start"]
    n = 2**13
    x = int((start["lng"] + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(start["lat"]))) / math.pi) / 2 * n)

    async def tile() -> bytes:
        conn = await asyncpg.connect(stack_env["DATABASE_URL"])
        try:
            params = json.dumps({"request_id": request_id})
            return bytes(
                await conn.fetchval("SELECT get_route_tile(13, $1, $2, $3::json)", x, y, params)
            )
        finally:
            await conn.close()

    drawn = asyncio.run(tile())
    assert b"stops" in drawn and b"Start" in drawn  # the stops layer, with the start
    if state.json()["route"].get("distance_m", 0) > 0:  # this test database may be empty
        assert b"route" in drawn  # the line layer (its geometry: the contract tests)
