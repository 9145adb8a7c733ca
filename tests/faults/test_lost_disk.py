"""(f) What the replica count decides: the node holding the job stream crashes and comes
back with an empty store (a lost disk, a pod rescheduled without its volume) while jobs
wait in the stream. At R3 its peers still hold every job and it catches up: every request
ends. At R1 the jobs were on that disk alone: every accepted request stays `queued`
(until it expires, 24 h), nothing tells its client, and no alarm rings but the age of
the queue. This is why production runs R3 (docs/operations.md)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter

import asyncpg
import httpx
import pytest

from tests.e2e import stack
from tests.faults.cluster import stream_leader
from tests.faults.conftest import fault_env, provisioned_cluster, start
from tests.faults.load import base, body_for
from wildside_common.bus.topology import ROUTE_JOBS_STREAM

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]
WAITING = 20


async def statuses(database_url: str, ids: list[uuid.UUID]) -> Counter[str]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT status FROM route_requests WHERE id = ANY($1)", ids)
    finally:
        await conn.close()
    return Counter(row["status"] for row in rows)


def submit(gateway: stack.Service, count: int) -> list[uuid.UUID]:
    ids = []
    run = int(time.time()) % 20
    for index in range(count):
        headers = {"Idempotency-Key": str(uuid.uuid4()), **stack.auth(gateway)}
        response = httpx.post(
            f"{base(gateway)}/api/v1/routes",
            json=body_for(index, run),
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 202, response.text
        ids.append(uuid.UUID(response.json()["request_id"]))
    return ids


@pytest.mark.parametrize("replicas", [3, 1])
def test_a_node_losing_its_disk_loses_the_jobs_only_at_r1(
    replicas, helsinki, redis_url, services
) -> None:
    with provisioned_cluster(replicas) as cluster:
        env = fault_env(helsinki, cluster.url, redis_url, replicas)
        gateway = start(services, stack.gateway(env))
        ids = submit(gateway, WAITING)  # no router yet: the jobs wait in the stream
        holder, found = asyncio.run(stream_leader(cluster.url, ROUTE_JOBS_STREAM))
        assert found == replicas
        node = cluster.node(holder)
        cluster.kill(node)
        cluster.wipe(node)
        cluster.start_node(node)
        cluster.wait_healthy(node)
        start(services, stack.router(env))
        # At R3 the jobs end within seconds of the router's start; at R1 none ever does.
        deadline = time.monotonic() + (30 if replicas == 3 else 12)
        while time.monotonic() < deadline:
            seen = asyncio.run(statuses(env["DATABASE_URL"], ids))
            if seen["succeeded"] == WAITING:
                break
            time.sleep(1)
        if replicas == 3:
            assert seen == Counter(succeeded=WAITING)
        else:  # all lost: every accepted request stuck where it was
            assert seen == Counter(queued=WAITING)
