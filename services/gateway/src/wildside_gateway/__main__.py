"""Run the gateway: `python -m wildside_gateway` or `wildside-gateway`."""

from __future__ import annotations

import asyncio

import uvicorn

from wildside_common.config import EnvReader
from wildside_common.logs import configure_logging
from wildside_common.runtime import run_service
from wildside_common.telemetry import configure_tracing
from wildside_gateway.bootstrap import bootstrap
from wildside_gateway.config import GatewaySettings


async def serve(stop: asyncio.Event) -> None:
    settings = GatewaySettings.from_env(EnvReader.from_os())
    configure_logging("gateway", settings.common.log_level)
    configure_tracing(settings.common)
    async with bootstrap(settings) as gateway:
        config = uvicorn.Config(
            gateway.app,
            host=settings.host,
            port=settings.port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            loop="uvloop",
            http="httptools",
            ws="websockets-sansio",
            ws_ping_interval=20.0,
            ws_ping_timeout=20.0,
            timeout_graceful_shutdown=10,
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        await asyncio.wait(
            [task, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        server.should_exit = True
        await task


def main() -> int:
    return run_service(serve)


if __name__ == "__main__":
    raise SystemExit(main())
