"""The enricher's composition root: pool, Redis, HTTP session, bus, the two workers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import aiohttp
import asyncpg
import redis.asyncio as aioredis
from nats.aio.client import Client as Nats

from wildside_common import pg
from wildside_common.bus.connection import connect
from wildside_common.bus.dead_letter import DeadLetterForwarder
from wildside_common.bus.topology import (
    ENRICHER_CONSUMER,
    ENRICHMENT_JOB_SUBJECT,
    ENRICHMENT_JOBS_STREAM,
    ensure_consumer,
    ensure_streams,
    job_consumer,
)
from wildside_common.bus.worker import PullWorker, WorkerOptions
from wildside_common.errors import Unavailable
from wildside_common.themes import load_theme_rules
from wildside_enricher.adapters.inbound.jobs import DeadEnrichmentJobs, EnrichmentJobHandler
from wildside_enricher.adapters.outbound.overpass import OverpassClient
from wildside_enricher.adapters.outbound.postgres import PostgresEnrichmentStore
from wildside_enricher.adapters.outbound.redis_state import (
    RedisBudget,
    RedisCollapser,
    guarded,
)
from wildside_enricher.app import EnrichArea
from wildside_enricher.config import EnricherSettings


@dataclass
class Enricher:
    settings: EnricherSettings
    pool: asyncpg.Pool
    redis: aioredis.Redis
    nats: Nats
    store: PostgresEnrichmentStore
    overpass: OverpassClient
    budget: RedisBudget
    use_case: EnrichArea
    jobs: PullWorker
    dead_letters: PullWorker

    async def ready(self) -> None:
        await self.store.ping()
        await guarded(self.redis.ping)
        if not self.nats.is_connected:
            raise ConnectionError("nats is not connected")


@asynccontextmanager
async def bootstrap(settings: EnricherSettings) -> AsyncIterator[Enricher]:
    async with contextlib.AsyncExitStack() as stack:
        pool = await pg.create_pool(
            settings.database_url, settings.db_pool_size, command_timeout=30
        )
        stack.push_async_callback(pool.close)
        client = aioredis.from_url(settings.redis_url)
        stack.push_async_callback(client.aclose)
        session = await stack.enter_async_context(aiohttp.ClientSession())
        nats = await connect(settings.common.nats_url, "wildside-enricher")
        stack.push_async_callback(nats.drain)
        js = nats.jetstream()
        await ensure_streams(js, settings.common.nats_stream_replicas)
        consumer = job_consumer(ENRICHER_CONSUMER, ENRICHMENT_JOB_SUBJECT, settings.policy)
        await ensure_consumer(js, ENRICHMENT_JOBS_STREAM, consumer)
        prefix = settings.redis_prefix
        budget = RedisBudget(client, prefix, settings.daily_requests, settings.daily_bytes)
        with contextlib.suppress(Unavailable):  # readiness reports Redis; the gauge can wait
            await budget.refresh()
        overpass = OverpassClient(session, settings.overpass, budget)
        store = PostgresEnrichmentStore(pool)
        collapser = RedisCollapser(client, prefix, settings.collapse_window)
        use_case = EnrichArea(load_theme_rules(), settings.limits, overpass, store, collapser)
        options = WorkerOptions(
            concurrency=settings.concurrency,
            heartbeat_interval=settings.heartbeat_interval,
            drain_timeout=settings.drain_timeout,
        )
        dead = DeadEnrichmentJobs()  # the worker's dead letters and the forwarder's alike
        jobs = PullWorker(
            js, ENRICHMENT_JOBS_STREAM, ENRICHER_CONSUMER, ENRICHMENT_JOB_SUBJECT,
            EnrichmentJobHandler(use_case), options, on_dead_letter=dead,
        )  # fmt: skip
        forwarder = DeadLetterForwarder(js, ENRICHMENT_JOBS_STREAM, ENRICHER_CONSUMER, dead)
        await forwarder.provision()
        yield Enricher(
            settings, pool, client, nats, store, overpass, budget, use_case, jobs,
            forwarder.worker(),
        )  # fmt: skip
