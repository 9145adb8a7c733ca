"""PUBLIC_BASE_URL, ALLOWED_ORIGINS and the origin rule of the CSRF check."""

from __future__ import annotations

from pathlib import Path

import pytest

from wildside_common.config import ConfigError, EnvReader
from wildside_common.session_keys import write_new_key_file
from wildside_gateway.config import GatewaySettings
from wildside_gateway.shared.domain.origins import AllowedOrigins, origin_of, parse_origin

pytestmark = pytest.mark.unit
BASE = {"DATABASE_URL": "postgresql://127.0.0.1/none"}


def settings(env: dict[str, str]) -> GatewaySettings:
    return GatewaySettings.from_env(EnvReader({**BASE, **env}))


@pytest.fixture
def production(tmp_path: Path) -> dict[str, str]:
    write_new_key_file(tmp_path / "keys.json")
    return {
        "WILDSIDE_ENV": "production",
        "SESSION_KEYS_FILE": str(tmp_path / "keys.json"),
        "SESSION_ALLOW_EPHEMERAL": "false",
        "SESSION_COOKIE_SECURE": "true",
        "SESSION_SAMESITE": "Lax",
        "PUBLIC_BASE_URL": "https://wildside.example.org",
    }


def test_allowed_origins_default_to_the_origin_of_public_base_url() -> None:
    loaded = settings({"PUBLIC_BASE_URL": "https://Wildside.Example.org:443/"})
    assert loaded.public_base_url == "https://wildside.example.org"
    assert loaded.allowed_origins.origins == {"https://wildside.example.org"}


def test_without_public_base_url_the_listen_address_is_the_origin() -> None:
    loaded = settings({"GATEWAY_PORT": "8181"})
    assert loaded.public_base_url == "http://127.0.0.1:8181"
    assert settings({"GATEWAY_HOST": "::1"}).public_base_url == "http://[::1]:8080"


def test_allowed_origins_is_a_comma_separated_list() -> None:
    loaded = settings({"ALLOWED_ORIGINS": "https://app.example.org, http://localhost:5173 ,"})
    assert loaded.allowed_origins.origins == {"https://app.example.org", "http://localhost:5173"}


@pytest.mark.parametrize(
    ("env", "variable", "problem"),
    [
        ({"ALLOWED_ORIGINS": "*"}, "ALLOWED_ORIGINS", "any site"),
        ({"ALLOWED_ORIGINS": "https://a.example, null"}, "ALLOWED_ORIGINS", "any site"),
        ({"ALLOWED_ORIGINS": "https://a.example/app"}, "ALLOWED_ORIGINS", "not an origin"),
        ({"ALLOWED_ORIGINS": "a.example"}, "ALLOWED_ORIGINS", "not an origin"),
        ({"ALLOWED_ORIGINS": "ftp://a.example"}, "ALLOWED_ORIGINS", "not an origin"),
        ({"ALLOWED_ORIGINS": "https://user@a.example"}, "ALLOWED_ORIGINS", "not an origin"),
        ({"ALLOWED_ORIGINS": ","}, "ALLOWED_ORIGINS", "at least one"),
        ({"PUBLIC_BASE_URL": "https://a.example/wildside"}, "PUBLIC_BASE_URL", "not an origin"),
        ({"PUBLIC_BASE_URL": "https://a.example:99999"}, "PUBLIC_BASE_URL", "not an origin"),
    ],
)
def test_bad_origins_stop_the_gateway_naming_the_variable(
    env: dict[str, str], variable: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings(env)
    assert caught.value.variable == variable and problem in str(caught.value)


def test_production_loads_https_origins(production: dict[str, str]) -> None:
    loaded = settings({**production, "ALLOWED_ORIGINS": "https://app.example.org"})
    assert loaded.allowed_origins.origins == {"https://app.example.org"}


@pytest.mark.parametrize(
    ("change", "variable"),
    [
        ({"ALLOWED_ORIGINS": "https://app.example.org,http://app.example.org"}, "ALLOWED_ORIGINS"),
        ({"PUBLIC_BASE_URL": "http://wildside.example.org"}, "PUBLIC_BASE_URL"),
        ({"PUBLIC_BASE_URL": ""}, "PUBLIC_BASE_URL"),  # the default is the plain-http address
    ],
)
def test_production_refuses_plain_http_origins(
    production: dict[str, str], change: dict[str, str], variable: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings({**production, **change})
    assert caught.value.variable == variable and "https" in str(caught.value)


def test_origins_are_written_as_browsers_write_them() -> None:
    assert origin_of("HTTPS://App.Example.org:443/path?q#f") == "https://app.example.org"
    assert origin_of("http://[::1]:8080/x") == "http://[::1]:8080"
    assert origin_of("http://a.example:8080") == "http://a.example:8080"
    for not_a_url in ("null", "/relative", "javascript:alert(1)", "https://", "http://a:99999"):
        assert origin_of(not_a_url) is None
    assert parse_origin("https://a.example/") == "https://a.example"
    with pytest.raises(ValueError):
        AllowedOrigins(frozenset({"https://A.example"}))
    with pytest.raises(ValueError, match="punycode"):
        parse_origin("https://bücher.example")
    assert parse_origin("https://xn--bcher-kva.example") == "https://xn--bcher-kva.example"


def test_the_csrf_rule_on_origin_and_referer() -> None:
    origins = AllowedOrigins.parse(["https://app.example.org"])
    assert not origins.refuses(None, None)
    assert not origins.refuses("https://app.example.org", None)
    assert not origins.refuses(None, "https://app.example.org/some/page?x=1")
    assert origins.refuses("null", None)
    assert origins.refuses("https://app.example.org.evil.example", None)
    assert origins.refuses("https://app.example.org/", None)  # not how browsers write it
    assert origins.refuses("https://evil.example", "https://app.example.org/")
    assert origins.refuses(None, "https://evil.example/")
    assert origins.refuses(None, "")
    assert origins.refuses("", None)
