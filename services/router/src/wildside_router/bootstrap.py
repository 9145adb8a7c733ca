"""The router's composition root: pool, bus, adapters, the job and dead-letter workers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from nats.aio.client import Client as Nats
from nats.js import JetStreamContext
from redis.asyncio import Redis

from wildside_common.analytics import analytics_from_settings
from wildside_common.bus.connection import connect
from wildside_common.bus.dead_letter import DeadLetterForwarder
from wildside_common.bus.topology import (
    ROUTE_JOB_SUBJECT,
    ROUTE_JOBS_STREAM,
    ROUTER_CONSUMER,
    ensure_consumer,
    ensure_streams,
    job_consumer,
)
from wildside_common.bus.worker import PullWorker, WorkerOptions
from wildside_common.pg import create_pool
from wildside_common.themes import load_theme_rules
from wildside_router.adapters.inbound.jobs import DeadRouteJobs, RouteJobHandler
from wildside_router.adapters.inbound.walk_positions import WalkPositions
from wildside_router.adapters.outbound.candidates_pg import PostgresCandidateSource
from wildside_router.adapters.outbound.enrichment_publisher import NatsEnrichmentRequester
from wildside_router.adapters.outbound.guidance_publisher import NatsGuidancePublisher
from wildside_router.adapters.outbound.network_pg import NetworkCache, PostgresNetworkSource
from wildside_router.adapters.outbound.plan_metrics import PrometheusPlanMetrics
from wildside_router.adapters.outbound.postgres import PostgresRouteStore
from wildside_router.adapters.outbound.route_cache import RedisRouteCacheWriter
from wildside_router.adapters.outbound.status_publisher import JetStreamStatusPublisher
from wildside_router.adapters.outbound.walk_store_redis import RedisWalkStore
from wildside_router.adapters.outbound.walks_pg import PostgresTipPlaces, PostgresWalkRoutes
from wildside_router.app import GenerateRoute
from wildside_router.config import RouterSettings
from wildside_router.domain.guide import GuideParams
from wildside_router.domain.planner import PlannerSettings
from wildside_router.guiding import GuideWalk
from wildside_router.planning import EngineOptions, PlanRoute
from wildside_router.ports import RoutePlanner
from wildside_router.solver.hybrid import HybridSolver


@dataclass
class Router:
    settings: RouterSettings
    pool: asyncpg.Pool
    nats: Nats
    store: PostgresRouteStore
    jobs: PullWorker
    dead_letters: PullWorker
    guide: WalkPositions  # live walks: subscribed from the start (docs/live-walk.md)

    async def ready(self) -> None:
        await self.store.ping()
        if not self.nats.is_connected:
            raise ConnectionError("nats is not connected")


def engine_planner(
    settings: RouterSettings, pool: asyncpg.Pool, js: JetStreamContext
) -> RoutePlanner:
    """The planning use case over its adapters (docs/engine.md)."""
    options = EngineOptions(
        PlannerSettings(
            settings.walking_speed_kmh, settings.solver_time_limit, settings.max_snap_m
        ),
        settings.max_candidates,
        settings.sparse_threshold,
        settings.default_dwell_minutes,
    )
    return PlanRoute(
        PostgresCandidateSource(pool),
        NetworkCache(PostgresNetworkSource(pool), settings.network_refresh_seconds),
        HybridSolver(settings.cpsat_max_nodes),
        load_theme_rules(),
        options,
        NatsEnrichmentRequester(js),
        PrometheusPlanMetrics(),
    )


def guide_params(settings: RouterSettings) -> GuideParams:
    """The live walks' thresholds from the settings (docs/live-walk.md)."""
    return GuideParams(
        walking_speed_mps=settings.walking_speed_kmh / 3.6,
        tip_every_s=settings.guide_tip_interval_seconds,
        tip_max_detour_minutes=settings.guide_tip_max_detour_minutes,
        off_route_m=settings.guide_off_route_metres,
        reroute_after_s=settings.guide_reroute_after_seconds,
    )


@asynccontextmanager
async def bootstrap(
    settings: RouterSettings, planner: RoutePlanner | None = None
) -> AsyncIterator[Router]:
    pool = await create_pool(settings.database_url, settings.db_pool_size)
    nats = await connect(settings.common.nats_url, "wildside-router")
    cache: RedisRouteCacheWriter | None = None
    walks: RedisWalkStore | None = None
    guide: WalkPositions | None = None
    analytics = analytics_from_settings(settings.analytics, "router")
    try:
        js = nats.jetstream()
        await ensure_streams(js, settings.common.nats_stream_replicas)
        await ensure_consumer(
            js, ROUTE_JOBS_STREAM, job_consumer(ROUTER_CONSUMER, ROUTE_JOB_SUBJECT, settings.policy)
        )
        store = PostgresRouteStore(pool)
        cache = RedisRouteCacheWriter(
            Redis.from_url(settings.redis_url, socket_timeout=0.25, socket_connect_timeout=0.25),
            settings.cache_ttl_seconds,
            prefix=settings.redis_prefix,
        )
        use_case = GenerateRoute(
            store,
            JetStreamStatusPublisher(js),
            planner or engine_planner(settings, pool, js),
            settings.job_timeout,
            settings.policy.max_deliver,
            cache=cache,
            analytics=analytics,
        )
        options = WorkerOptions(
            concurrency=settings.concurrency,
            heartbeat_interval=settings.heartbeat_interval,
            drain_timeout=settings.drain_timeout,
        )
        dead = DeadRouteJobs(use_case)  # the worker's dead letters and the forwarder's alike
        jobs = PullWorker(
            js,
            ROUTE_JOBS_STREAM,
            ROUTER_CONSUMER,
            ROUTE_JOB_SUBJECT,
            RouteJobHandler(use_case),
            options,
            on_dead_letter=dead,
        )
        forwarder = DeadLetterForwarder(js, ROUTE_JOBS_STREAM, ROUTER_CONSUMER, dead)
        await forwarder.provision()
        walks = RedisWalkStore(Redis.from_url(settings.redis_url), settings.redis_prefix)
        guide = WalkPositions(
            nats,
            GuideWalk(
                PostgresWalkRoutes(pool),
                walks,
                NatsGuidancePublisher(nats),
                PostgresTipPlaces(pool),
                guide_params(settings),
            ),
        )
        await guide.start()
        yield Router(settings, pool, nats, store, jobs, forwarder.worker(), guide)
    finally:
        if guide is not None:
            await guide.stop()  # the positions it holds are guided while Redis is open
        await analytics.close()
        await nats.drain()
        await pool.close()
        if cache is not None:
            await cache.redis.aclose()
        if walks is not None:
            await walks.redis.aclose()
