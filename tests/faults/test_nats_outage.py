"""(d) The whole NATS cluster down for 10 s under load: POSTs answer 503 and store
nothing, every service reconnects by itself when the cluster is back, and nothing
accepted before the outage is lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.e2e import stack
from tests.faults.conftest import start
from tests.faults.load import check, run_load

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]


def test_the_whole_cluster_down_refuses_then_recovers_losing_nothing(
    env, services, cluster
) -> None:
    gateways = [start(services, stack.gateway(env)) for _ in range(2)]
    for _ in range(2):
        start(services, stack.router({**env, "ROUTER_SIMULATED_WORK_SECONDS": "1"}))
    since = datetime.now(UTC)

    async def cluster_down_for_ten_seconds() -> None:
        await asyncio.sleep(8)
        for node in cluster.nodes:
            cluster.kill(node)
        await asyncio.sleep(10)
        for node in cluster.nodes:
            cluster.start_node(node)
        for node in cluster.nodes:
            await asyncio.to_thread(cluster.wait_healthy, node)

    clients = asyncio.run(run_load(gateways, cluster_down_for_ten_seconds, rate=5, seconds=25))
    report = asyncio.run(check(clients, env["DATABASE_URL"], cluster.url, since))
    print(report)
    assert report.accepted == 125
    refused = sum(1 for c in clients for answer in c.answers if answer == 503)
    assert refused >= 20, "the outage refused no POST: nothing was tested"
