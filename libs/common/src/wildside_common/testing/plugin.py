"""pytest plugin (loaded from the root pyproject): fixtures for real servers.

nats_server     session: a JetStream server on a free port (NatsServer)
nats_url        session: its URL
database_url    session: a scratch, migrated database (dropped at the end)
redis_url       session: the test Redis server URL
redis_prefix    function: a unique key prefix for one test
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from wildside_common.testing import servers


@pytest.fixture(scope="session")
def nats_server() -> Iterator[servers.NatsServer]:
    with servers.nats_server() as server:
        yield server


@pytest.fixture(scope="session")
def nats_url(nats_server: servers.NatsServer) -> str:
    return nats_server.url


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with servers.scratch_database() as url:
        yield url


@pytest.fixture(scope="session")
def redis_url() -> str:
    return servers.redis_url()


@pytest.fixture
def redis_prefix() -> str:
    return servers.unique_prefix()
