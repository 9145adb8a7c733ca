"""Connecting to NATS with unlimited reconnects and logged, metered state changes.

nats-py re-subscribes core subscriptions after a reconnect by itself; pull consumers
issue a fresh request on every fetch, so they resume without help.
"""

from __future__ import annotations

import asyncio
import logging

import nats
from nats.aio.client import Client

from wildside_common.errors import Unavailable
from wildside_common.metrics import BUS_CONNECTED, BUS_RECONNECTS

log = logging.getLogger(__name__)


async def connect(url: str, name: str, *, attempts: int = 30, wait: float = 1.0) -> Client:
    """Connect, retrying the first connection `attempts` times; raise `Unavailable`."""

    client_box: list[Client] = []

    async def disconnected() -> None:
        BUS_CONNECTED.set(0)
        closing = bool(client_box) and (client_box[0].is_closed or client_box[0].is_draining)
        if not closing:
            log.warning("nats disconnected")

    async def reconnected() -> None:
        BUS_CONNECTED.set(1)
        BUS_RECONNECTS.inc()
        log.info("nats reconnected")

    async def error(exc: Exception) -> None:
        log.warning("nats error", extra={"error": repr(exc)})

    last: Exception | None = None
    for _ in range(max(1, attempts)):
        try:
            client = await nats.connect(
                url,
                name=name,
                # nats-py applies this limit to the *first* connection too: unlimited (-1)
                # would retry an unreachable server forever. Bounded here, unlimited once up.
                max_reconnect_attempts=1,
                reconnect_time_wait=1,
                connect_timeout=2,
                disconnected_cb=disconnected,
                reconnected_cb=reconnected,
                error_cb=error,
                allow_reconnect=True,
            )
        except Exception as exc:  # nats raises several unrelated types on refusal
            last = exc
            await asyncio.sleep(wait)
            continue
        client.options["max_reconnect_attempts"] = -1
        BUS_CONNECTED.set(1)
        client_box.append(client)
        return client
    raise Unavailable(f"cannot connect to NATS at {url}") from last
