"""The real enricher worker (bootstrap, JetStream, PostgreSQL, Redis) against a fake Overpass.

Each test runs its own nats-server, so its stream and durable consumer are its own;
the database is shared by the session, so every test uses its own OSM ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator

import nats
import pytest
from enricher_fakes import Reply, answer, node, relation, way, worker_env

from wildside_common.bus.dead_letter import REASON_HEADER
from wildside_common.bus.publisher import publish
from wildside_common.bus.topology import (
    DEAD_LETTER_STREAM,
    ENRICHER_CONSUMER,
    ENRICHMENT_JOB_SUBJECT,
    ENRICHMENT_JOBS_STREAM,
    dead_letter_subject,
)
from wildside_common.config import EnvReader
from wildside_common.messages import BoundingBox, EnrichmentJob, utc_now
from wildside_common.testing.servers import nats_server
from wildside_enricher.bootstrap import Enricher, bootstrap
from wildside_enricher.config import EnricherSettings

pytestmark = pytest.mark.contract


@pytest.fixture
def own_nats():
    with nats_server() as server:
        yield server.url


@contextlib.asynccontextmanager
async def running(env: dict[str, str]) -> AsyncIterator[tuple[Enricher, object]]:
    settings = EnricherSettings.from_env(EnvReader(env))
    async with bootstrap(settings) as enricher:
        stop = asyncio.Event()
        task = asyncio.gather(enricher.jobs.run(stop), enricher.dead_letters.run(stop))
        client = await nats.connect(settings.common.nats_url)
        try:
            yield enricher, client.jetstream()
        finally:
            stop.set()
            await task
            await client.close()


@pytest.fixture
def env(database_url, own_nats, redis_url, redis_prefix, overpass):
    return worker_env(database_url, own_nats, redis_url, redis_prefix, overpass.url)


def area() -> BoundingBox:
    """A distinct small area per call, so jobs do not collapse unless meant to."""
    lat, lng = random.randint(-6000, 6000) * 0.01, random.randint(-17000, 17000) * 0.01
    return BoundingBox(lat, lng, lat + 0.005, lng + 0.01)


def new_job(bbox: BoundingBox, themes=("food", "history", "nature")) -> EnrichmentJob:
    return EnrichmentJob(str(uuid.uuid4()), bbox, themes, utc_now(), reason="sparse area")


async def send(js, job: EnrichmentJob, msg_id: str | None = None) -> None:
    await publish(js, ENRICHMENT_JOB_SUBJECT, job, msg_id=msg_id or job.job_id)


async def eventually(check, timeout: float = 15.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {result!r})")
        await asyncio.sleep(every)


async def settled(js) -> bool:
    info = await js.consumer_info(ENRICHMENT_JOBS_STREAM, ENRICHER_CONSUMER)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def provenance(enricher: Enricher, job_ids: list[str]):
    return await enricher.pool.fetch(
        "SELECT job_id::text, source_url, pois_added, pois_updated, bytes, themes "
        "FROM enrichment_provenance WHERE job_id = ANY($1::uuid[])",
        job_ids,
    )


def osm_ids(count: int) -> list[int]:
    base = random.randint(10**13, 10**14)
    return [base + n for n in range(count)]


async def pois(enricher: Enricher, ids: list[int]):
    return await enricher.pool.fetch(
        "SELECT element_type, id, source, themes, updated_at FROM pois WHERE id = ANY($1) "
        "ORDER BY id",
        ids,
    )


async def test_a_job_adds_pois_from_overpass_with_provenance(env, overpass):
    a, b, c = osm_ids(3)
    overpass.default = Reply(body=answer([
        node(a, 60.161, 24.941, amenity="cafe", name="Kahvila"),
        way(b, 60.162, 24.942, historic="castle"),
        relation(c, 60.163, 24.943, leisure="park"),
    ]))  # fmt: skip
    async with running(env) as (enricher, js):
        job = new_job(area())
        await send(js, job)
        (row,) = await eventually(lambda: provenance(enricher, [job.job_id]))
        rows = await pois(enricher, [a, b, c])
    assert (row["pois_added"], row["pois_updated"]) == (3, 0)
    assert row["source_url"] == overpass.url and row["bytes"] == len(overpass.default.body)
    assert row["themes"] == ["food", "history", "nature"]
    assert [(r["element_type"], r["source"], r["themes"]) for r in rows] == [
        ("node", "overpass", ["food"]),
        ("way", "overpass", ["history"]),
        ("relation", "overpass", ["nature"]),
    ]
    (seen,) = overpass.requests
    assert seen.data.startswith("[out:json][timeout:5]") and '"historic"' in seen.data
    assert "tests@example.org" in seen.headers["User-Agent"]
    assert seen.headers["Contact"] == "tests@example.org"


async def test_429_with_retry_after_is_honoured(env, overpass):
    (a,) = osm_ids(1)
    overpass.script = [Reply(429, headers={"Retry-After": "1"})]
    overpass.default = Reply(body=answer([node(a, 60.1, 24.9, tourism="artwork")]))
    async with running(env) as (enricher, js):
        job = new_job(area(), ("art",))
        await send(js, job)
        (row,) = await eventually(lambda: provenance(enricher, [job.job_id]))
    assert row["pois_added"] == 1
    first, second = overpass.requests
    assert second.at - first.at >= 0.95


async def test_a_timeout_is_retried_on_redelivery(env, overpass):
    (a,) = osm_ids(1)
    env["ENRICHER_HTTP_TIMEOUT_SECONDS"] = "0.3"
    overpass.script = [Reply(body=answer([]), delay=1.0)]
    overpass.default = Reply(body=answer([node(a, 60.1, 24.9, amenity="library")]))
    async with running(env) as (enricher, js):
        job = new_job(area(), ("culture",))
        await send(js, job)
        (row,) = await eventually(lambda: provenance(enricher, [job.job_id]))
        assert await eventually(lambda: settled(js))
    assert row["pois_added"] == 1 and len(overpass.requests) == 2


async def test_a_burst_of_5xx_opens_the_breaker_which_recovers_after_the_cooldown(
    env, overpass, caplog
):
    env.update(ENRICHER_BREAKER_FAILURES="3", ENRICHER_BREAKER_COOLDOWN_SECONDS="1.5")
    overpass.script = [Reply(500), Reply(502), Reply(503)]
    overpass.default = Reply(body=answer([]))
    caplog.set_level("WARNING", "wildside_enricher.adapters.outbound.overpass")
    async with running(env) as (enricher, js):
        jobs = [new_job(area()) for n in range(3)]
        for job in jobs:
            await send(js, job)
        rows = await eventually(lambda: _all(enricher, jobs), timeout=20)
        breaker = enricher.overpass.breakers[0]
    assert len(rows) == 3 and breaker.state.value == "closed"
    times = [seen.at for seen in overpass.requests]
    assert len(times) == 6  # three failures, then one probe and the two held-back jobs
    assert times[3] - times[2] >= 1.4  # nothing reached Overpass while the circuit was open
    changes = [r.to for r in caplog.records if r.getMessage() == "circuit breaker state changed"]
    assert changes == ["open", "half_open", "closed"]


async def _all(enricher, jobs):
    rows = await provenance(enricher, [job.job_id for job in jobs])
    return rows if len(rows) == len(jobs) else None


async def test_a_malformed_body_dead_letters_the_job_and_writes_nothing(env, overpass):
    (a,) = osm_ids(1)
    overpass.default = Reply(body=answer([node(a, 60.1, 24.9, amenity="cafe")])[:-25])
    async with running(env) as (enricher, js):
        job = new_job(area(), ("food",))
        await send(js, job)
        subject = dead_letter_subject(ENRICHMENT_JOBS_STREAM, ENRICHER_CONSUMER)

        async def dead_letter():
            with contextlib.suppress(Exception):
                return await js.get_last_msg(DEAD_LETTER_STREAM, subject)
            return None

        letter = await eventually(dead_letter)
        assert await provenance(enricher, [job.job_id]) == []
        assert await pois(enricher, [a]) == []
    assert EnrichmentJob.from_wire(__import__("msgpack").unpackb(letter.data)).job_id == job.job_id
    assert "malformed Overpass answer" in letter.headers[REASON_HEADER]
    assert len(overpass.requests) == 1  # terminated: never retried


async def test_concurrent_requests_stay_within_the_semaphore(env, overpass):
    env.update(ENRICHER_CONCURRENCY="6", ENRICHER_MAX_CONCURRENT_REQUESTS="2")
    overpass.default = Reply(body=answer([]), delay=0.3)
    async with running(env) as (enricher, js):
        jobs = [new_job(area()) for n in range(6)]
        for job in jobs:
            await send(js, job)
        await eventually(lambda: _all(enricher, jobs))
    assert len(overpass.requests) == 6
    assert overpass.max_active == 2


async def test_duplicate_and_redelivered_jobs_write_once(env, overpass):
    a, b = osm_ids(2)
    overpass.default = Reply(
        body=answer([node(a, 60.1, 24.9, amenity="cafe"), node(b, 60.1, 24.9, amenity="bar")]),
        delay=0.3,
    )
    box = area()
    async with running(env) as (enricher, js):
        jobs = [new_job(box, ("food",)) for _ in range(4)]
        for job in jobs:
            await send(js, job)
        await send(js, jobs[0], msg_id=f"again-{jobs[0].job_id}")  # the same job, twice
        rows = await eventually(lambda: _all(enricher, jobs))
        assert await eventually(lambda: settled(js))
        before = await pois(enricher, [a, b])
        await send(js, jobs[1], msg_id=f"late-{jobs[1].job_id}")  # redelivered after the fact
        assert await eventually(lambda: settled(js))
        after = await pois(enricher, [a, b])
        final = await provenance(enricher, [job.job_id for job in jobs])
    assert len(overpass.requests) == 1
    assert sorted(r["pois_added"] for r in rows) == [0, 0, 0, 2]
    assert sorted(r["bytes"] > 0 for r in rows) == [False, False, False, True]
    assert {r["source_url"] for r in rows} == {overpass.url}
    assert sorted(map(tuple, final)) == sorted(map(tuple, rows))
    assert after == before and len(after) == 2


async def test_duplicates_across_two_replicas_share_one_query(env, overpass):
    (a,) = osm_ids(1)
    overpass.default = Reply(body=answer([node(a, 60.1, 24.9, amenity="cafe")]), delay=0.5)
    box = area()
    async with running(env) as (first, js), running(env) as (second, _):
        jobs = [new_job(box, ("food",)) for _ in range(6)]
        for job in jobs:
            await send(js, job)
        rows = await eventually(lambda: _all(first, jobs))
        handled = [w.jobs for w in (first, second)]
    assert len(overpass.requests) == 1
    assert sorted(r["pois_added"] for r in rows) == [0, 0, 0, 0, 0, 1]
    assert all(worker.durable == ENRICHER_CONSUMER for worker in handled)
