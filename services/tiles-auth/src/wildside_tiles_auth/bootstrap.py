"""tiles-auth's composition root: the keyring, the verifier, the session revocations
(followed from Redis) and the Starlette app; and the development tile server's app (the
same decision, then the tile functions: `bootstrap_dev_tiles`)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from wildside_common.health import health_routes
from wildside_common.http import TelemetryMiddleware, http_exception
from wildside_common.revocations import SessionRevocations
from wildside_common.revocations_redis import connect_revocations
from wildside_common.sessions import SessionCodec
from wildside_tiles_auth.adapters.inbound.http import auth_route
from wildside_tiles_auth.adapters.inbound.tiles_http import tiles_route
from wildside_tiles_auth.adapters.outbound.postgres import PostgresRouteOwners
from wildside_tiles_auth.adapters.outbound.tile_functions import PostgresTileFunctions
from wildside_tiles_auth.app import AuthorizeTiles, ServeTiles
from wildside_tiles_auth.config import DevTilesSettings, TilesAuthSettings
from wildside_tiles_auth.domain.route_tiles import DEFAULT_POLICY, TilePolicy
from wildside_tiles_auth.ports import RouteOwners, SessionVerifier, TileStore

log = logging.getLogger(__name__)


def build_app(
    verifier: SessionVerifier,
    owners: RouteOwners | None = None,
    policy: TilePolicy = DEFAULT_POLICY,
    revocations: SessionRevocations | None = None,
) -> Starlette:
    """The service's app around any verifier (tests pass a codec over their own keys),
    when route tiles are served a source of route owners, the tiles allowlist, and the
    ended sessions (without them, as in tests of other rules, a token is checked for
    signature and expiry only; `bootstrap` always passes them)."""

    async def keyring_ready() -> None:
        return None  # the keyring is loaded at start; nothing can go away afterwards

    checks: dict[str, Callable[[], Awaitable[None]]] = {"keyring": keyring_ready}
    ping = getattr(owners, "ping", None)
    if ping is not None:
        checks["database"] = ping
    ready = getattr(revocations, "ready", None)
    if ready is not None:
        checks["session_revocations"] = ready
    routes = [
        *health_routes(checks),
        auth_route(AuthorizeTiles(verifier, owners, policy, revocations)),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_exception})
    # Every /auth answer is about one user's session: never stored by a cache on the way.
    app.add_middleware(
        TelemetryMiddleware, service="tiles-auth", router=app.router, no_store_prefixes=("/auth",)
    )
    return app


def bootstrap(settings: TilesAuthSettings) -> Starlette:
    keyring = settings.keys.announce(log)
    owners = PostgresRouteOwners(settings.database_url) if settings.database_url else None
    if owners is None:
        log.warning("no DATABASE_URL: route tiles (get_route_tile) will be refused with 503")
    log.info(
        "tiles allowlist",
        extra={
            "sources": sorted(settings.tiles.sources),
            "request_id_sources": sorted(settings.tiles.request_id_sources),
        },
    )
    # Followed from the first request or readiness probe on, in the server's event loop.
    revocations = connect_revocations(
        settings.redis_url, settings.redis_prefix, settings.revocation_max_staleness
    )
    return build_app(SessionCodec(keyring), owners, settings.tiles, revocations)


def build_dev_tiles_app(
    authorize: AuthorizeTiles, store: TileStore, public_base_url: str
) -> Starlette:
    """The development tile server around tiles-auth's use case and any tile store."""
    checks: dict[str, Callable[[], Awaitable[None]]] = {}
    for name, target in (("tiles_database", store), ("database", authorize.owners)):
        ping = getattr(target, "ping", None)
        if ping is not None:
            checks[name] = ping
    ready = getattr(authorize.revocations, "ready", None)
    if ready is not None:
        checks["session_revocations"] = ready
    routes = [
        *health_routes(checks),
        tiles_route(ServeTiles(authorize, store), public_base_url),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_exception})
    app.add_middleware(TelemetryMiddleware, service="tiles-dev", router=app.router)
    return app


def bootstrap_dev_tiles(settings: DevTilesSettings) -> Starlette:
    auth = settings.auth
    keyring = auth.keys.announce(log)
    owners = PostgresRouteOwners(auth.database_url) if auth.database_url else None
    revocations = connect_revocations(
        auth.redis_url, auth.redis_prefix, auth.revocation_max_staleness
    )
    authorize = AuthorizeTiles(SessionCodec(keyring), owners, auth.tiles, revocations)
    log.warning(
        "development tile server: serving the tile functions without Martin",
        extra={"sources": sorted(auth.tiles.sources), "port": settings.port},
    )
    store = PostgresTileFunctions(settings.tiles_database_url)
    return build_dev_tiles_app(authorize, store, settings.public_base_url)
