"""(a) Routers killed with SIGKILL mid-solve, one after another, while the others work:
every job of a killed router comes back (ack wait) to another and ends once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from tests.e2e import stack
from tests.faults.conftest import start
from tests.faults.load import check, run_load

pytestmark = [pytest.mark.fault, pytest.mark.timeout(300)]


def test_routers_killed_mid_solve_lose_nothing(env, services, cluster) -> None:
    gateways = [start(services, stack.gateway(env)) for _ in range(2)]
    slow = {**env, "ROUTER_SIMULATED_WORK_SECONDS": "2"}
    routers = [start(services, stack.router(slow)) for _ in range(3)]
    since = datetime.now(UTC)

    async def kill_routers() -> None:
        for victim in (*routers, routers[0]):
            await asyncio.sleep(4)
            victim.stop(kill=True)  # SIGKILL: its jobs in flight are neither acked nor nak'ed
            await asyncio.sleep(1)
            victim.start()  # as its Deployment would, on the same settings

    clients = asyncio.run(run_load(gateways, kill_routers, rate=5, seconds=20))
    report = asyncio.run(check(clients, env["DATABASE_URL"], cluster.url, since))
    print(report)
    assert report.accepted == 100
    assert report.redelivered >= 4, "the kills interrupted no solve: the scenario tested nothing"
