"""(b) One NATS node killed (SIGKILL) under load and started again, streams at R3: the
other two keep a quorum, the clients of the dead node reconnect to another, and no
accepted request is lost or ends twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.e2e import stack
from tests.faults.cluster import stream_leader
from tests.faults.conftest import start
from tests.faults.load import check, run_load
from wildside_common.bus.topology import ROUTE_JOBS_STREAM

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]


def test_a_nats_node_killed_and_restarted_loses_nothing_at_r3(env, services, cluster) -> None:
    gateways = [start(services, stack.gateway(env)) for _ in range(2)]
    for _ in range(2):
        start(services, stack.router({**env, "ROUTER_SIMULATED_WORK_SECONDS": "0.5"}))
    since = datetime.now(UTC)
    killed: list[str] = []

    async def kill_the_job_stream_leader() -> None:
        await asyncio.sleep(6)
        leader, _ = await stream_leader(cluster.url, ROUTE_JOBS_STREAM)
        node = cluster.node(leader)
        cluster.kill(node)  # the leader of the job stream: the worst node to lose
        killed.append(leader)
        await asyncio.sleep(8)
        cluster.start_node(node)
        await asyncio.to_thread(cluster.wait_healthy, node)

    clients = asyncio.run(run_load(gateways, kill_the_job_stream_leader, rate=5, seconds=20))
    report = asyncio.run(check(clients, env["DATABASE_URL"], cluster.url, since))
    print(killed, report)
    assert report.accepted == 100
    leader, replicas = asyncio.run(stream_leader(cluster.url, ROUTE_JOBS_STREAM))
    assert leader and replicas == 3
