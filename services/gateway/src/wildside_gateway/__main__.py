"""Run the gateway: `python -m wildside_gateway` or `wildside-gateway`.

With `GATEWAY_WORKERS=N` (N > 1) this process supervises N gateway processes that all
serve `GATEWAY_PORT` (SO_REUSEPORT); worker i serves its health and metrics on
`METRICS_PORT + i` (one registry per process: Prometheus scrapes each and sums).
"""

from __future__ import annotations

import asyncio
import sys

from wildside_common.config import ConfigError, EnvReader
from wildside_common.health import serve_ops
from wildside_common.logs import configure_logging
from wildside_common.runtime import run_service
from wildside_common.server import serve_http
from wildside_common.telemetry import configure_tracing
from wildside_common.workers import supervise, worker_index
from wildside_gateway.bootstrap import bootstrap
from wildside_gateway.config import GatewaySettings, gateway_workers

WORKER = "WILDSIDE_GATEWAY_WORKER"  # set by the supervisor: this worker's index


async def serve(stop: asyncio.Event) -> None:
    settings = GatewaySettings.from_env(EnvReader.from_os())
    configure_logging("gateway", settings.common.log_level)
    configure_tracing(settings.common)
    common = settings.common
    index = worker_index(WORKER)
    async with bootstrap(settings) as gateway:
        await asyncio.gather(
            serve_http(
                gateway.app,
                settings.host,
                settings.port,
                stop,
                websockets=True,
                reuse_port=index is not None,
            ),
            serve_ops(
                common.metrics_host,
                common.metrics_port + (index or 0),
                gateway.checks,
                stop,
                "gateway",
            ),
        )


def main() -> int:
    if worker_index(WORKER) is None:
        try:
            workers = gateway_workers(EnvReader.from_os())
        except ConfigError as exc:
            print(f"configuration error: {exc}", flush=True)
            return 2
        if workers > 1:
            return supervise(workers, WORKER, [sys.executable, "-m", "wildside_gateway"])
    return run_service(serve)


if __name__ == "__main__":
    raise SystemExit(main())
