"""Run tiles-auth: `python -m wildside_tiles_auth` or `wildside-tiles-auth`."""

from __future__ import annotations

import asyncio

import uvicorn

from wildside_common.config import EnvReader
from wildside_common.logs import configure_logging
from wildside_common.runtime import run_service
from wildside_common.telemetry import configure_tracing
from wildside_tiles_auth.bootstrap import bootstrap
from wildside_tiles_auth.config import TilesAuthSettings


async def serve(stop: asyncio.Event) -> None:
    settings = TilesAuthSettings.from_env(EnvReader.from_os())
    configure_logging("tiles-auth", settings.common.log_level)
    configure_tracing(settings.common)
    config = uvicorn.Config(
        bootstrap(settings),
        host=settings.host,
        port=settings.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=5,
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
