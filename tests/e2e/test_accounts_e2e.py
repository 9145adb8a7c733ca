"""Accounts through the running gateway: sign up (logged in at once), duplicates, weak and
common passwords, sign-up switched off, leaving (with the password, with a fresh session,
refused with an old one), what a deleted user's sessions and sockets get, and the export."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e import stack
from tests.e2e.test_attack_sessions import bearer, close_code, me, socket, started, within_a_second
from tests.e2e.test_walking_skeleton import BODY, base
from wildside_common.session_keys import load_keyring
from wildside_common.sessions import SessionCodec

pytestmark = pytest.mark.e2e
PASSWORD = "e2e accounts pass phrase"


@pytest.fixture(scope="module")
def stack_env(stack_env: dict[str, str]) -> dict[str, str]:
    # This module signs up more than the default 10 accounts an hour from 127.0.0.1.
    return {**stack_env, "SIGNUP_ATTEMPTS_PER_HOUR": "1000"}


def new_name() -> str:
    return f"e2e-{uuid.uuid4().hex[:12]}"


def sign_up(gateway: stack.Service, username: str | None = None) -> tuple[str, str, str]:
    """A new account: (username, user id, session token from the sign-up's cookie)."""
    username = username or new_name()
    body = {"username": username, "password": PASSWORD, "display_name": "E2E Walker"}
    response = httpx.post(f"{base(gateway)}/api/v1/users", json=body, timeout=10)
    assert response.status_code == 201, response.text
    return username, response.json()["id"], str(response.cookies["session"])


def old_token(stack_env: dict[str, str], user_id: str, minutes: float = 6) -> str:
    """A session of the user signed with the stack's key, issued `minutes` ago."""
    keyring = load_keyring(Path(stack_env["SESSION_KEYS_FILE"]))
    codec = SessionCodec(keyring, clock=lambda: datetime.now(UTC) - timedelta(minutes=minutes))
    return codec.issue(user_id, "user")[0]


def leave(gateway: stack.Service, token: str, password: str | None = None) -> httpx.Response:
    body = None if password is None else {"password": password}
    return httpx.request(
        "DELETE", f"{base(gateway)}/api/v1/users/me", headers=bearer(token), json=body, timeout=10
    )


def log_in(gateway: stack.Service, username: str) -> httpx.Response:
    body = {"username": username, "password": PASSWORD}
    return httpx.post(f"{base(gateway)}/api/v1/login", json=body, timeout=10)


def test_sign_up_logs_the_user_in_and_they_can_log_in_again(gateway) -> None:
    username = new_name()
    with httpx.Client(base_url=base(gateway), timeout=10) as client:
        body = {"username": username, "password": PASSWORD, "display_name": "E2E Walker"}
        created = client.post("/api/v1/users", json=body)
        assert created.status_code == 201, created.text
        cookie = created.headers["set-cookie"]
        assert "HttpOnly" in cookie and "Max-Age=7200" in cookie and "Path=/" in cookie
        profile = client.get("/api/v1/users/me")  # with the sign-up's cookie
        assert profile.status_code == 200 and profile.json() == created.json()
        assert profile.json()["username"] == username and profile.json()["role"] == "user"
    again = log_in(gateway, username.upper())
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]


def test_a_taken_username_is_409_in_any_case(gateway) -> None:
    username, _, _ = sign_up(gateway)
    for taken in (username, username.upper(), "DEMO"):
        body = {"username": taken, "password": PASSWORD, "display_name": "Copy"}
        response = httpx.post(f"{base(gateway)}/api/v1/users", json=body, timeout=10)
        assert response.status_code == 409, taken
        assert response.json()["code"] == "username_taken"
        assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("password", "reason"),
    [("short", "too_short"), ("x" * 129, "too_long"), ("password1234", "common")],
)
def test_weak_and_common_passwords_are_400_with_their_reason(
    gateway, password: str, reason: str
) -> None:
    username = new_name()
    body = {"username": username, "password": password, "display_name": "Weak"}
    response = httpx.post(f"{base(gateway)}/api/v1/users", json=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["code"] == "weak_password"
    assert response.json()["details"] == {"field": "password", "reason": reason}
    assert log_in(gateway, username).status_code == 401


def test_the_username_as_password_is_refused(gateway) -> None:
    username = new_name()
    body = {"username": username, "password": username.upper(), "display_name": "Same"}
    response = httpx.post(f"{base(gateway)}/api/v1/users", json=body, timeout=10)
    assert response.status_code == 400
    assert response.json()["details"]["reason"] == "matches_username"


def test_with_sign_up_switched_off_it_is_403_and_logins_still_work(stack_env) -> None:
    service = started(stack.gateway({**stack_env, "SIGNUP_ENABLED": "false"}))
    try:
        body = {"username": new_name(), "password": PASSWORD, "display_name": "Nobody"}
        response = httpx.post(f"{base(service)}/api/v1/users", json=body, timeout=10)
        assert response.status_code == 403
        assert response.json()["code"] == "signup_disabled"
        assert stack.login(service, "demo", "wildside-demo")  # the dev account still works
    finally:
        service.stop()


def test_leaving_with_the_password_ends_every_session_and_socket(gateway, stack_env) -> None:
    username, user_id, signed_up = sign_up(gateway)
    other = log_in(gateway, username).cookies["session"]  # another device
    old = old_token(stack_env, user_id)
    with socket(gateway, other) as open_socket:
        open_socket.send('{"type": "ping"}')
        assert open_socket.recv(timeout=5) == '{"type":"pong"}'
        wrong = leave(gateway, old, "not the password")
        assert wrong.status_code == 403 and wrong.json()["code"] == "wrong_password"
        assert me(gateway, old) == 200
        response = leave(gateway, old, PASSWORD)
        assert response.status_code == 204, response.text
        ended = time.monotonic()
        for token in (signed_up, other, old):
            within_a_second(lambda t=token: me(gateway, t) == 401, ended)  # type: ignore[misc]
        assert close_code(open_socket, 1.0) == 4401
    assert log_in(gateway, username).status_code == 401


def test_a_fresh_session_leaves_without_the_password(gateway) -> None:
    username, _, token = sign_up(gateway)
    response = leave(gateway, token)
    assert response.status_code == 204, response.text
    assert me(gateway, token) == 401
    assert log_in(gateway, username).status_code == 401


def test_an_old_session_without_the_password_is_refused(gateway, stack_env) -> None:
    username, user_id, _ = sign_up(gateway)
    old = old_token(stack_env, user_id)
    for _ in range(2):
        response = leave(gateway, old)
        assert response.status_code == 403
        assert response.json()["code"] == "reauthentication_required"
    assert me(gateway, old) == 200 and log_in(gateway, username).status_code == 200


def test_the_export_holds_my_data_and_not_another_users(gateway) -> None:
    _, mine_id, mine = sign_up(gateway)
    _, _, theirs = sign_up(gateway)
    url = f"{base(gateway)}/api/v1"
    interests = {"interest_theme_ids": ["art", "history"], "expected_revision": 0}
    assert httpx.put(f"{url}/users/me/interests", json=interests, headers=bearer(mine)).is_success
    requested = {}
    for token in (mine, theirs):
        posted = httpx.post(f"{url}/routes", json=BODY, headers=bearer(token), timeout=10)
        assert posted.status_code == 202, posted.text
        requested[token] = posted.json()["request_id"]
    export = httpx.get(f"{url}/users/me/export", headers=bearer(mine), timeout=10)
    assert export.status_code == 200
    document = export.json()
    assert document["profile"]["id"] == mine_id
    assert document["profile"]["interest_theme_ids"] == ["art", "history"]
    assert [request["id"] for request in document["route_requests"]] == [requested[mine]]
    assert document["route_requests"][0]["request"]["duration_minutes"] == BODY["duration_minutes"]
    assert requested[theirs] not in export.text
    assert leave(gateway, mine).status_code == 204
    assert httpx.get(f"{url}/users/me/export", headers=bearer(mine), timeout=10).status_code == 401
    theirs_now = httpx.get(f"{url}/routes/{requested[theirs]}", headers=bearer(theirs), timeout=10)
    assert theirs_now.status_code in (200, 202)  # another user's data is untouched (no 404)
