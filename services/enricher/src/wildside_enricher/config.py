"""Enricher settings, read once from the environment (docs/enricher.md lists them)."""

from __future__ import annotations

from dataclasses import dataclass

from wildside_common.bus.topology import WorkerPolicy
from wildside_common.config import CommonSettings, ConfigError, EnvReader
from wildside_enricher.adapters.outbound.overpass import OverpassSettings
from wildside_enricher.domain.query import QueryLimits

DEFAULT_ENDPOINT = "https://overpass-api.de/api/interpreter"
DEV_CONTACT = "wildside-dev@example.invalid"
VERSION = "0.1.0"


@dataclass(frozen=True, slots=True)
class EnricherSettings:
    common: CommonSettings
    database_url: str
    redis_url: str
    redis_prefix: str
    concurrency: int
    policy: WorkerPolicy
    heartbeat_interval: float
    drain_timeout: float
    db_pool_size: int
    overpass: OverpassSettings
    limits: QueryLimits
    daily_requests: int
    daily_bytes: int
    collapse_window: int

    @classmethod
    def from_env(cls, env: EnvReader) -> EnricherSettings:
        common = CommonSettings.from_env(env, "enricher", default_metrics_port=9102)
        ack_wait = env.real("ENRICHER_ACK_WAIT_SECONDS", 60.0, minimum=1.0)
        timeout = env.integer("ENRICHER_TIMEOUT_SECONDS", 180, minimum=1, maximum=3600)
        return cls(
            common=common,
            database_url=env.text("DATABASE_URL"),
            redis_url=env.text("REDIS_URL", "redis://127.0.0.1:6379/0"),
            redis_prefix=env.text("ENRICHER_REDIS_PREFIX", "wildside:enricher:"),
            concurrency=env.integer("ENRICHER_CONCURRENCY", 4, minimum=1, maximum=64),
            policy=WorkerPolicy(
                ack_wait=ack_wait,
                max_deliver=env.integer("ENRICHER_MAX_DELIVER", 20, minimum=1, maximum=1000),
                max_ack_pending=env.integer("ENRICHER_MAX_ACK_PENDING", 64, minimum=1),
            ),
            heartbeat_interval=env.real(
                "ENRICHER_HEARTBEAT_SECONDS", max(ack_wait / 3, 0.2), minimum=0.1
            ),
            drain_timeout=env.real("ENRICHER_DRAIN_TIMEOUT_SECONDS", 30.0, minimum=0.0),
            db_pool_size=env.integer("DB_POOL_SIZE", 4, minimum=1),
            overpass=_overpass(env, common, timeout),
            limits=QueryLimits(
                timeout_seconds=timeout,
                maxsize_bytes=env.integer("ENRICHER_MAXSIZE_BYTES", 512 * 1024**2, minimum=1024),
                max_area_sq_degrees=env.real("ENRICHER_MAX_AREA_SQ_DEGREES", 0.25, minimum=1e-6),
                grid_degrees=env.real("ENRICHER_COLLAPSE_GRID_DEGREES", 0.001, minimum=1e-6),
            ),
            daily_requests=env.integer("ENRICHER_DAILY_REQUESTS", 10_000, minimum=0),
            daily_bytes=env.integer("ENRICHER_DAILY_BYTES", 1_000_000_000, minimum=0),
            collapse_window=env.integer("ENRICHER_COLLAPSE_WINDOW_SECONDS", 600, minimum=1),
        )


def _overpass(env: EnvReader, common: CommonSettings, timeout: int) -> OverpassSettings:
    endpoints = tuple(
        url.strip() for url in env.text("OVERPASS_URLS", DEFAULT_ENDPOINT).split(",") if url.strip()
    )
    for url in endpoints:
        if not url.startswith(("http://", "https://")):
            raise ConfigError("OVERPASS_URLS", f"not an http(s) URL: {url!r}")
    if common.production:
        contact = env.text("ENRICHER_CONTACT")  # Overpass operators ask who is calling
    else:
        contact = env.text("ENRICHER_CONTACT", DEV_CONTACT)
    agent = env.text(
        "ENRICHER_USER_AGENT", f"wildside-enricher/{VERSION} (walking-tour POI enrichment)"
    )
    return OverpassSettings(
        endpoints=endpoints,
        user_agent=f"{agent}; contact: {contact}",
        contact=contact,
        max_concurrent=env.integer("ENRICHER_MAX_CONCURRENT_REQUESTS", 2, minimum=1),
        # Overpass stops at [timeout:N]; the client waits a little longer for its answer.
        http_timeout=env.real("ENRICHER_HTTP_TIMEOUT_SECONDS", timeout + 15.0, minimum=0.05),
        maxsize_bytes=env.integer("ENRICHER_MAXSIZE_BYTES", 512 * 1024**2, minimum=1024),
        retry_attempts=env.integer("ENRICHER_RETRY_ATTEMPTS", 3, minimum=1, maximum=10),
        retry_base=env.real("ENRICHER_RETRY_BASE_SECONDS", 1.0, minimum=0.0),
        retry_cap=env.real("ENRICHER_RETRY_MAX_SECONDS", 60.0, minimum=0.0),
        breaker_failures=env.integer("ENRICHER_BREAKER_FAILURES", 5, minimum=1),
        breaker_cooldown=env.real("ENRICHER_BREAKER_COOLDOWN_SECONDS", 60.0, minimum=0.01),
    )
