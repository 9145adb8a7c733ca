"""The gateway's composition root: builds every adapter, yields a ready `Gateway`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from nats.aio.client import Client as Nats
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.routing import Route, WebSocketRoute

from wildside_common.bus.connection import connect
from wildside_common.bus.topology import ensure_streams
from wildside_common.health import health_routes
from wildside_common.http import TelemetryMiddleware
from wildside_gateway.adapters.inbound.http import RouteEndpoints, http_exception
from wildside_gateway.adapters.inbound.openapi import openapi_route
from wildside_gateway.adapters.inbound.ws import StatusSocketEndpoint
from wildside_gateway.adapters.outbound.jetstream import (
    JetStreamJobQueue,
    JetStreamStatusAnnouncer,
    StatusFeed,
)
from wildside_gateway.adapters.outbound.postgres import (
    PostgresRouteRequests,
    PostgresThemeCatalogue,
    create_pool,
    ping,
)
from wildside_gateway.app import RouteService
from wildside_gateway.bootstrap_identity import identity_wiring
from wildside_gateway.config import GatewaySettings
from wildside_gateway.domain.routes import DurationBounds


@dataclass
class Gateway:
    settings: GatewaySettings
    pool: asyncpg.Pool
    nats: Nats
    feed: StatusFeed
    service: RouteService
    app: Starlette


def build_app(
    settings: GatewaySettings,
    pool: asyncpg.Pool,
    nats: Nats,
    feed: StatusFeed,
    service: RouteService,
) -> Starlette:
    identity = identity_wiring(settings.identity, settings.max_body_bytes, pool)
    auth = identity.auth
    endpoints = RouteEndpoints(
        service,
        auth,
        settings.max_body_bytes,
        settings.request_timeout,
        settings.retry_after_seconds,
    )

    async def nats_ready() -> None:
        if not nats.is_connected:
            raise ConnectionError("nats is not connected")
        await nats.flush(timeout=1)

    async def feed_ready() -> None:
        if not feed.running:
            raise ConnectionError("status feed is not running")

    checks = {"database": lambda: ping(pool), "nats": nats_ready, "status_feed": feed_ready}
    routes: list[Route | WebSocketRoute] = [
        *health_routes(checks),
        openapi_route(),
        *endpoints.routes(),
        *identity.routes,
        WebSocketRoute("/ws", StatusSocketEndpoint(service, identity.ws_auth, feed).handle),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: http_exception})
    app.add_middleware(TelemetryMiddleware, service="gateway", router=app.router)
    return app


@asynccontextmanager
async def bootstrap(settings: GatewaySettings) -> AsyncIterator[Gateway]:
    pool = await create_pool(settings.database_url, settings.db_pool_size)
    nats = await connect(settings.common.nats_url, "wildside-gateway")
    try:
        js = nats.jetstream()
        await ensure_streams(js)
        feed = StatusFeed(js)
        await feed.start()
        service = RouteService(
            PostgresRouteRequests(pool),
            JetStreamJobQueue(js),
            JetStreamStatusAnnouncer(js),
            PostgresThemeCatalogue(pool),
            DurationBounds(settings.min_duration_minutes, settings.max_duration_minutes),
        )
        app = build_app(settings, pool, nats, feed, service)
        yield Gateway(settings, pool, nats, feed, service, app)
        await feed.stop()
    finally:
        await nats.drain()
        await pool.close()
