"""The gateway's composition root: builds every adapter, yields a ready `Gateway`.

Four areas meet here: route requests (`routes/`), saved routes (`saved/`), identity
(`identity/`: sessions, users, admin reports) and places (`places/`: the POIs of the
map). `build_app` calls `identity_wiring` with the real pool, the login throttle and the
session revocations over Redis; unit tests call `wire_identity` with in-memory fakes, so
both go through the same assembly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
from nats.aio.client import Client as Nats
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route, WebSocketRoute

from wildside_common.analytics import Analytics, analytics_from_settings
from wildside_common.bus.connection import connect
from wildside_common.bus.topology import ensure_streams
from wildside_common.health import Check, health_routes
from wildside_common.http import TelemetryMiddleware, http_exception
from wildside_common.pg import create_pool
from wildside_common.revocations import SessionRevocations
from wildside_common.revocations_redis import RedisSessionRevocations, connect_revocations
from wildside_common.sessions import SessionCodec
from wildside_gateway.config import GatewaySettings
from wildside_gateway.identity.adapters.inbound.admin_http import AdminEndpoints
from wildside_gateway.identity.adapters.inbound.http import IdentityEndpoints
from wildside_gateway.identity.adapters.outbound.common_passwords import ZxcvbnCommonPasswords
from wildside_gateway.identity.adapters.outbound.export import postgres_sections
from wildside_gateway.identity.adapters.outbound.login_throttle import RedisLoginThrottle
from wildside_gateway.identity.adapters.outbound.metrics import PrometheusIdentityMetrics
from wildside_gateway.identity.adapters.outbound.passwords import Argon2Passwords
from wildside_gateway.identity.adapters.outbound.provenance import PostgresProvenanceReport
from wildside_gateway.identity.adapters.outbound.signup_throttle import RedisSignupThrottle
from wildside_gateway.identity.adapters.outbound.users import (
    PostgresInterestSets,
    PostgresThemeDirectory,
    PostgresUsers,
)
from wildside_gateway.identity.app import AccountService, AdminService, IdentityService
from wildside_gateway.identity.config import IdentitySettings
from wildside_gateway.identity.ports import (
    Accounts,
    CommonPasswords,
    ExportSection,
    InterestSets,
    LoginThrottle,
    PasswordHasher,
    PasswordVerifier,
    ProvenanceReport,
    SignupThrottle,
    ThemeDirectory,
    Users,
)
from wildside_gateway.places.adapters.inbound.http import PlaceEndpoints
from wildside_gateway.places.adapters.inbound.tiles_proxy import tile_proxy_routes
from wildside_gateway.places.adapters.outbound.postgres import PostgresPlaces
from wildside_gateway.places.adapters.outbound.tile_upstream import HttpTileUpstream
from wildside_gateway.places.app import PlaceService, TileRelay
from wildside_gateway.places.ports import Places, ThemeIds, TileUpstream
from wildside_gateway.routes.adapters.batching import MicroBatching
from wildside_gateway.routes.adapters.inbound.http import RouteEndpoints
from wildside_gateway.routes.adapters.inbound.ws import StatusSocketEndpoint
from wildside_gateway.routes.adapters.outbound.jetstream import (
    JetStreamJobQueue,
    JetStreamStatusAnnouncer,
    StatusFeed,
)
from wildside_gateway.routes.adapters.outbound.metrics import PrometheusRouteMetrics
from wildside_gateway.routes.adapters.outbound.postgres import (
    PostgresMaintenance,
    PostgresRouteRequests,
    PostgresThemeCatalogue,
    ping,
)
from wildside_gateway.routes.adapters.outbound.redis_store import (
    RedisGuard,
    RedisRateLimiter,
    RedisRouteCache,
    connect_redis,
)
from wildside_gateway.routes.adapters.outbound.walk_feed import NatsWalkFeed
from wildside_gateway.routes.app import RouteService, SubmissionPolicy
from wildside_gateway.routes.domain.routes import DurationBounds
from wildside_gateway.routes.ports import WalkFeed
from wildside_gateway.saved.adapters.inbound.http import SavedRouteEndpoints
from wildside_gateway.saved.adapters.outbound.metrics import PrometheusSavedMetrics
from wildside_gateway.saved.adapters.outbound.postgres import PostgresSavedRoutes
from wildside_gateway.saved.app import SavedRouteService, SavePolicy
from wildside_gateway.shared.adapters.inbound.browser import BrowserPolicy
from wildside_gateway.shared.adapters.inbound.openapi import asyncapi_route, openapi_route
from wildside_gateway.shared.adapters.inbound.requests import DirectRoutes, Endpoint
from wildside_gateway.shared.adapters.inbound.session_auth import SessionAuthenticator
from wildside_gateway.shared.adapters.inbound.webapp import web_routes
from wildside_gateway.shared.domain.origins import AllowedOrigins

log = logging.getLogger(__name__)


@dataclass
class Gateway:
    settings: GatewaySettings
    pool: asyncpg.Pool
    nats: Nats
    feed: StatusFeed
    service: RouteService
    app: Starlette
    checks: dict[str, Check]


# Responses under these prefixes carry user data: Cache-Control: no-store.
NO_STORE_PREFIXES = ("/api/",)


def gateway_app(
    routes: Sequence[BaseRoute],
    origins: AllowedOrigins,
    public_base_url: str,
    direct: Mapping[tuple[str, str], Endpoint] | None = None,
) -> Starlette:
    """The routes behind the gateway's middleware (see `browser` for the order); `direct`:
    (method, path) pairs of `routes` answered without the router (`DirectRoutes`)."""
    app = Starlette(routes=list(routes), exception_handlers={HTTPException: http_exception})
    if direct:
        app.add_middleware(DirectRoutes, endpoints=direct)  # innermost: added first
    app.add_middleware(BrowserPolicy, origins=origins, public_base_url=public_base_url)
    app.add_middleware(
        TelemetryMiddleware,
        service="gateway",
        router=app.router,
        no_store_prefixes=NO_STORE_PREFIXES,
    )
    return app


def readiness_checks(
    pool: asyncpg.Pool, nats: Nats, feed: StatusFeed, revocations: RedisSessionRevocations
) -> dict[str, Check]:
    async def nats_ready() -> None:
        if not nats.is_connected:
            raise ConnectionError("nats is not connected")
        await nats.flush(timeout=1)

    async def feed_ready() -> None:
        if not feed.running:
            raise ConnectionError("status feed is not running")

    return {
        "database": lambda: ping(pool),
        "nats": nats_ready,
        "status_feed": feed_ready,
        "session_revocations": revocations.ready,
    }


@dataclass(frozen=True)
class IdentityWiring:
    auth: SessionAuthenticator
    ws_auth: SessionAuthenticator
    service: IdentityService
    routes: list[Route]
    accounts: AccountService


@dataclass(frozen=True)
class AccountPorts:
    """What sign-up, leaving and the export need beyond the identity ports."""

    accounts: Accounts
    hasher: PasswordHasher
    common: CommonPasswords
    signup_throttle: SignupThrottle
    sections: Sequence[ExportSection]


def wire_identity(
    settings: IdentitySettings,
    max_body: int,
    users: Users,
    interests: InterestSets,
    themes: ThemeDirectory,
    passwords: PasswordVerifier,
    provenance: ProvenanceReport,
    throttle: LoginThrottle,
    revocations: SessionRevocations,
    analytics: Analytics | None = None,
    *,
    account_ports: AccountPorts,
) -> IdentityWiring:
    """Build the session codec, authenticators, use cases and HTTP routes."""
    codec = SessionCodec(settings.keys.keyring)
    auth = SessionAuthenticator(codec, revocations, settings.cookie_name)
    ws_auth = SessionAuthenticator(codec, revocations, settings.cookie_name, websocket=True)
    service = IdentityService(
        users,
        interests,
        themes,
        passwords,
        codec,
        throttle,
        revocations,
        analytics,
        PrometheusIdentityMetrics(),
    )
    accounts = AccountService(
        service,
        account_ports.accounts,
        account_ports.hasher,
        account_ports.common,
        account_ports.signup_throttle,
        account_ports.sections,
        signup_enabled=settings.signup_enabled,
    )
    routes = [
        *IdentityEndpoints(service, auth, auth, settings, max_body, accounts).routes(),
        *AdminEndpoints(AdminService(provenance), auth).routes(),
    ]
    return IdentityWiring(auth, ws_auth, service, routes, accounts)


def identity_wiring(
    settings: IdentitySettings,
    max_body: int,
    pool: asyncpg.Pool,
    throttle: LoginThrottle,
    revocations: SessionRevocations,
    analytics: Analytics | None = None,
    *,
    signup_throttle: SignupThrottle,
) -> IdentityWiring:
    """The identity side over PostgreSQL; logs the keyring's origin and any warning."""
    settings.keys.announce(log)
    users = PostgresUsers(pool)
    passwords = Argon2Passwords()
    return wire_identity(
        settings,
        max_body,
        users,
        PostgresInterestSets(pool),
        PostgresThemeDirectory(pool),
        passwords,
        PostgresProvenanceReport(pool),
        throttle,
        revocations,
        analytics,
        account_ports=AccountPorts(
            users, passwords, ZxcvbnCommonPasswords(), signup_throttle, postgres_sections(pool)
        ),
    )


def place_routes(
    places: Places, themes: ThemeIds, auth: SessionAuthenticator, max_area: float
) -> list[Route]:
    """`GET /api/v1/pois` and `GET /api/v1/pois/{poi_id}` over any Places (tests: a fake)."""
    return PlaceEndpoints(PlaceService(places, themes, max_area), auth).routes()


def build_app(
    settings: GatewaySettings,
    pool: asyncpg.Pool,
    nats: Nats,
    feed: StatusFeed,
    service: RouteService,
    redis: Redis,
    revocations: RedisSessionRevocations,
    walks: WalkFeed | None = None,
    tiles: TileUpstream | None = None,
) -> tuple[Starlette, StatusSocketEndpoint]:
    """The app, and its WebSocket endpoint (closed at shutdown, see `bootstrap`)."""
    throttle = RedisLoginThrottle(redis, settings.identity.login_limits, settings.redis_prefix)
    signup_throttle = RedisSignupThrottle(
        redis, settings.identity.signup_attempts_per_hour, prefix=settings.redis_prefix
    )
    identity = identity_wiring(
        settings.identity,
        settings.max_body_bytes,
        pool,
        throttle,
        revocations,
        service.analytics,
        signup_throttle=signup_throttle,
    )
    auth = identity.auth
    endpoints = RouteEndpoints(
        service,
        auth,
        settings.max_body_bytes,
        settings.retry_after_seconds,
    )

    saved_routes = saved_route_service(settings, pool, redis, service.analytics)
    saved = SavedRouteEndpoints(saved_routes, auth, settings.max_body_bytes)

    origins = settings.allowed_origins
    socket = StatusSocketEndpoint(
        service,
        identity.ws_auth,
        feed,
        origins,
        cookie_name=settings.identity.cookie_name,
        walks=walks,
        saved=saved_routes,
    )
    routes: list[BaseRoute] = [
        # /metrics is on the metrics port only (__main__: serve_ops).
        *health_routes(readiness_checks(pool, nats, feed, revocations), metrics=False),
        openapi_route(),
        asyncapi_route(),
        *endpoints.routes(),
        *saved.routes(),
        *identity.routes,
        *place_routes(
            PostgresPlaces(pool),
            service.themes,
            auth,
            settings.poi_max_bbox_sq_degrees,
        ),
        WebSocketRoute("/ws", socket.handle),
    ]
    if tiles is not None:
        log.warning(
            "development: /tiles forwarded to the development tile server",
            extra={"upstream": settings.tiles_dev_upstream},
        )
        routes.extend(tile_proxy_routes(TileRelay(tiles)))
    routes.extend(web_routes(settings.web_dist_dir, settings.public_base_url))  # last: at `/`
    return gateway_app(routes, origins, settings.public_base_url, endpoints.direct()), socket


def route_service(
    settings: GatewaySettings, pool: asyncpg.Pool, nats: Nats, redis: Redis, analytics: Analytics
) -> RouteService:
    js = nats.jetstream()
    guard = RedisGuard()
    policy = SubmissionPolicy(
        bounds=DurationBounds(settings.min_duration_minutes, settings.max_duration_minutes),
        idempotency_ttl=timedelta(hours=settings.idempotency_ttl_hours),
        cache_namespace=settings.cache_namespace,
        engine_version=settings.engine_version,
        timeout=settings.request_timeout,
    )
    return RouteService(
        PostgresRouteRequests(pool),
        JetStreamJobQueue(js),
        JetStreamStatusAnnouncer(nats),
        PostgresThemeCatalogue(pool),
        policy,
        RedisRouteCache(redis, guard, settings.redis_prefix),
        RedisRateLimiter(
            redis, guard, settings.rate_limit_per_minute, prefix=settings.redis_prefix
        ),
        analytics=analytics,
        batching=MicroBatching(settings.submit_batch_max, settings.submit_batch_concurrency),
        metrics=PrometheusRouteMetrics(),
        cancel_limiter=RedisRateLimiter(
            redis,
            guard,
            settings.rate_limit_per_minute,
            prefix=settings.redis_prefix,
            name="ratelimit-cancel",
            noun="route cancels",
        ),
    )


def saved_route_service(
    settings: GatewaySettings, pool: asyncpg.Pool, redis: Redis, analytics: Analytics
) -> SavedRouteService:
    """Saved routes over PostgreSQL; saves have their own rate-limit quota (same size)."""
    return SavedRouteService(
        PostgresSavedRoutes(pool),
        RedisRateLimiter(
            redis,
            RedisGuard(),
            settings.rate_limit_per_minute,
            prefix=f"{settings.redis_prefix}saved:",
        ),
        SavePolicy(
            cap=settings.saved_routes_max,
            idempotency_ttl=timedelta(hours=settings.idempotency_ttl_hours),
        ),
        analytics=analytics,
        metrics=PrometheusSavedMetrics(),
    )


async def run_maintenance(maintenance: PostgresMaintenance, interval: float) -> None:
    """Purge expired idempotency keys and route requests (with their results)."""
    while True:
        try:
            purged = await maintenance.purge_expired()
            if any(purged.values()):
                log.info("expired rows purged", extra=purged)
        except Exception:
            log.warning("maintenance failed; will retry", exc_info=True)
        await asyncio.sleep(interval)


@asynccontextmanager
async def bootstrap(settings: GatewaySettings) -> AsyncIterator[Gateway]:
    # Custom plans: the gateway's tables start empty and grow fast (see pg.create_pool).
    pool = await create_pool(
        settings.database_url, settings.db_pool_size, stateless=True, custom_plans=True
    )
    redis = connect_redis(settings.redis_url)
    revocations = connect_revocations(
        settings.redis_url, settings.redis_prefix, settings.identity.revocation_max_staleness
    )
    nats = await connect(settings.common.nats_url, "wildside-gateway")
    maintenance = asyncio.create_task(
        run_maintenance(PostgresMaintenance(pool), settings.maintenance_interval)
    )
    analytics = analytics_from_settings(settings.analytics, "gateway")
    tiles = (
        None
        if settings.tiles_dev_upstream is None
        else HttpTileUpstream(settings.tiles_dev_upstream)
    )
    socket: StatusSocketEndpoint | None = None
    try:
        js = nats.jetstream()
        await ensure_streams(js, settings.common.nats_stream_replicas)
        feed = StatusFeed(js)
        await feed.start()
        service = route_service(settings, pool, nats, redis, analytics)
        await revocations.start()  # sessions are checked against a loaded mirror only
        walks = NatsWalkFeed(nats)  # live walks: positions out, guidance in (core NATS)
        await walks.start()
        app, socket = build_app(
            settings, pool, nats, feed, service, redis, revocations, walks, tiles
        )
        checks = readiness_checks(pool, nats, feed, revocations)
        yield Gateway(settings, pool, nats, feed, service, app, checks)
        await walks.stop()
        await feed.stop()
    finally:
        if socket is not None:  # its session checks read the revocations: stop them first
            await socket.close()
        maintenance.cancel()
        if tiles is not None:
            await tiles.close()
        await analytics.close()
        await nats.drain()
        await revocations.close()
        await redis.aclose()
        await pool.close()
