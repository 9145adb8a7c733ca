"""(c) A gateway killed (SIGKILL) with sockets open and requests in flight: its clients
reconnect to the other gateway, subscribe again and get the latest status at once (the
status comes from the database and JetStream, never from the dead process); a POST cut
off mid-answer is retried there with its key and never stored twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.e2e import stack
from tests.faults.conftest import start
from tests.faults.load import check, run_load

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]


def test_a_gateway_killed_with_sockets_open_loses_no_subscriber(env, services, cluster) -> None:
    gateways = [start(services, stack.gateway(env)) for _ in range(2)]
    for _ in range(2):
        start(services, stack.router({**env, "ROUTER_SIMULATED_WORK_SECONDS": "4"}))
    since = datetime.now(UTC)

    async def kill_a_gateway() -> None:
        await asyncio.sleep(10)  # by then about 20 requests are being solved, half followed here
        gateways[0].stop(kill=True)

    clients = asyncio.run(run_load(gateways, kill_a_gateway, rate=5, seconds=20))
    report = asyncio.run(check(clients, env["DATABASE_URL"], cluster.url, since))
    print(report)
    assert report.accepted == 100
    moved = [c for c in clients if c.dropped and c.resubscribed_in]
    assert len(moved) >= 5, "no socket was open on the killed gateway: nothing was tested"
    assert report.slowest_resubscribe < 2.0, "the latest status did not come at once"
