"""`connect` checks the server's version (INFO `version`) before a service uses it: each
real nats-server the bus runs on is accepted; one older than required is refused at once,
the error naming the version found and the version required."""

from __future__ import annotations

import pytest

from wildside_common.bus.connection import (
    MINIMUM_SERVER_VERSION,
    IncompatibleServer,
    check_server_version,
    connect,
    parse_version,
    server_urls,
)
from wildside_common.config import ConfigError
from wildside_common.testing.servers import NatsServer


@pytest.mark.contract
async def test_each_supported_server_is_accepted(bus_server: NatsServer) -> None:
    client = await connect(bus_server.url, "wildside-tests", attempts=1)
    try:
        version = parse_version(str(client._server_info["version"]))
        assert version is not None and version >= MINIMUM_SERVER_VERSION
        assert client.is_connected
    finally:
        await client.close()


@pytest.mark.contract
async def test_a_server_older_than_required_is_refused_naming_both_versions(
    bus_server: NatsServer,
) -> None:
    # Raise the bar above the running server (2.9.10 or the pinned one): the same check
    # that refuses a 2.8 server in production.
    with pytest.raises(IncompatibleServer) as refused:
        await connect(bus_server.url, "wildside-tests", attempts=1, minimum=(99, 0, 0))
    message = str(refused.value)
    probe = await connect(bus_server.url, "wildside-tests", attempts=1)
    found = str(probe._server_info["version"])
    await probe.close()
    assert f"nats-server {found}" in message
    assert "needs nats-server 99.0.0 or later" in message
    assert message.startswith("NATS_URL: ") and bus_server.url in message
    assert isinstance(refused.value, ConfigError)  # run_service: a clear message, exit 2


@pytest.mark.unit
@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("2.9.10", (2, 9, 10)),
        ("2.10.0", (2, 10, 0)),
        ("v2.15.1", (2, 15, 1)),
        ("2.11.0-RC.1", (2, 11, 0)),
        ("", None),
        ("unknown", None),
    ],
)
def test_server_versions_are_read(text: str, version: tuple[int, int, int] | None) -> None:
    assert parse_version(text) == version


@pytest.mark.unit
@pytest.mark.parametrize("found", ["2.8.4", "2.2.0", "1.4.1", "", "garbage"])
def test_servers_before_the_minimum_are_refused(found: str) -> None:
    with pytest.raises(IncompatibleServer) as refused:
        check_server_version(found, "nats://nats:4222")
    assert str(refused.value) == (
        f"NATS_URL: the server at nats://nats:4222 is nats-server "
        f"{found or 'of unknown version'}; Wildside needs nats-server 2.9.0 or later"
    )


@pytest.mark.unit
@pytest.mark.parametrize("found", ["2.9.0", "2.9.10", "2.10.7", "2.15.1", "3.0.0"])
def test_servers_from_the_minimum_on_are_accepted(found: str) -> None:
    check_server_version(found, "nats://nats:4222")


@pytest.mark.unit
def test_nats_url_may_name_every_node_of_a_cluster() -> None:
    assert server_urls("nats://a:4222") == ["nats://a:4222"]
    assert server_urls("nats://a:4222, nats://b:4223,nats://c:4224,") == [
        "nats://a:4222",
        "nats://b:4223",
        "nats://c:4224",
    ]
    with pytest.raises(ConfigError) as refused:
        server_urls(" , ")
    assert refused.value.variable == "NATS_URL"


@pytest.mark.contract
async def test_a_client_given_a_list_connects_past_a_dead_server(bus_server: NatsServer) -> None:
    dead = NatsServer()  # a free port nothing listens on: never started
    url = f"{dead.url},{bus_server.url}"
    client = await connect(url, "wildside-tests", attempts=2, wait=0.1)
    try:
        assert client.is_connected
        assert client.connected_url is not None
        assert client.connected_url.port == bus_server.port
    finally:
        await client.close()
        dead.close()
