"""Gateway settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from wildside_common.analytics import AnalyticsSettings
from wildside_common.config import CommonSettings, ConfigError, EnvReader
from wildside_gateway.identity.config import IdentitySettings
from wildside_gateway.places.domain.places import DEFAULT_MAX_AREA
from wildside_gateway.shared.domain.origins import AllowedOrigins, parse_origin

GATEWAY_METRICS_PORT = 9103


@dataclass(frozen=True, slots=True)
class GatewaySettings:
    common: CommonSettings
    database_url: str
    redis_url: str
    host: str
    port: int
    public_base_url: str
    min_duration_minutes: int
    max_duration_minutes: int
    max_body_bytes: int
    request_timeout: float
    retry_after_seconds: int
    db_pool_size: int
    redis_prefix: str
    rate_limit_per_minute: int
    idempotency_ttl_hours: float
    cache_namespace: str
    engine_version: str
    maintenance_interval: float
    submit_batch_max: int
    submit_batch_concurrency: int
    saved_routes_max: int
    analytics: AnalyticsSettings
    identity: IdentitySettings
    allowed_origins: AllowedOrigins
    poi_max_bbox_sq_degrees: float = DEFAULT_MAX_AREA
    tiles_dev_upstream: str | None = None
    web_dist_dir: Path | None = None
    workers: int = 1

    @classmethod
    def from_env(cls, env: EnvReader) -> GatewaySettings:
        common = CommonSettings.from_env(env, "gateway", GATEWAY_METRICS_PORT)
        host = env.text("GATEWAY_HOST", "127.0.0.1")
        port = env.integer("GATEWAY_PORT", 8080, minimum=1, maximum=65535)
        minimum = env.integer("ROUTE_MIN_DURATION_MINUTES", 10, minimum=1)
        identity = IdentitySettings.from_env(env, common)
        public_base_url = public_base(env, host, port, common.production)
        return cls(
            common=common,
            database_url=env.text("DATABASE_URL"),
            redis_url=env.text("REDIS_URL", "redis://127.0.0.1:6379/0"),
            host=host,
            port=port,
            public_base_url=public_base_url,
            min_duration_minutes=minimum,
            max_duration_minutes=env.integer("ROUTE_MAX_DURATION_MINUTES", 480, minimum=minimum),
            max_body_bytes=env.integer("MAX_BODY_BYTES", 16384, minimum=256),
            request_timeout=env.real("REQUEST_TIMEOUT_SECONDS", 10.0, minimum=0.1),
            retry_after_seconds=env.integer("ROUTE_RETRY_AFTER_SECONDS", 1, minimum=1),
            db_pool_size=env.integer("DB_POOL_SIZE", 10, minimum=1),
            redis_prefix=env.text("REDIS_PREFIX", ""),
            rate_limit_per_minute=env.integer("RATE_LIMIT_PER_MINUTE", 60, minimum=1),
            idempotency_ttl_hours=env.real("IDEMPOTENCY_TTL_HOURS", 24.0, minimum=0.001),
            cache_namespace=env.text("ROUTE_CACHE_NAMESPACE", "v1"),
            engine_version=env.text("ENGINE_VERSION", "engine-1"),
            maintenance_interval=env.real("MAINTENANCE_INTERVAL_SECONDS", 600.0, minimum=1.0),
            submit_batch_max=env.integer("SUBMIT_BATCH_MAX", 64, minimum=1, maximum=1000),
            submit_batch_concurrency=env.integer(
                "SUBMIT_BATCH_CONCURRENCY", 4, minimum=1, maximum=64
            ),
            saved_routes_max=env.integer("SAVED_ROUTES_MAX", 500, minimum=1, maximum=100_000),
            analytics=AnalyticsSettings.from_env(env),
            identity=identity,
            allowed_origins=allowed_origins(env, public_base_url, common.production),
            poi_max_bbox_sq_degrees=env.real(
                "POI_MAX_BBOX_SQ_DEGREES", DEFAULT_MAX_AREA, minimum=0.0001, maximum=1.0
            ),
            tiles_dev_upstream=tiles_dev_upstream(env, common.production),
            web_dist_dir=web_dist_dir(env),
            workers=gateway_workers(env),
        )


def gateway_workers(env: EnvReader) -> int:
    """GATEWAY_WORKERS: gateway processes serving the one port (each its own pools)."""
    return env.integer("GATEWAY_WORKERS", 1, minimum=1, maximum=64)


def public_base(env: EnvReader, host: str, port: int, production: bool) -> str:
    """PUBLIC_BASE_URL as an origin: the base of every absolute link, never the Host header."""
    authority = f"[{host}]" if ":" in host else host
    raw = env.text("PUBLIC_BASE_URL", f"http://{authority}:{port}")
    try:
        base = parse_origin(raw)
    except ValueError as exc:
        raise ConfigError("PUBLIC_BASE_URL", f"{exc}; the gateway serves at the root") from None
    if production and not base.startswith("https://"):
        raise ConfigError("PUBLIC_BASE_URL", f"must be https in production, got {raw!r}")
    return base


def allowed_origins(env: EnvReader, public_base_url: str, production: bool) -> AllowedOrigins:
    """ALLOWED_ORIGINS (comma-separated), by default PUBLIC_BASE_URL's origin alone."""
    raw = env.text("ALLOWED_ORIGINS", public_base_url)
    try:
        origins = AllowedOrigins.parse(raw.split(","))
    except ValueError as exc:
        raise ConfigError("ALLOWED_ORIGINS", str(exc)) from None
    if production and not origins.all_https:
        raise ConfigError("ALLOWED_ORIGINS", f"every origin must be https in production: {raw!r}")
    return origins


def tiles_dev_upstream(env: EnvReader, production: bool) -> str | None:
    """TILES_DEV_UPSTREAM: the development tile server the gateway's /tiles forwards to
    (`make up` without Martin); unset, the gateway serves no /tiles. Never in production,
    where Traefik sends /tiles to Martin behind tiles-auth."""
    raw = env.optional("TILES_DEV_UPSTREAM")
    if raw is None:
        return None
    if production:
        raise ConfigError("TILES_DEV_UPSTREAM", "is for development: Martin serves production")
    try:
        return parse_origin(raw)
    except ValueError as exc:
        raise ConfigError("TILES_DEV_UPSTREAM", str(exc)) from None


def web_dist_dir(env: EnvReader) -> Path | None:
    """WEB_DIST_DIR: the web client's build (`web/dist`) served at `/`; unset, none is."""
    raw = env.optional("WEB_DIST_DIR")
    if raw is None:
        return None
    path = Path(raw).resolve()
    if not (path / "index.html").is_file():
        raise ConfigError("WEB_DIST_DIR", f"no index.html in {raw!r}: build the app (make up)")
    return path
