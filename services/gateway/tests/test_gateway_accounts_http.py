"""Sign-up, leaving and the export over HTTP, built through `wire_identity` with fakes
behind the gateway's middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
from gateway_identity_fakes import (
    BASE_URL,
    COMMON_PASSWORDS,
    KEY,
    FakePasswords,
    FakeSection,
    FakeSignupThrottle,
    FakeUsers,
    identity_app,
    identity_settings,
)
from prometheus_client import REGISTRY

from wildside_common.errors import Unavailable
from wildside_common.sessions import Keyring, SessionCodec
from wildside_common.testing.analytics import RecordingAnalytics
from wildside_common.testing.revocations import MemoryRevocations
from wildside_gateway.identity.app import AccountService
from wildside_gateway.shared.domain.principal import Role

pytestmark = pytest.mark.unit
NEW = {"username": "New-Walker", "password": "a long enough secret", "display_name": "Newbie"}


@pytest.fixture
def users() -> FakeUsers:
    fake = FakeUsers()
    fake.add("walker", "right-password")
    fake.add("boss", "boss-password", Role.ADMIN)
    return fake


@pytest.fixture
async def client(users: FakeUsers) -> AsyncIterator[httpx.AsyncClient]:
    test_client, _ = identity_app(users)
    async with test_client:
        yield test_client


def old_token(user_id: str, role: str = "user", age: timedelta = timedelta(minutes=6)) -> str:
    """A valid session of the user, issued `age` ago (the test keyring's key)."""
    codec = SessionCodec(Keyring((KEY,)), clock=lambda: datetime.now(UTC) - age)
    return codec.issue(user_id, role)[0]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signups(outcome: str) -> float:
    return REGISTRY.get_sample_value("wildside_signups_total", {"outcome": outcome}) or 0.0


def deletions(outcome: str) -> float:
    labels = {"outcome": outcome}
    return REGISTRY.get_sample_value("wildside_account_deletions_total", labels) or 0.0


async def test_sign_up_creates_the_user_and_logs_them_in_as_login_does(users: FakeUsers) -> None:
    analytics = RecordingAnalytics()
    client, _ = identity_app(users, analytics=analytics)
    created_before = signups("created")
    response = await client.post("/api/v1/users", json=NEW)
    assert response.status_code == 201, response.text
    profile = response.json()
    assert profile["username"] == "New-Walker" and profile["display_name"] == "Newbie"
    assert profile["role"] == "user" and profile["interest_theme_ids"] == []
    assert response.headers["location"] == f"{BASE_URL}/api/v1/users/me"
    cookie = response.headers["set-cookie"]
    for attribute in ("session=", "HttpOnly", "Max-Age=7200", "Path=/", "SameSite=lax"):
        assert attribute in cookie
    me = await client.get("/api/v1/users/me")  # the cookie the sign-up set
    assert me.status_code == 200 and me.json() == profile
    stored = await users.credentials("new-walker")
    assert stored is not None and stored.password_hash == "hash:a long enough secret"
    events = analytics.named("UserSignup")
    assert [(e.user_id, e.role, e.source) for e in events] == [(profile["id"], "user", "signup")]  # type: ignore[attr-defined]
    assert signups("created") == created_before + 1
    client.cookies.clear()
    login = await client.post(
        "/api/v1/login", json={"username": "new-walker", "password": NEW["password"]}
    )
    assert login.status_code == 200 and login.json()["id"] == profile["id"]


@pytest.mark.parametrize("name", ["walker", "WALKER", "Walker"])
async def test_a_taken_username_in_any_case_is_409_without_a_cookie(
    client: httpx.AsyncClient, name: str
) -> None:
    response = await client.post("/api/v1/users", json={**NEW, "username": name})
    assert response.status_code == 409
    assert response.json()["code"] == "username_taken"
    assert response.json()["details"] == {"field": "username"}
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "too_short"),
        ("y" * 129, "too_long"),
        ("new-walker", "matches_username"),
        ("NEW-WALKER", "matches_username"),
        ("1234567890", "common"),
        ("Qwertyuiop", "common"),
    ],
)
async def test_weak_and_common_passwords_are_400_weak_password(
    client: httpx.AsyncClient, users: FakeUsers, password: str, reason: str
) -> None:
    response = await client.post("/api/v1/users", json={**NEW, "password": password})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "weak_password"
    assert body["details"] == {"field": "password", "reason": reason}
    assert await users.credentials("new-walker") is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"username": "ab"}, "username"),
        ({"username": "x" * 33}, "username"),
        ({"username": "new walker"}, "username"),
        ({"display_name": ""}, "display_name"),
        ({"role": "admin"}, "role"),
    ],
)
async def test_bad_sign_up_fields_are_400_naming_them(
    client: httpx.AsyncClient, change: dict[str, str], field: str
) -> None:
    response = await client.post("/api/v1/users", json={**NEW, **change})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json()["details"]["field"] == field


async def test_sign_up_switched_off_is_403_signup_disabled(users: FakeUsers) -> None:
    client, _ = identity_app(users, replace(identity_settings(), signup_enabled=False))
    response = await client.post("/api/v1/users", json=NEW)
    assert response.status_code == 403 and response.json()["code"] == "signup_disabled"
    assert await users.credentials("new-walker") is None
    login = await client.post(
        "/api/v1/login", json={"username": "walker", "password": "right-password"}
    )
    assert login.status_code == 200  # existing accounts are not affected


async def test_sign_ups_per_address_are_limited_and_bad_bodies_do_not_count(
    users: FakeUsers,
) -> None:
    client, _ = identity_app(users, signup_throttle=FakeSignupThrottle(attempts=2))
    for _ in range(3):
        assert (
            await client.post("/api/v1/users", json={**NEW, "password": "x"})
        ).status_code == 400
    first = await client.post("/api/v1/users", json={**NEW, "username": "first"})
    taken = await client.post("/api/v1/users", json={**NEW, "username": "first"})
    refused = await client.post("/api/v1/users", json={**NEW, "username": "third"})
    assert (first.status_code, taken.status_code, refused.status_code) == (201, 409, 429)
    assert refused.json()["code"] == "too_many_attempts"
    assert refused.json()["details"] == {"limit": "signup"}
    assert int(refused.headers["retry-after"]) > 0
    assert await users.credentials("third") is None


async def test_a_cross_site_sign_up_is_refused(client: httpx.AsyncClient, users: FakeUsers) -> None:
    response = await client.post(
        "/api/v1/users", json=NEW, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403 and response.json()["code"] == "csrf_rejected"
    assert await users.credentials("new-walker") is None


async def sign_up(client: httpx.AsyncClient, username: str = "New-Walker") -> str:
    response = await client.post("/api/v1/users", json={**NEW, "username": username})
    assert response.status_code == 201, response.text
    return str(response.cookies["session"])


async def test_leaving_with_the_password_deletes_everything_and_ends_every_session(
    client: httpx.AsyncClient, users: FakeUsers
) -> None:
    walker = (await users.credentials("walker")).user_id  # type: ignore[union-attr]
    old = old_token(walker)
    login = await client.post(
        "/api/v1/login", json={"username": "walker", "password": "right-password"}
    )
    other_session = login.cookies["session"]
    client.cookies.clear()
    deleted_before = deletions("deleted")
    response = await client.request(
        "DELETE", "/api/v1/users/me", headers=bearer(old), json={"password": "right-password"}
    )
    assert response.status_code == 204, response.text
    assert deletions("deleted") == deleted_before + 1
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert walker not in users.rows
    for token in (old, other_session):
        assert (await client.get("/api/v1/users/me", headers=bearer(token))).status_code == 401
    again = await client.post(
        "/api/v1/login", json={"username": "walker", "password": "right-password"}
    )
    assert again.status_code == 401


async def test_a_fresh_session_may_leave_without_the_password(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    response = await client.delete("/api/v1/users/me")  # the sign-up's cookie, no body
    assert response.status_code == 204, response.text
    assert (await client.get("/api/v1/users/me")).status_code == 401


async def test_an_old_session_without_the_password_is_refused(
    client: httpx.AsyncClient, users: FakeUsers
) -> None:
    walker = (await users.credentials("walker")).user_id  # type: ignore[union-attr]
    token = old_token(walker)
    for body in (None, {}):
        response = await client.request(
            "DELETE", "/api/v1/users/me", headers=bearer(token), json=body
        )
        assert response.status_code == 403
        assert response.json()["code"] == "reauthentication_required"
    assert walker in users.rows
    fresh = old_token(walker, age=timedelta(minutes=4))
    assert (await client.delete("/api/v1/users/me", headers=bearer(fresh))).status_code == 204


async def test_a_wrong_password_is_403_and_guesses_are_throttled(
    client: httpx.AsyncClient, users: FakeUsers
) -> None:
    boss = (await users.credentials("boss")).user_id  # type: ignore[union-attr]
    token = old_token(boss, "admin", age=timedelta(seconds=1))  # fresh, yet the password counts
    codes = []
    for _ in range(6):
        response = await client.request(
            "DELETE", "/api/v1/users/me", headers=bearer(token), json={"password": "guess-guess"}
        )
        codes.append((response.status_code, response.json()["code"]))
    assert codes[:5] == [(403, "wrong_password")] * 5
    assert codes[5] == (429, "too_many_attempts")
    assert boss in users.rows
    assert (await client.get("/api/v1/users/me", headers=bearer(token))).status_code == 200


async def test_the_last_admin_cannot_leave_but_one_of_two_can(
    client: httpx.AsyncClient, users: FakeUsers
) -> None:
    boss = (await users.credentials("boss")).user_id  # type: ignore[union-attr]
    response = await client.delete(
        "/api/v1/users/me", headers=bearer(old_token(boss, "admin", timedelta(0)))
    )
    assert response.status_code == 409 and response.json()["code"] == "last_admin"
    assert boss in users.rows
    second = users.add("second-boss", "second-password", Role.ADMIN)
    token = old_token(second, "admin", timedelta(0))
    assert (await client.delete("/api/v1/users/me", headers=bearer(token))).status_code == 204
    token = old_token(boss, "admin", timedelta(0))
    assert (await client.delete("/api/v1/users/me", headers=bearer(token))).status_code == 409


async def test_leaving_needs_a_session_and_a_same_site_origin(client: httpx.AsyncClient) -> None:
    assert (await client.delete("/api/v1/users/me")).status_code == 401
    cookie = await sign_up(client)
    cross = await client.delete(
        "/api/v1/users/me",
        headers={"Origin": "https://evil.example", "Cookie": f"session={cookie}"},
    )
    assert cross.status_code == 403 and cross.json()["code"] == "csrf_rejected"
    assert (await client.get("/api/v1/users/me")).status_code == 200


async def test_a_malformed_leaving_body_is_400_or_415(client: httpx.AsyncClient) -> None:
    await sign_up(client)
    bad = await client.request("DELETE", "/api/v1/users/me", json={"password": 1})
    assert bad.status_code == 400 and bad.json()["details"]["field"] == "password"
    text = await client.request(
        "DELETE", "/api/v1/users/me", content=b"password", headers={"Content-Type": "text/plain"}
    )
    assert text.status_code == 415
    assert (await client.get("/api/v1/users/me")).status_code == 200


async def test_the_export_holds_the_users_data_and_no_one_elses(users: FakeUsers) -> None:
    section = FakeSection("route_requests")
    users.owned.append(section)
    client, _ = identity_app(users)
    mine = await sign_up(client)
    me = (await client.get("/api/v1/users/me")).json()
    walker = (await users.credentials("walker")).user_id  # type: ignore[union-attr]
    section.rows[me["id"]] = [{"id": "mine"}]
    section.rows[walker] = [{"id": "theirs"}]
    body = {"interest_theme_ids": ["art"], "expected_revision": 0}
    assert (await client.put("/api/v1/users/me/interests", json=body)).status_code == 200
    response = await client.get("/api/v1/users/me/export", headers=bearer(mine))
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["cache-control"] == "no-store"
    document = response.json()
    assert document["profile"]["id"] == me["id"]
    assert document["profile"]["interest_theme_ids"] == ["art"]
    assert document["route_requests"] == [{"id": "mine"}]
    assert datetime.fromisoformat(document["exported_at"]).tzinfo is not None
    assert (await client.delete("/api/v1/users/me")).status_code == 204
    assert me["id"] not in section.rows and walker in section.rows
    assert (await client.get("/api/v1/users/me/export", headers=bearer(mine))).status_code == 401


def test_the_sign_up_event_validates_against_its_schema() -> None:
    import json
    from pathlib import Path

    from jsonschema import Draft202012Validator

    from wildside_common.analytics import UserSignup, payload

    path = Path(__file__).resolve().parents[3] / "schemas" / "analytics" / "UserSignup.schema.json"
    validator = Draft202012Validator(json.loads(path.read_text()))
    validator.validate(payload(UserSignup(str(uuid4()), "user", source="signup"), "gateway"))
    assert not validator.is_valid(payload(UserSignup(str(uuid4()), "user", "web"), "gateway"))


@pytest.mark.parametrize(
    ("path", "allowed"),
    [("/api/v1/users", {"GET", "HEAD", "POST"}), ("/api/v1/users/me", {"GET", "HEAD", "DELETE"})],
)
async def test_a_wrong_method_is_405_naming_every_method_of_the_path(
    client: httpx.AsyncClient, path: str, allowed: set[str]
) -> None:
    response = await client.patch(path, json={})
    assert response.status_code == 405
    assert {method.strip() for method in response.headers["allow"].split(",")} == allowed


class RevocationsFailingOnce(MemoryRevocations):
    """Redis answers the session check, then fails when the user's sessions are ended."""

    def __init__(self) -> None:
        super().__init__()
        self.failures = 1

    async def revoke_user(self, user_id: str, since: datetime) -> None:
        if self.failures:
            self.failures -= 1
            raise Unavailable("session revocations cannot be written; try again")
        await super().revoke_user(user_id, since)


async def test_a_retry_ends_the_sessions_that_a_failed_revocation_left_open(
    users: FakeUsers,
) -> None:
    client, _ = identity_app(users, revocations=RevocationsFailingOnce())
    token = await sign_up(client)
    client.cookies.clear()
    first = await client.delete("/api/v1/users/me", headers=bearer(token))
    assert first.status_code == 503  # the rows are gone, the sessions not yet ended
    assert await users.credentials("new-walker") is None
    retry = await client.delete("/api/v1/users/me", headers=bearer(token))
    assert retry.status_code == 204
    assert (await client.get("/api/v1/users/me", headers=bearer(token))).status_code == 401
    assert (await client.get("/api/v1/interest-themes", headers=bearer(token))).status_code == 401


@pytest.mark.parametrize("names", [["a", "a"], ["profile"], ["exported_at"]])
def test_export_sections_need_unique_names_that_are_not_the_documents_own(
    users: FakeUsers, names: list[str]
) -> None:
    _, wiring = identity_app(users)
    accounts = wiring.accounts
    with pytest.raises(ValueError, match="export section names"):
        AccountService(
            wiring.service,
            users,
            FakePasswords(),
            COMMON_PASSWORDS,
            FakeSignupThrottle(),
            [FakeSection(name) for name in names],
        )
    assert accounts.sections == ()  # the fixture's users own no section


async def test_the_export_lists_every_section_in_order(users: FakeUsers) -> None:
    users.owned.extend([FakeSection("route_requests"), FakeSection("saved_routes")])
    client, _ = identity_app(users)
    await sign_up(client)
    document = (await client.get("/api/v1/users/me/export")).json()
    assert list(document) == ["exported_at", "profile", "route_requests", "saved_routes"]
    assert document["saved_routes"] == []
