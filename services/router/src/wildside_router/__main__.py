"""Run the router worker: `python -m wildside_router` or `wildside-router`."""

from __future__ import annotations

import asyncio

from wildside_common.bus.service import run_workers
from wildside_common.config import EnvReader
from wildside_common.logs import configure_logging
from wildside_common.runtime import run_service
from wildside_common.telemetry import configure_tracing
from wildside_router.bootstrap import bootstrap
from wildside_router.config import RouterSettings


async def serve(stop: asyncio.Event) -> None:
    settings = RouterSettings.from_env(EnvReader.from_os())
    configure_logging("router", settings.common.log_level)
    configure_tracing(settings.common)
    async with bootstrap(settings) as router:
        await run_workers(
            settings.common, router.ready, router.jobs, router.dead_letters, stop=stop
        )


def main() -> int:
    return run_service(serve)


if __name__ == "__main__":
    raise SystemExit(main())
