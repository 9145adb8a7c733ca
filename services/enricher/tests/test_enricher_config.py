from __future__ import annotations

import pytest

from wildside_common.config import ConfigError, EnvReader
from wildside_enricher.config import DEFAULT_ENDPOINT, EnricherSettings

pytestmark = pytest.mark.unit
BASE = {"DATABASE_URL": "postgresql://db/wildside"}


def test_defaults_follow_the_issue():
    settings = EnricherSettings.from_env(EnvReader(BASE))
    overpass, limits = settings.overpass, settings.limits
    assert overpass.endpoints == (DEFAULT_ENDPOINT,)
    assert overpass.max_concurrent == 2
    assert (settings.daily_requests, settings.daily_bytes) == (10_000, 1_000_000_000)
    assert (limits.timeout_seconds, limits.maxsize_bytes) == (180, 512 * 1024 * 1024)
    assert overpass.http_timeout > limits.timeout_seconds
    assert settings.common.metrics_port == 9102
    assert "wildside-enricher/" in overpass.user_agent and overpass.contact in overpass.user_agent


def test_endpoints_are_a_list_with_mirrors():
    env = {**BASE, "OVERPASS_URLS": "https://a.example/api/interpreter, http://b.example/i"}
    settings = EnricherSettings.from_env(EnvReader(env))
    assert settings.overpass.endpoints == (
        "https://a.example/api/interpreter",
        "http://b.example/i",
    )
    with pytest.raises(ConfigError, match="OVERPASS_URLS"):
        EnricherSettings.from_env(EnvReader({**BASE, "OVERPASS_URLS": "ftp://x"}))


def test_production_requires_a_contact():
    with pytest.raises(ConfigError, match="ENRICHER_CONTACT"):
        EnricherSettings.from_env(EnvReader({**BASE, "WILDSIDE_ENV": "production"}))
    env = {**BASE, "WILDSIDE_ENV": "production", "ENRICHER_CONTACT": "ops@wildside.example"}
    assert EnricherSettings.from_env(EnvReader(env)).overpass.contact == "ops@wildside.example"


@pytest.mark.parametrize(
    "name, value",
    [("ENRICHER_MAX_CONCURRENT_REQUESTS", "0"), ("ENRICHER_TIMEOUT_SECONDS", "0"),
     ("ENRICHER_DAILY_REQUESTS", "-1"), ("ENRICHER_BREAKER_FAILURES", "zero")],
)  # fmt: skip
def test_bad_values_name_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        EnricherSettings.from_env(EnvReader({**BASE, name: value}))
