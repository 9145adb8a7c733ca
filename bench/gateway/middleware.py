"""CPU per request of the shared telemetry middleware (server span, trace-id and security
headers, metrics, access log line), in process: a trivial Starlette app called straight
through ASGI with and without `TelemetryMiddleware`, CPU time (time.process_time) per
request, median of `--rounds`. No sockets and no other process, so it is far less
disturbed by other work on the machine than `run.py`. `--gateway`: the gateway's whole
middleware stack (`bootstrap.gateway_app`: telemetry and the browser policy) instead of
the telemetry middleware alone.

    .venv/bin/python bench/gateway/middleware.py [--requests 20000] [--rounds 5] [--gateway]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import statistics
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Message

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.http import TelemetryMiddleware
from wildside_common.logs import configure_logging
from wildside_common.telemetry import configure_tracing

SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/api/v1/routes",
    "raw_path": b"/api/v1/routes",
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"gateway"), (b"content-type", b"application/json")],
    "client": ("127.0.0.1", 40000),
    "server": ("127.0.0.1", 8080),
}


async def accepted(request: Request) -> Response:
    return Response(b'{"request_id":"x"}', status_code=202, media_type="application/json")


def app(telemetry: bool, gateway: bool = False) -> Starlette:
    routes = [Route("/api/v1/routes", accepted, methods=["POST"]), Route("/x/{id}", accepted)]
    if telemetry and gateway:
        from wildside_gateway.bootstrap import gateway_app
        from wildside_gateway.shared.domain.origins import AllowedOrigins

        base = "http://gateway"
        return gateway_app(routes, AllowedOrigins.parse([base]), base)
    application = Starlette(routes=routes)
    if telemetry:
        application.add_middleware(
            TelemetryMiddleware,
            service="gateway",
            router=application.router,
            no_store_prefixes=("/api/",),
        )
    return application


async def cpu_per_request(application: Starlette, requests: int) -> float:
    async def receive() -> Message:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: Message) -> None:
        return None

    for _ in range(200):  # warm-up
        await application(dict(SCOPE), receive, send)
    started = time.process_time()
    for _ in range(requests):
        await application(dict(SCOPE), receive, send)
    return (time.process_time() - started) / requests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gateway", action="store_true", help="the gateway's whole stack")
    args = parser.parse_args()
    # As the gateway runs: INFO access lines (to /dev/null here) and the SDK's spans.
    configure_logging("gateway", "INFO")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - open for the whole run
    configure_tracing(CommonSettings.from_env(EnvReader({}), "gateway", 0))
    bare, wrapped = [], []
    for _ in range(args.rounds):
        bare.append(asyncio.run(cpu_per_request(app(False), args.requests)))
        wrapped.append(asyncio.run(cpu_per_request(app(True, args.gateway), args.requests)))
    b, w = statistics.median(bare), statistics.median(wrapped)
    name = "the gateway's middleware" if args.gateway else "telemetry"
    print(f"bare app {b:.1f} us, with {name} {w:.1f} us: the middleware {w - b:.1f} us")


if __name__ == "__main__":
    main()
