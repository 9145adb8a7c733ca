"""Provision the whole bus topology: `python -m wildside_common.bus.provision`.

Services also provision what they use when they start; this command lets an operator
(or `make up`, or a deploy Job) create everything up front. Safe to run again.
"""

from __future__ import annotations

import asyncio
import sys

from nats.js import JetStreamContext

from wildside_common.bus.connection import connect
from wildside_common.bus.topology import (
    ADVISORIES_STREAM,
    ENRICHER_CONSUMER,
    ENRICHMENT_JOB_SUBJECT,
    ENRICHMENT_JOBS_STREAM,
    ROUTE_JOB_SUBJECT,
    ROUTE_JOBS_STREAM,
    ROUTER_CONSUMER,
    WorkerPolicy,
    dead_letter_consumer,
    ensure_consumer,
    ensure_streams,
    job_consumer,
)
from wildside_common.config import EnvReader, stream_replicas


async def provision_all(
    js: JetStreamContext,
    router: WorkerPolicy | None = None,
    enricher: WorkerPolicy | None = None,
    replicas: int = 1,
) -> None:
    await ensure_streams(js, replicas)
    await ensure_consumer(
        js,
        ROUTE_JOBS_STREAM,
        job_consumer(ROUTER_CONSUMER, ROUTE_JOB_SUBJECT, router or WorkerPolicy()),
    )
    await ensure_consumer(
        js,
        ENRICHMENT_JOBS_STREAM,
        job_consumer(
            ENRICHER_CONSUMER, ENRICHMENT_JOB_SUBJECT, enricher or WorkerPolicy(ack_wait=60.0)
        ),
    )
    for stream, consumer in (
        (ROUTE_JOBS_STREAM, ROUTER_CONSUMER),
        (ENRICHMENT_JOBS_STREAM, ENRICHER_CONSUMER),
    ):
        await ensure_consumer(js, ADVISORIES_STREAM, dead_letter_consumer(stream, consumer))


async def _main(url: str, replicas: int) -> None:
    client = await connect(url, "wildside-provision", attempts=10)
    try:
        await provision_all(client.jetstream(), replicas=replicas)
    finally:
        await client.close()


def main() -> int:
    env = EnvReader.from_os()
    url = env.text("NATS_URL", "nats://127.0.0.1:4222")
    try:
        asyncio.run(_main(url, stream_replicas(env)))
    except Exception as exc:
        print(f"bus provisioning failed: {exc}", file=sys.stderr)
        return 1
    print(f"bus topology provisioned on {url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
