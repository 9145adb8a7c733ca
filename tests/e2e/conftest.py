from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e import stack
from wildside_common.testing.servers import unique_prefix


@pytest.fixture(scope="module")
def stack_env(database_url: str, nats_url: str, redis_url: str) -> dict[str, str]:
    env = stack.base_env(
        database_url,
        nats_url,
        redis_url,
        {
            "ROUTER_ACK_WAIT_SECONDS": "3",
            "ROUTER_HEARTBEAT_SECONDS": "0.5",
            # Each module gets its own Redis keys: no cached route or rate-limit count
            # leaks between modules or runs.
            "REDIS_PREFIX": unique_prefix(),
        },
    )
    stack.create_dev_accounts(env)
    return env


@pytest.fixture(scope="module")
def gateway(stack_env: dict[str, str]) -> Iterator[stack.Service]:
    with stack.running(stack.gateway(stack_env)) as (service,):
        yield service


@pytest.fixture(scope="module")
def router(stack_env: dict[str, str]) -> Iterator[stack.Service]:
    with stack.running(stack.router(stack_env)) as (service,):
        yield service
