"""Attack suite: sessions that must end, and password guessing, against the running
gateway (two replicas), tiles-auth and `wildside-manage`, as an attacker would try them.

- A token stolen before its owner logged out is replayed on HTTP (on the other gateway
  replica), on an open WebSocket, on a new WebSocket and on tiles-auth: refused within
  one second everywhere.
- `wildside-manage revoke-sessions` and a role change end every session of a user.
- Password guessing: 429 `too_many_attempts` with Retry-After after 5 failures, for a
  username that does not exist too, without running argon2 (the gateway's CPU time);
  a success resets; forged X-Forwarded-For headers do not dodge the address limit.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect
from websockets.typing import Subprotocol

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import base
from wildside_common.testing.servers import unique_prefix

pytestmark = pytest.mark.e2e
PASSWORD = "attack-suite-password"


def started(service: stack.Service) -> stack.Service:
    for attempt in range(3):  # a free port can be taken before the service binds it
        try:
            service.start()
            service.wait_ready()
            return service
        except (RuntimeError, TimeoutError):
            service.stop()
            if attempt == 2:
                raise
            service = stack.Service(service.name, service.command, service.env, service.health_url)
    raise AssertionError("unreachable")


@pytest.fixture(scope="module")
def replica(stack_env: dict[str, str]) -> Iterator[stack.Service]:
    """A second gateway on the same Redis: what one replica ends, the other refuses."""
    service = started(stack.gateway(stack_env))
    yield service
    service.stop()


@pytest.fixture(scope="module")
def tiles(stack_env: dict[str, str]) -> Iterator[stack.Service]:
    service = started(stack.tiles_auth(stack_env))
    yield service
    service.stop()


def manage(env: dict[str, str], *args: str, stdin: str = "") -> str:
    done = subprocess.run(
        [str(stack.BIN / "wildside-manage"), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def new_user(env: dict[str, str], admin: bool = False) -> str:
    name = f"atk-{uuid.uuid4().hex[:10]}"
    flags = ["--admin"] if admin else []
    manage(env, "create-user", name, *flags, "--password-stdin", stdin=PASSWORD + "\n")
    return name


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def me(gateway: stack.Service, token: str) -> int:
    return httpx.get(
        f"{base(gateway)}/api/v1/users/me", headers=bearer(token), timeout=5
    ).status_code


def tile(tiles: stack.Service, token: str) -> int:
    # No X-Forwarded-Uri: which tiles exist is not this suite's subject, the session is.
    return httpx.get(f"{base(tiles)}/auth", headers=bearer(token), timeout=5).status_code


def socket(gateway: stack.Service, token: str) -> ClientConnection:
    url = base(gateway).replace("http://", "ws://") + "/ws"
    offer = [Subprotocol("wildside.v1"), Subprotocol(f"bearer.{token}")]
    return ws_connect(url, subprotocols=offer, open_timeout=5)


def within_a_second(refused: Callable[[], bool], since: float) -> float:
    """Seconds from `since` until `refused()` holds; fails past one second."""
    while not refused():
        assert time.monotonic() - since < 1.0, "still accepted one second later"
        time.sleep(0.02)
    return time.monotonic() - since


def close_code(ws: ClientConnection, limit: float) -> int | None:
    try:
        while True:
            ws.recv(timeout=limit)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None


def test_a_token_replayed_after_logout_is_refused_everywhere_within_a_second(
    gateway, replica, tiles, stack_env
) -> None:
    name = new_user(stack_env)
    stolen = stack.login(gateway, name, PASSWORD)
    other = stack.login(gateway, name, PASSWORD)  # the user's other device
    assert me(replica, stolen) == 200 and tile(tiles, stolen) != 401
    with socket(replica, stolen) as open_socket:
        open_socket.send('{"type": "ping"}')
        assert open_socket.recv(timeout=5) == '{"type":"pong"}'
        logout = httpx.post(f"{base(gateway)}/api/v1/logout", headers=bearer(stolen), timeout=5)
        assert logout.status_code == 204
        ended = time.monotonic()
        assert me(gateway, stolen) == 401  # the replica that ended it: at once
        within_a_second(lambda: me(replica, stolen) == 401, ended)
        within_a_second(lambda: tile(tiles, stolen) == 401, ended)
        assert close_code(open_socket, 1.0) == 4401
        assert time.monotonic() - ended < 1.5  # the socket: within about a second
    with pytest.raises(InvalidStatus) as refused, socket(replica, stolen):
        pass
    assert refused.value.response.status_code in (401, 403)
    assert me(replica, other) == 200 and tile(tiles, other) != 401  # only that session


def test_revoke_sessions_from_the_cli_ends_every_session_of_the_user(
    gateway, replica, tiles, stack_env
) -> None:
    name = new_user(stack_env)
    tokens = [stack.login(gateway, name, PASSWORD) for _ in range(2)]
    bystander = stack.login(gateway, new_user(stack_env), PASSWORD)
    with socket(replica, tokens[0]) as open_socket:
        assert "revoked" in manage(stack_env, "revoke-sessions", name)
        ended = time.monotonic()
        for token in tokens:
            within_a_second(lambda t=token: me(gateway, t) == 401, ended)  # type: ignore[misc]
            within_a_second(lambda t=token: me(replica, t) == 401, ended)  # type: ignore[misc]
            within_a_second(lambda t=token: tile(tiles, t) == 401, ended)  # type: ignore[misc]
        assert close_code(open_socket, 1.0) == 4401
    assert me(replica, bystander) == 200
    assert me(replica, stack.login(gateway, name, PASSWORD)) == 200  # logging in again works


def test_a_demoted_admin_loses_admin_rights_on_the_next_request(gateway, stack_env) -> None:
    name = new_user(stack_env, admin=True)
    token = stack.login(gateway, name, PASSWORD)
    listing = f"{base(gateway)}/api/v1/users?limit=1"
    assert httpx.get(listing, headers=bearer(token), timeout=5).status_code == 200
    manage(stack_env, "revoke-admin", name)
    ended = time.monotonic()
    within_a_second(
        lambda: httpx.get(listing, headers=bearer(token), timeout=5).status_code == 401, ended
    )
    again = stack.login(gateway, name, PASSWORD)
    assert httpx.get(listing, headers=bearer(again), timeout=5).status_code == 403


def cpu_seconds(service: stack.Service) -> float:
    assert service.process is not None
    fields = Path(f"/proc/{service.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def guesses(gateway: stack.Service, username: str, count: int) -> list[httpx.Response]:
    body = {"username": username, "password": "not-the-password"}
    url = f"{base(gateway)}/api/v1/login"
    return [httpx.post(url, json=body, timeout=10) for _ in range(count)]


@pytest.mark.parametrize("existing", [True, False], ids=["known-user", "unknown-user"])
def test_password_guessing_is_stopped_after_five_failures_before_argon2_runs(
    gateway, stack_env, existing: bool
) -> None:
    name = new_user(stack_env) if existing else f"nobody-{uuid.uuid4().hex[:10]}"
    before = cpu_seconds(gateway)
    failures = guesses(gateway, name, 5)
    middle = cpu_seconds(gateway)
    refused = guesses(gateway, name.upper(), 20)  # the same username to the database
    after = cpu_seconds(gateway)
    assert [r.status_code for r in failures] == [401] * 5
    assert {r.status_code for r in refused} == {429}
    for response in refused:
        assert response.json()["code"] == "too_many_attempts"
        assert 1 <= int(response.headers["retry-after"]) <= 900
        assert "set-cookie" not in response.headers
    per_failure, per_refusal = (middle - before) / 5, (after - middle) / 20
    assert per_failure > 0.05, "argon2 (about 0.1 s of CPU) should run on a failure"
    assert per_refusal < per_failure / 10, (per_failure, per_refusal)
    right = httpx.post(
        f"{base(gateway)}/api/v1/login", json={"username": name, "password": PASSWORD}, timeout=10
    )
    assert right.status_code == 429  # locked out: even the right password waits


def test_a_successful_login_resets_the_usernames_count(gateway, stack_env) -> None:
    name = new_user(stack_env)
    assert [r.status_code for r in guesses(gateway, name, 4)] == [401] * 4
    stack.login(gateway, name, PASSWORD)
    assert [r.status_code for r in guesses(gateway, name, 6)] == [401] * 5 + [429]


def test_forged_forwarding_headers_do_not_dodge_the_address_limit(stack_env) -> None:
    # Its own Redis prefix: this gateway's address count starts at zero.
    env = {**stack_env, "REDIS_PREFIX": unique_prefix(), "LOGIN_ADDRESS_ATTEMPTS_PER_MINUTE": "4"}
    strict = started(stack.gateway(env))
    try:
        url = f"{base(strict)}/api/v1/login"
        statuses = []
        for index in range(6):  # a new username and a new "client" every time
            body = {"username": f"spray-{index}-{uuid.uuid4().hex[:6]}", "password": "guess-1"}
            headers = {"X-Forwarded-For": f"203.0.113.{index}", "X-Real-IP": f"203.0.113.{index}"}
            statuses.append(httpx.post(url, json=body, headers=headers, timeout=10).status_code)
        last = httpx.post(url, json={"username": "x", "password": "y"}, timeout=10)
    finally:
        strict.stop()
    assert statuses == [401] * 4 + [429] * 2
    assert last.json()["details"] == {"limit": "address"}


def test_behind_a_trusted_proxy_clients_are_told_apart(stack_env) -> None:
    env = {
        **stack_env,
        "REDIS_PREFIX": unique_prefix(),
        "LOGIN_ADDRESS_ATTEMPTS_PER_MINUTE": "2",
        "TRUSTED_PROXIES": "127.0.0.1",
    }
    proxied = started(stack.gateway(env))
    try:
        url = f"{base(proxied)}/api/v1/login"

        def attempt(client: str) -> int:
            body = {"username": f"u-{uuid.uuid4().hex[:8]}", "password": "guess-2"}
            headers = {"X-Forwarded-For": client}
            return httpx.post(url, json=body, headers=headers, timeout=10).status_code

        first = [attempt("198.51.100.7") for _ in range(3)]
        # What the client wrote itself is left of what the proxy appended: not believed.
        forged = attempt("1.2.3.4, 198.51.100.7")
        second = attempt("198.51.100.8")
    finally:
        proxied.stop()
    assert first == [401, 401, 429] and forged == 429 and second == 401
