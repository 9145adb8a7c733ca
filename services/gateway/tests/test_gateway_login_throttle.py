"""Login throttling over HTTP, built through `wire_identity` with in-memory fakes: 429
before the password is checked, per username (existing or not) and per client address."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from gateway_identity_fakes import FakeLoginThrottle, FakePasswords, FakeUsers, identity_app
from gateway_identity_fakes import identity_settings as base_settings
from prometheus_client import REGISTRY

from wildside_gateway.identity.config import IdentitySettings
from wildside_gateway.identity.domain.login_throttle import LoginLimits, username_key
from wildside_gateway.shared.adapters.inbound.client_address import parse_trusted_proxies

pytestmark = pytest.mark.unit
WRONG = {"username": "walker", "password": "wrong-password"}
RIGHT = {"username": "walker", "password": "right-password"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def settings(limits: LoginLimits | None = None, proxies: str = "") -> IdentitySettings:
    plain = base_settings()
    return IdentitySettings(
        plain.keys,
        plain.cookie_secure,
        plain.samesite,
        login_limits=limits or LoginLimits(),
        trusted_proxies=parse_trusted_proxies(proxies),
    )


class Setup:
    def __init__(self, limits: LoginLimits | None = None, proxies: str = "") -> None:
        self.users = FakeUsers()
        self.users.add("walker", "right-password")
        self.passwords = FakePasswords()
        self.clock = Clock()
        config = settings(limits, proxies)
        self.throttle = FakeLoginThrottle(config.login_limits, self.clock)
        self.client, _ = identity_app(
            self.users, config, passwords=self.passwords, throttle=self.throttle
        )


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    made = Setup()
    async with made.client:
        yield made


async def statuses(client: httpx.AsyncClient, body: dict[str, str], times: int) -> list[int]:
    return [(await client.post("/api/v1/login", json=body)).status_code for _ in range(times)]


async def test_twelve_wrong_passwords_five_401_then_429_and_no_password_check(setup) -> None:
    assert await statuses(setup.client, WRONG, 12) == [401] * 5 + [429] * 7
    assert setup.passwords.checks == 5
    refused = await setup.client.post("/api/v1/login", json=WRONG)
    body = refused.json()
    assert body["code"] == "too_many_attempts" and body["details"] == {"limit": "username"}
    assert body["trace_id"] == refused.headers["trace-id"]
    assert 1 <= int(refused.headers["retry-after"]) <= 900
    assert "set-cookie" not in refused.headers


async def test_an_unknown_username_is_locked_out_alike(setup) -> None:
    nobody = {"username": "nobody-here", "password": "a-guess"}
    assert await statuses(setup.client, nobody, 7) == [401] * 5 + [429] * 2
    assert setup.passwords.checks == 5  # the dummy hash is not checked once locked


async def test_usernames_are_counted_as_the_database_compares_them(setup) -> None:
    for name in ("walker", "WALKER", "Walker", "wALKER", "walker"):
        response = await setup.client.post(
            "/api/v1/login", json={"username": name, "password": "nope-nope"}
        )
        assert response.status_code == 401
    assert await statuses(setup.client, {**WRONG, "username": "WaLkEr"}, 1) == [429]
    assert username_key("WALKER") == username_key("walker") != username_key("walker ")


async def test_locked_out_even_the_right_password_waits_for_the_window(setup) -> None:
    await statuses(setup.client, WRONG, 5)
    assert await statuses(setup.client, RIGHT, 1) == [429]
    setup.clock.now += 899
    assert await statuses(setup.client, RIGHT, 1) == [429]
    setup.clock.now += 2
    assert await statuses(setup.client, RIGHT, 1) == [200]


async def test_a_success_resets_the_usernames_count(setup) -> None:
    assert await statuses(setup.client, WRONG, 4) == [401] * 4
    assert await statuses(setup.client, RIGHT, 1) == [200]
    assert await statuses(setup.client, WRONG, 5) == [401] * 5
    assert await statuses(setup.client, WRONG, 1) == [429]


async def test_concurrent_guesses_cannot_slip_past_the_limit(setup) -> None:
    results = await asyncio.gather(
        *(setup.client.post("/api/v1/login", json=WRONG) for _ in range(20))
    )
    assert sorted(r.status_code for r in results) == [401] * 5 + [429] * 15
    assert setup.passwords.checks == 5


async def test_the_address_limit_spans_usernames_and_ignores_forged_forwarding() -> None:
    made = Setup(LoginLimits(address_attempts=3))
    async with made.client as client:
        for index in range(3):
            headers = {"X-Forwarded-For": f"198.51.100.{index}"}  # not believed: no proxies
            body = {"username": f"user{index}", "password": "guess-guess"}
            assert (
                await client.post("/api/v1/login", json=body, headers=headers)
            ).status_code == 401
        refused = await client.post("/api/v1/login", json={**RIGHT, "username": "someone"})
    assert refused.status_code == 429 and refused.json()["details"] == {"limit": "address"}
    assert made.passwords.checks == 3


async def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() -> None:
    made = Setup(LoginLimits(address_attempts=2), proxies="127.0.0.1, 10.0.0.0/8")
    async with made.client as client:  # the ASGI test transport's peer is 127.0.0.1

        async def attempt(chain: str) -> int:
            headers = {"X-Forwarded-For": chain}
            response = await client.post("/api/v1/login", json=WRONG, headers=headers)
            return response.status_code

        # The client wrote "6.6.6.6" itself; the proxies appended 203.0.113.9 and 10.1.2.3.
        assert [await attempt("6.6.6.6, 203.0.113.9, 10.1.2.3") for _ in range(3)] == [
            401,
            401,
            429,
        ]
        assert await attempt("7.7.7.7, 203.0.113.9, 10.1.2.3") == 429  # same client
        assert await attempt("203.0.113.10") == 401  # another client


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_a_lockout_is_counted_and_logged_once_without_the_password(
    setup, caplog: pytest.LogCaptureFixture
) -> None:
    labels = {"limit": "username"}
    lockouts = sample("wildside_login_lockouts_total", labels)
    refused = sample("wildside_login_throttled_total", labels)
    with caplog.at_level(logging.WARNING, logger="wildside_gateway.identity.app"):
        await statuses(setup.client, WRONG, 8)
    assert sample("wildside_login_lockouts_total", labels) == lockouts + 1
    assert sample("wildside_login_throttled_total", labels) == refused + 3
    [record] = [r for r in caplog.records if r.getMessage() == "login locked out"]
    fields = record.__dict__
    assert fields["username_hash"] == username_key("walker") and fields["limit"] == "username"
    assert fields["client"] == "127.0.0.1" and 1 <= fields["retry_after"] <= 900
    logged = " ".join(f"{key}={value}" for key, value in fields.items())
    assert "wrong-password" not in logged and "walker" not in logged
