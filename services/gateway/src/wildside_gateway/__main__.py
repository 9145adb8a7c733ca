"""Run the gateway: `python -m wildside_gateway` or `wildside-gateway`."""

from __future__ import annotations

import asyncio

from wildside_common.config import EnvReader
from wildside_common.health import serve_ops
from wildside_common.logs import configure_logging
from wildside_common.runtime import run_service
from wildside_common.server import serve_http
from wildside_common.telemetry import configure_tracing
from wildside_gateway.bootstrap import bootstrap
from wildside_gateway.config import GatewaySettings


async def serve(stop: asyncio.Event) -> None:
    settings = GatewaySettings.from_env(EnvReader.from_os())
    configure_logging("gateway", settings.common.log_level)
    configure_tracing(settings.common)
    common = settings.common
    async with bootstrap(settings) as gateway:
        await asyncio.gather(
            serve_http(gateway.app, settings.host, settings.port, stop, websockets=True),
            serve_ops(common.metrics_host, common.metrics_port, gateway.checks, stop, "gateway"),
        )


def main() -> int:
    return run_service(serve)


if __name__ == "__main__":
    raise SystemExit(main())
