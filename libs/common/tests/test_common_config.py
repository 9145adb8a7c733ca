"""EnvReader and CommonSettings: typed settings, errors that name the variable."""

from __future__ import annotations

import pytest

from wildside_common.config import CommonSettings, ConfigError, EnvReader

pytestmark = pytest.mark.unit


def reader(**env: str) -> EnvReader:
    return EnvReader(env)


def test_text_returns_the_value_or_the_default() -> None:
    assert reader(NAME="wildside").text("NAME") == "wildside"
    assert reader().text("NAME", "fallback") == "fallback"
    assert reader(NAME="").text("NAME", "fallback") == "fallback"


def test_a_missing_required_variable_is_named() -> None:
    with pytest.raises(ConfigError) as caught:
        reader(OTHER="x").text("DATABASE_URL")
    assert caught.value.variable == "DATABASE_URL"
    assert str(caught.value).startswith("DATABASE_URL: ")
    assert "required" in caught.value.problem


@pytest.mark.parametrize(
    ("value", "problem"),
    [("eighty", "must be a number"), ("0", "at least 1"), ("70000", "at most 65535")],
)
def test_integer_errors_name_the_variable_and_the_value(value: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        reader(PORT=value).integer("PORT", minimum=1, maximum=65535)
    assert caught.value.variable == "PORT"
    assert problem in str(caught.value)
    assert value in str(caught.value)


def test_numbers_parse_with_defaults() -> None:
    assert reader(PORT="8080").integer("PORT", 1) == 8080
    assert reader().integer("PORT", 9100) == 9100
    assert reader(RATIO="0.25").real("RATIO", 1.0, minimum=0.0, maximum=1.0) == 0.25
    with pytest.raises(ConfigError, match=r"^RATIO: must be at most 1.0"):
        reader(RATIO="1.5").real("RATIO", maximum=1.0)


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("TRUE", True), (" on ", True), ("no", False)]
)
def test_flags(value: str, expected: bool) -> None:
    assert reader(DEBUG=value).flag("DEBUG") is expected


def test_a_bad_flag_is_named() -> None:
    with pytest.raises(ConfigError, match=r"^DEBUG: must be true or false, got 'maybe'"):
        reader(DEBUG="maybe").flag("DEBUG", False)
    assert reader().flag("DEBUG", False) is False


def test_choice_lists_the_allowed_values() -> None:
    assert reader(MODE="b").choice("MODE", ("a", "b")) == "b"
    with pytest.raises(ConfigError) as caught:
        reader(MODE="c").choice("MODE", ("a", "b"))
    assert caught.value.variable == "MODE"
    assert "a, b" in caught.value.problem


def test_optional_is_none_when_unset_or_empty() -> None:
    assert reader().optional("X") is None
    assert reader(X="").optional("X") is None
    assert reader(X="y").optional("X") == "y"


def test_from_os_reads_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WILDSIDE_TEST_SETTING", "present")
    assert EnvReader.from_os().text("WILDSIDE_TEST_SETTING") == "present"


def test_common_settings_defaults() -> None:
    settings = CommonSettings.from_env(reader(), "router", 9102)
    assert settings.service_name == "router"
    assert settings.environment == "development"
    assert settings.production is False
    assert settings.log_level == "INFO"
    assert settings.nats_url == "nats://127.0.0.1:4222"
    assert settings.otel_exporter == "none"
    assert settings.otel_endpoint is None
    assert (settings.metrics_host, settings.metrics_port) == ("127.0.0.1", 9102)


def test_common_settings_from_environment() -> None:
    settings = CommonSettings.from_env(
        reader(
            WILDSIDE_ENV="production",
            LOG_LEVEL="DEBUG",
            NATS_URL="nats://bus:4222",
            OTEL_EXPORTER="otlp",
            OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318/v1/traces",
            METRICS_HOST="0.0.0.0",
            METRICS_PORT="9000",
        ),
        "gateway",
        9101,
    )
    assert settings.production is True
    assert settings.log_level == "DEBUG"
    assert settings.nats_url == "nats://bus:4222"
    assert settings.otel_endpoint == "http://collector:4318/v1/traces"
    assert settings.metrics_port == 9000


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"OTEL_EXPORTER": "otlp"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ({"OTEL_EXPORTER": "jaeger"}, "OTEL_EXPORTER"),
        ({"WILDSIDE_ENV": "staging"}, "WILDSIDE_ENV"),
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
        ({"METRICS_PORT": "-1"}, "METRICS_PORT"),
        ({"METRICS_PORT": "http"}, "METRICS_PORT"),
    ],
)
def test_common_settings_errors_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError) as caught:
        CommonSettings.from_env(EnvReader(env), "gateway", 9101)
    assert caught.value.variable == variable


def test_settings_are_frozen() -> None:
    settings = CommonSettings.from_env(reader(), "router", 9102)
    with pytest.raises(AttributeError):
        settings.nats_url = "nats://elsewhere:4222"  # type: ignore[misc]


def test_stream_replicas_default_to_one_and_are_bounded() -> None:
    assert CommonSettings.from_env(reader(), "svc", 9100).nats_stream_replicas == 1
    settings = CommonSettings.from_env(reader(NATS_STREAM_REPLICAS="3"), "svc", 9100)
    assert settings.nats_stream_replicas == 3
    for bad in ("0", "6", "three"):
        with pytest.raises(ConfigError) as caught:
            CommonSettings.from_env(reader(NATS_STREAM_REPLICAS=bad), "svc", 9100)
        assert caught.value.variable == "NATS_STREAM_REPLICAS"
