"""Serving an ASGI app with uvicorn until it ends or `stop` is set.

uvicorn captures SIGTERM/SIGINT while serving and re-raises them to the handlers
installed before (`runtime.stop_on_signals`), so `stop` is set either way and the
server drains in-flight requests (`grace` seconds) before returning.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from starlette.types import ASGIApp


async def serve_http(
    app: ASGIApp,
    host: str,
    port: int,
    stop: asyncio.Event,
    *,
    grace: float = 10.0,
    websockets: bool = False,
    reuse_port: bool = False,
) -> None:
    """`reuse_port`: bind with SO_REUSEPORT, so that several processes serve one port
    (`workers.supervise`), the kernel spreading the connections over them."""
    options: dict[str, Any] = {}
    if websockets:
        # No permessage-deflate: the frames are a few hundred bytes of JSON, and each
        # compressed socket keeps zlib state of its own (tens of KiB) for its lifetime.
        options = {
            "ws": "websockets-sansio",
            "ws_ping_interval": 20.0,
            "ws_ping_timeout": 20.0,
            "ws_per_message_deflate": False,
        }
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        # uvicorn would otherwise take X-Forwarded-For from any peer at 127.0.0.1 as the
        # client address; the gateway decides whom to believe itself (TRUSTED_PROXIES).
        proxy_headers=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=int(grace),
        **options,
    )
    server = uvicorn.Server(config)
    sockets = [reusable_socket(host, port)] if reuse_port else None
    task = asyncio.create_task(server.serve(sockets=sockets))
    waiter = asyncio.create_task(stop.wait())
    await asyncio.wait([task, waiter], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    server.should_exit = True
    await task


def reusable_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock
