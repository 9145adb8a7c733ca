"""`/health/live`, `/health/ready` and `/metrics` for every long-running service.

Readiness runs the service's own dependency checks (each a coroutine that raises when
its dependency does not answer) with a short timeout; liveness only says the process
serves. Workers serve these on a small HTTP port of their own (`serve_ops`,
`METRICS_HOST`/`METRICS_PORT`); so does the gateway, whose public port serves the health
routes without `/metrics` (the metrics name routes and counts nobody outside should see).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_common.http import TelemetryMiddleware
from wildside_common.metrics import exposition
from wildside_common.server import serve_http
from wildside_common.transport.http import JSONResponse

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[object]]


async def run_checks(checks: Mapping[str, Check], timeout: float = 2.0) -> dict[str, str]:
    async def one(check: Check) -> str:
        try:
            await asyncio.wait_for(check(), timeout)
        except Exception as exc:
            return f"failed: {type(exc).__name__}"
        return "ok"

    names = list(checks)
    results = await asyncio.gather(*(one(checks[name]) for name in names))
    return dict(zip(names, results, strict=True))


def health_routes(checks: Mapping[str, Check], *, metrics: bool = True) -> list[Route]:
    """`/health/live`, `/health/ready` and, unless `metrics` is False, `/metrics`."""

    async def live(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        results = await run_checks(checks)
        healthy = all(value == "ok" for value in results.values())
        return JSONResponse(
            {"status": "ok" if healthy else "unavailable", "checks": results},
            status_code=200 if healthy else 503,
        )

    routes = [
        Route("/health/live", live, methods=["GET"]),
        Route("/health/ready", ready, methods=["GET"]),
    ]
    if metrics:
        routes.append(Route("/metrics", exposition_endpoint, methods=["GET"]))
    return routes


async def exposition_endpoint(_: Request) -> Response:
    body, content_type = exposition()
    return Response(body, media_type=content_type)


def ops_app(checks: Mapping[str, Check], service: str) -> Starlette:
    """The health and metrics routes behind the shared middleware (security headers)."""
    app = Starlette(routes=health_routes(checks))
    app.add_middleware(TelemetryMiddleware, service=service, router=app.router)
    return app


async def serve_ops(
    host: str, port: int, checks: Mapping[str, Check], stop: asyncio.Event, service: str
) -> None:
    """Serve the health and metrics routes until `stop` is set."""
    await serve_http(ops_app(checks, service), host, port, stop, grace=2)
