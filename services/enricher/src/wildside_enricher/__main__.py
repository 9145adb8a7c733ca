"""Run the enricher worker: `python -m wildside_enricher` or `wildside-enricher`."""

from __future__ import annotations

import asyncio

from wildside_common.bus.service import run_workers
from wildside_common.config import EnvReader
from wildside_common.logs import configure_logging
from wildside_common.runtime import run_service
from wildside_common.telemetry import configure_tracing
from wildside_enricher.bootstrap import bootstrap
from wildside_enricher.config import EnricherSettings


async def serve(stop: asyncio.Event) -> None:
    settings = EnricherSettings.from_env(EnvReader.from_os())
    configure_logging("enricher", settings.common.log_level)
    configure_tracing(settings.common)
    async with bootstrap(settings) as enricher:
        await run_workers(
            settings.common, enricher.ready, enricher.jobs, enricher.dead_letters, stop=stop
        )


def main() -> int:
    return run_service(serve)


if __name__ == "__main__":
    raise SystemExit(main())
