"""The test helper's nats-server: the one answering on its port is the one it started."""

from __future__ import annotations

import pytest

from wildside_common.testing.servers import NatsServer, nats_server

pytestmark = pytest.mark.contract


def test_a_port_taken_by_another_server_moves_to_a_free_one() -> None:
    with nats_server() as first:
        second = NatsServer()
        second.port = first.port  # as when two test processes picked the same free port
        try:
            second.start()
            assert second.port != first.port
            assert second.process is not None and second.process.poll() is None
        finally:
            second.close()
        assert first.process is not None and first.process.poll() is None


def test_a_restart_keeps_its_port() -> None:
    with nats_server() as server:
        port = server.port
        server.stop()
        server.start()
        assert server.port == port
