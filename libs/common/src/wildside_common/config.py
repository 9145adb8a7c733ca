"""Settings from the environment, read once into frozen objects.

`EnvReader` reads typed values and raises `ConfigError` naming the variable at fault,
so a service fails fast at start-up with a message an operator can act on. Nothing
here reads the environment at import time.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
_MISSING = object()


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable
        self.problem = problem


@dataclass(frozen=True, slots=True)
class EnvReader:
    """Typed access to an environment mapping (os.environ by default)."""

    env: Mapping[str, str]

    @classmethod
    def from_os(cls) -> EnvReader:
        return cls(dict(os.environ))

    def _raw(self, name: str, default: object) -> str | None:
        value = self.env.get(name)
        if value is None or value == "":
            if default is _MISSING:
                raise ConfigError(name, "is required but not set")
            return None
        return value

    def text(self, name: str, default: str | object = _MISSING) -> str:
        value = self._raw(name, default)
        return value if value is not None else str(default)

    def optional(self, name: str) -> str | None:
        value = self.env.get(name)
        return value if value else None

    def integer(
        self,
        name: str,
        default: int | object = _MISSING,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        return self._number(name, default, int, minimum, maximum)

    def real(
        self,
        name: str,
        default: float | object = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> float:
        return self._number(name, default, float, minimum, maximum)

    def flag(self, name: str, default: bool | object = _MISSING) -> bool:
        value = self._raw(name, default)
        if value is None:
            return bool(default)
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ConfigError(name, f"must be true or false, got {value!r}")

    def choice(self, name: str, choices: tuple[str, ...], default: str | object = _MISSING) -> str:
        value = self.text(name, default)
        if value not in choices:
            raise ConfigError(name, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def _number(
        self, name: str, default: object, kind: Callable[[str], T], minimum: object, maximum: object
    ) -> T:
        value = self._raw(name, default)
        if value is None:
            return default  # type: ignore[return-value]
        try:
            number = kind(value)
        except ValueError:
            raise ConfigError(name, f"must be a number, got {value!r}") from None
        if minimum is not None and number < minimum:  # type: ignore[operator]
            raise ConfigError(name, f"must be at least {minimum}, got {value}")
        if maximum is not None and number > maximum:  # type: ignore[operator]
            raise ConfigError(name, f"must be at most {maximum}, got {value}")
        return number


@dataclass(frozen=True, slots=True)
class CommonSettings:
    """Settings every service shares."""

    environment: str
    service_name: str
    log_level: str
    nats_url: str
    otel_exporter: str
    otel_endpoint: str | None
    metrics_host: str
    metrics_port: int
    # Replicas of every JetStream stream this service provisions (docs/operations.md,
    # "Durability of the bus"): 3 in production, 1 on a single server.
    nats_stream_replicas: int = 1
    # OTEL_TRACES_SAMPLER (the SDK's names) and its ratio, OTEL_TRACES_SAMPLER_ARG; None:
    # parentbased_always_on when spans are exported, parentbased_always_off when not
    # (`telemetry.sampler_for`).
    otel_sampler: str | None = None
    otel_sampler_arg: float = 1.0

    @property
    def production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(
        cls, env: EnvReader, service_name: str, default_metrics_port: int
    ) -> CommonSettings:
        exporter = env.choice("OTEL_EXPORTER", ("none", "console", "otlp"), "none")
        endpoint = env.optional("OTEL_EXPORTER_OTLP_ENDPOINT")
        if exporter == "otlp" and endpoint is None:
            raise ConfigError("OTEL_EXPORTER_OTLP_ENDPOINT", "is required when OTEL_EXPORTER=otlp")
        return cls(
            environment=env.choice(
                "WILDSIDE_ENV", ("development", "production", "test"), "development"
            ),
            service_name=service_name,
            log_level=env.choice("LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO"),
            nats_url=env.text("NATS_URL", "nats://127.0.0.1:4222"),
            otel_exporter=exporter,
            otel_endpoint=endpoint,
            metrics_host=env.text("METRICS_HOST", "127.0.0.1"),
            metrics_port=env.integer(
                "METRICS_PORT", default_metrics_port, minimum=0, maximum=65535
            ),
            nats_stream_replicas=stream_replicas(env),
            otel_sampler=env.choice("OTEL_TRACES_SAMPLER", SAMPLERS, "") or None,
            otel_sampler_arg=env.real("OTEL_TRACES_SAMPLER_ARG", 1.0, minimum=0.0, maximum=1.0),
        )


SAMPLERS = (
    "",
    "always_on",
    "always_off",
    "traceidratio",
    "parentbased_always_on",
    "parentbased_always_off",
    "parentbased_traceidratio",
)


def stream_replicas(env: EnvReader) -> int:
    """`NATS_STREAM_REPLICAS`: 1 to 5 (JetStream's limit), 1 by default."""
    return env.integer("NATS_STREAM_REPLICAS", 1, minimum=1, maximum=5)
