"""The daily budget is shared: two `wildside-enricher` processes never exceed it together."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import BinaryIO

import aiohttp
import nats
import pytest
import redis.asyncio as aioredis
from enricher_fakes import Reply, answer, worker_env

from wildside_common.bus.publisher import publish
from wildside_common.bus.topology import ENRICHMENT_JOB_SUBJECT
from wildside_common.messages import BoundingBox, EnrichmentJob, utc_now
from wildside_common.testing.servers import free_port, nats_server

pytestmark = pytest.mark.contract
BIN = Path(sys.executable).parent


async def wait_ready(port: int, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the enricher exited"
            try:
                async with session.get(f"http://127.0.0.1:{port}/health/ready") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError("enricher not ready")


async def metrics(port: int) -> str:
    url = f"http://127.0.0.1:{port}/metrics"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return await response.text()


def start_enricher(env: dict[str, str], port: int, log: BinaryIO) -> subprocess.Popen[bytes]:
    """`wildside-enricher` as its own process, serving ops on `port`."""
    command = [str(BIN / "wildside-enricher")]
    return subprocess.Popen(command, env={**env, "METRICS_PORT": str(port)}, stdout=log,
                            stderr=log)  # fmt: skip


def sample(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(prefix))  # fmt: skip


async def test_two_processes_share_the_daily_request_budget(
    database_url, redis_url, redis_prefix, overpass, tmp_path
):
    overpass.default = Reply(body=answer([]), delay=0.2)
    processes, logs, ports = [], [], [free_port(), free_port()]
    with nats_server() as server:
        env = {**os.environ, **worker_env(
            database_url, server.url, redis_url, redis_prefix, overpass.url,
            ENRICHER_DAILY_REQUESTS="3", ENRICHER_CONCURRENCY="1",
        )}  # fmt: skip
        try:
            for port in ports:
                log = (tmp_path / f"enricher-{port}.log").open("wb")
                logs.append(log)
                processes.append(start_enricher(env, port, log))
            for port, process in zip(ports, processes, strict=True):
                await wait_ready(port, process)
            client = await nats.connect(server.url)
            js = client.jetstream()
            for _ in range(6):
                lat = random.randint(-6000, 6000) * 0.01
                box = BoundingBox(lat, 10.0, lat + 0.01, 10.01)
                job = EnrichmentJob(str(uuid.uuid4()), box, ("food",), utc_now())
                await publish(js, ENRICHMENT_JOB_SUBJECT, job, msg_id=job.job_id)
            await client.close()
            deadline = time.monotonic() + 15
            texts: list[str] = []
            while time.monotonic() < deadline:
                texts = [await metrics(port) for port in ports]
                refused = sum(sample(t, 'wildside_jobs_total{consumer="enricher",outcome="nak"')
                              for t in texts)  # fmt: skip
                if refused >= 3:
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # room for any request that should not happen
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(15)
            for log in logs:
                log.close()
    assert len(overpass.requests) == 3
    assert refused >= 3
    # Both processes worked, and both see the shared budget spent.
    handled = [sample(t, 'wildside_jobs_total{consumer="enricher"') for t in texts]
    assert all(count >= 1 for count in handled), handled
    for text in texts:
        assert 'wildside_overpass_quota_remaining{kind="requests"} 0.0' in text
    store = aioredis.from_url(redis_url)
    try:
        day = utc_now().strftime("%Y-%m-%d")
        assert int(await store.get(f"{redis_prefix}quota:{day}:requests")) == 3
    finally:
        await store.aclose()
