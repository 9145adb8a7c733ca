"""tiles-auth settings, read once from the environment.

TILES_AUTH_HOST   listen address (default 127.0.0.1)
TILES_AUTH_PORT   listen port (default 8090)
SESSION_KEYS_FILE, SESSION_ALLOW_EPHEMERAL   the gateway's keyring (same file, same rules)
DATABASE_URL      where route owners are looked up for route tiles (the tiles_auth_ro role:
                  SELECT on route_requests' id, user_id, expires_at); without it route tiles
                  are refused (503), other allowed tiles still pass
TILES_SOURCES     comma-separated Martin sources users may read (default get_route_tile,
                  get_poi_tile,get_base_tile: the route, the places, the base map)
TILES_REQUEST_ID_SOURCES  those of them drawing one route (`request_id`), readable by the
                  route's owner and admins only (default get_route_tile)
REDIS_URL, REDIS_PREFIX   where the gateway records ended sessions (same Redis, same
                  prefix as the gateway's), followed in-process (see
                  wildside_common.revocations_redis)
SESSION_REVOCATION_MAX_STALENESS_SECONDS   as the gateway's: beyond it, fail closed (503)

The development tile server (`wildside-tiles-dev`, where no Martin runs) reads the same
settings, and:

TILES_DEV_HOST    listen address (default 127.0.0.1)
TILES_DEV_PORT    listen port (default 3000, Martin's)
TILES_DATABASE_URL  where it calls the tile functions, as Martin's role martin_ro (EXECUTE
                  on the tile functions, no table); required
PUBLIC_BASE_URL   the origin the map reaches tiles at, for TileJSON `tiles` URLs (default
                  http://127.0.0.1:8080: the gateway, which forwards /tiles in development)
It refuses to start when WILDSIDE_ENV is production: there, Martin serves the tiles.
"""

from __future__ import annotations

from dataclasses import dataclass

from wildside_common.config import CommonSettings, ConfigError, EnvReader
from wildside_common.session_keys import KeyringSettings
from wildside_tiles_auth.domain.route_tiles import (
    DEFAULT_POLICY,
    DEFAULT_SOURCES,
    ROUTE_SOURCE,
    TilePolicy,
    source_name_problem,
)


@dataclass(frozen=True, slots=True)
class TilesAuthSettings:
    common: CommonSettings
    host: str
    port: int
    keys: KeyringSettings
    database_url: str | None = None
    tiles: TilePolicy = DEFAULT_POLICY
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = ""
    revocation_max_staleness: float = 1.0

    @classmethod
    def from_env(cls, env: EnvReader) -> TilesAuthSettings:
        common = CommonSettings.from_env(env, "tiles-auth", default_metrics_port=0)
        return cls(
            common=common,
            host=env.text("TILES_AUTH_HOST", "127.0.0.1"),
            port=env.integer("TILES_AUTH_PORT", 8090, minimum=1, maximum=65535),
            keys=KeyringSettings.from_env(env, common),
            database_url=env.optional("DATABASE_URL"),
            tiles=tile_policy(env),
            redis_url=env.text("REDIS_URL", "redis://127.0.0.1:6379/0"),
            redis_prefix=env.text("REDIS_PREFIX", ""),
            revocation_max_staleness=env.real(
                "SESSION_REVOCATION_MAX_STALENESS_SECONDS", 1.0, minimum=0.5, maximum=60.0
            ),
        )


def _names(env: EnvReader, variable: str, default: str) -> frozenset[str]:
    names = [name.strip() for name in env.text(variable, default).split(",")]
    for name in names:
        problem = source_name_problem(name)
        if problem:
            raise ConfigError(variable, problem)
    return frozenset(names)


def tile_policy(env: EnvReader) -> TilePolicy:
    """The allowlist of Martin sources and those drawing one route (fail fast when wrong)."""
    sources = _names(env, "TILES_SOURCES", ",".join(DEFAULT_SOURCES))
    request_id_sources = _names(env, "TILES_REQUEST_ID_SOURCES", ROUTE_SOURCE)
    extra = sorted(request_id_sources - sources)
    if extra:
        raise ConfigError("TILES_REQUEST_ID_SOURCES", f"{', '.join(extra)} not in TILES_SOURCES")
    return TilePolicy(sources, request_id_sources)


@dataclass(frozen=True, slots=True)
class DevTilesSettings:
    auth: TilesAuthSettings
    host: str
    port: int
    tiles_database_url: str
    public_base_url: str

    @classmethod
    def from_env(cls, env: EnvReader) -> DevTilesSettings:
        if CommonSettings.from_env(env, "tiles-dev", default_metrics_port=0).production:
            raise ConfigError(
                "WILDSIDE_ENV", "the development tile server never runs in production (Martin)"
            )
        auth = TilesAuthSettings.from_env(env)
        base = env.text("PUBLIC_BASE_URL", "http://127.0.0.1:8080").rstrip("/")
        if not base.startswith(("http://", "https://")):
            raise ConfigError("PUBLIC_BASE_URL", f"must be http(s)://host[:port], got {base!r}")
        return cls(
            auth=auth,
            host=env.text("TILES_DEV_HOST", "127.0.0.1"),
            port=env.integer("TILES_DEV_PORT", 3000, minimum=1, maximum=65535),
            tiles_database_url=env.text("TILES_DATABASE_URL"),
            public_base_url=base,
        )
