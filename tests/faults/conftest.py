"""Fixtures of the fault suite: a three-node NATS cluster (streams at R3), real PostgreSQL
(the session's scratch database, with the demo extract) and Redis, and the services as
processes (tests/e2e/stack.py): two gateways and up to three routers, per test."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator

import pytest

from tests.e2e import stack
from tests.faults.cluster import NatsCluster, nats_cluster
from wildside_common.bus.connection import connect
from wildside_common.bus.provision import provision_all
from wildside_common.testing.demo_data import load_demo_extract
from wildside_common.testing.servers import unique_prefix

REPLICAS = 3


@pytest.fixture(scope="session")
def helsinki(database_url: str) -> str:
    return load_demo_extract(database_url)


async def provision(url: str, replicas: int) -> None:
    """Every stream at `replicas`, retried while the cluster elects its meta leader."""
    for _ in range(40):
        client = await connect(url, "wildside-faults", attempts=5, wait=0.2)
        try:
            await provision_all(client.jetstream(), replicas=replicas)
            return
        except Exception:
            await asyncio.sleep(0.25)
        finally:
            await client.close()
    raise TimeoutError("the cluster did not accept the streams")


@contextlib.contextmanager
def provisioned_cluster(replicas: int) -> Iterator[NatsCluster]:
    with nats_cluster() as started:
        asyncio.run(provision(started.url, replicas))
        yield started


@pytest.fixture
def cluster() -> Iterator[NatsCluster]:
    with provisioned_cluster(REPLICAS) as started:
        yield started


def fault_env(
    database_url: str, nats_url: str, redis_url: str, replicas: int, **extra: str
) -> dict[str, str]:
    env = stack.base_env(
        database_url,
        nats_url,
        redis_url,
        {
            "NATS_STREAM_REPLICAS": str(replicas),
            "REDIS_PREFIX": unique_prefix(),
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_PER_MINUTE": "100000",
            # A killed router's job comes back 3 s later, to another router.
            "ROUTER_ACK_WAIT_SECONDS": "3",
            "ROUTER_HEARTBEAT_SECONDS": "0.5",
            "ROUTER_CONCURRENCY": "8",
            # Small solves: the machine is shared; the faults, not the solver, are tested.
            "ROUTER_SOLVER_TIME_LIMIT_SECONDS": "0.1",
            "ROUTER_CPSAT_MAX_NODES": "0",
            **extra,
        },
    )
    stack.create_dev_accounts(env)
    return env


@pytest.fixture
def env(helsinki: str, cluster: NatsCluster, redis_url: str) -> dict[str, str]:
    return fault_env(helsinki, cluster.url, redis_url, REPLICAS)


Start = Callable[..., stack.Service]


@pytest.fixture
def services() -> Iterator[list[stack.Service]]:
    """Services a test started; every one still running is stopped at the end."""
    started: list[stack.Service] = []
    yield started
    for service in reversed(started):
        service.stop()


def start(services: list[stack.Service], service: stack.Service) -> stack.Service:
    service.start()
    services.append(service)
    service.wait_ready(60)
    return service
