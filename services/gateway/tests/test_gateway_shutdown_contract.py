"""The gateway composed by `bootstrap` shuts down cleanly with a WebSocket open: once its
block ends, neither the sockets' session watch nor the revocation mirror's follower is left
on the loop, and nothing starts them again (a session check that read the revocations
after they closed would restart the follower on a closed client)."""

from __future__ import annotations

import asyncio

import pytest
from gateway_live import serving
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

pytestmark = pytest.mark.contract

GATEWAY_TASKS = {"ws-session-watch", "session-revocations"}


def gateway_tasks() -> list[str]:
    return sorted(
        task.get_name()
        for task in asyncio.all_tasks()
        if task.get_name() in GATEWAY_TASKS and not task.done()
    )


async def test_no_session_check_outlives_the_gateway(
    database_url: str, nats_url: str, redis_url: str, redis_prefix: str
) -> None:
    async with serving(database_url, nats_url, redis_url, redis_prefix) as served:
        socket = await connect(
            f"ws://127.0.0.1:{served.port}/ws",
            additional_headers={"Cookie": f"session={served.tokens['alice']}"},
            subprotocols=[Subprotocol("wildside.v1")],
            open_timeout=5,
        )
        await asyncio.sleep(0.6)  # the watch has checked the socket at least once
        assert gateway_tasks() == sorted(GATEWAY_TASKS)  # both run while it serves
    assert gateway_tasks() == []
    for _ in range(10):  # and nothing starts them again afterwards
        await asyncio.sleep(0.1)
        assert gateway_tasks() == []
    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(socket.recv(), 5)
