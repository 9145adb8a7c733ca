"""Running a worker service: its pull workers plus its health/metrics port, until `stop`."""

from __future__ import annotations

import asyncio

from wildside_common.bus.worker import PullWorker
from wildside_common.config import CommonSettings
from wildside_common.health import Check, serve_ops


async def run_workers(
    common: CommonSettings, ready: Check, jobs: PullWorker, *others: PullWorker, stop: asyncio.Event
) -> None:
    """Serve /health and /metrics and run every worker; ready only while `ready` passes
    and the job consumer is fetching."""

    async def consuming() -> None:
        if not jobs.running:
            raise ConnectionError("job consumer is not running")

    checks = {"ready": ready, "consumer": consuming}
    await asyncio.gather(
        serve_ops(common.metrics_host, common.metrics_port, checks, stop, common.service_name),
        jobs.run(stop),
        *(worker.run(stop) for worker in others),
    )
