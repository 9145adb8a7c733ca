"""What `sync_interval: always` costs a publish: `.venv/bin/python -m tests.faults.sync_cost`.

Starts the fault suite's three-node cluster twice (JetStream's default `sync_interval`,
then `always`), provisions the streams at R3 and times 300 sequential publishes of a
600-byte job to `WILDSIDE_ROUTE_JOBS`, each waiting for its acknowledgement; prints the
median and the 99th percentile. docs/operations.md quotes one run.
"""

from __future__ import annotations

import asyncio
import statistics
import time

from tests.faults.cluster import nats_cluster
from tests.faults.conftest import provision
from wildside_common.bus.connection import connect
from wildside_common.bus.topology import ROUTE_JOB_SUBJECT

PUBLISHES = 300


async def publish_latencies(url: str) -> list[float]:
    client = await connect(url, "wildside-sync-cost")
    js = client.jetstream()
    latencies = []
    try:
        for index in range(PUBLISHES):
            started = time.perf_counter()
            await js.publish(ROUTE_JOB_SUBJECT, b"x" * 600, headers={"Nats-Msg-Id": f"m{index}"})
            latencies.append(time.perf_counter() - started)
    finally:
        await client.close()
    return sorted(latencies)


def main() -> None:
    for sync in ("", "always"):
        with nats_cluster(sync=sync) as cluster:
            asyncio.run(provision(cluster.url, 3))
            latencies = asyncio.run(publish_latencies(cluster.url))
        median = statistics.median(latencies) * 1000
        p99 = latencies[int(0.99 * len(latencies))] * 1000
        print(
            f"sync_interval {sync or 'default (2 min)'}: median {median:.2f} ms, p99 {p99:.2f} ms"
        )


if __name__ == "__main__":
    main()
