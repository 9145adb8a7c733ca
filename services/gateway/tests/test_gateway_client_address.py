"""The client address a login is counted against: X-Forwarded-For only from a trusted proxy."""

from __future__ import annotations

import pytest

from wildside_common.config import CommonSettings, ConfigError, EnvReader
from wildside_gateway.identity.config import IdentitySettings
from wildside_gateway.shared.adapters.inbound.client_address import (
    client_address,
    parse_trusted_proxies,
)

pytestmark = pytest.mark.unit
PROXIES = parse_trusted_proxies("10.0.0.0/8, 192.0.2.1, fd00::/8")


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.5", ["198.51.100.1"], "203.0.113.5"),  # not a proxy: the header is ignored
        ("10.0.0.7", [], "10.0.0.7"),  # a proxy that forwarded nothing
        ("10.0.0.7", ["198.51.100.1"], "198.51.100.1"),
        ("10.0.0.7", ["6.6.6.6, 198.51.100.1, 10.9.9.9"], "198.51.100.1"),  # skip inner proxies
        ("10.0.0.7", ["6.6.6.6", "198.51.100.1"], "198.51.100.1"),  # several header lines
        ("10.0.0.7", ["10.1.1.1, 192.0.2.1"], "10.1.1.1"),  # every hop trusted: the first
        ("10.0.0.7", ["198.51.100.1, not-an-ip"], "10.0.0.7"),  # garbage: nothing beyond it
        ("10.0.0.7", [" 198.51.100.1 "], "198.51.100.1"),
        ("fd00::1", ["2001:db8::7"], "2001:db8::7"),
        (None, ["198.51.100.1"], "unknown"),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    peer: str | None, forwarded: list[str], client: str
) -> None:
    assert client_address(peer, forwarded, PROXIES) == client


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address("127.0.0.1", ["198.51.100.1"], ()) == "127.0.0.1"


def test_trusted_proxies_and_login_limits_are_read_from_the_environment() -> None:
    env = {"TRUSTED_PROXIES": "10.0.0.0/8,192.0.2.1", "LOGIN_MAX_FAILURES": "3"}
    env |= {"LOGIN_FAILURE_WINDOW_SECONDS": "60", "LOGIN_ADDRESS_ATTEMPTS_PER_MINUTE": "7"}
    reader = EnvReader(env)
    settings = IdentitySettings.from_env(reader, CommonSettings.from_env(reader, "gateway", 0))
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "192.0.2.1/32"]
    limits = settings.login_limits
    assert (limits.max_failures, limits.failure_window, limits.address_attempts) == (3, 60, 7)
    assert settings.revocation_max_staleness == 1.0
    defaults = IdentitySettings.from_env(
        EnvReader({}), CommonSettings.from_env(EnvReader({}), "gateway", 0)
    )
    assert defaults.trusted_proxies == ()
    assert (defaults.login_limits.max_failures, defaults.login_limits.failure_window) == (5, 900)
    assert defaults.login_limits.address_attempts == 100


def test_a_bad_trusted_proxy_entry_refuses_the_start_naming_it() -> None:
    reader = EnvReader({"TRUSTED_PROXIES": "10.0.0.0/8, proxy.internal"})
    with pytest.raises(ConfigError, match=r"TRUSTED_PROXIES.*proxy\.internal"):
        IdentitySettings.from_env(reader, CommonSettings.from_env(reader, "gateway", 0))
