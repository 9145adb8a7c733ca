"""Run tiles-auth: `python -m wildside_tiles_auth` or `wildside-tiles-auth`; the
development tile server: `wildside-tiles-dev`."""

from __future__ import annotations

import asyncio

from wildside_common.config import EnvReader
from wildside_common.logs import configure_logging
from wildside_common.runtime import run_service
from wildside_common.server import serve_http
from wildside_common.telemetry import configure_tracing
from wildside_tiles_auth.bootstrap import bootstrap, bootstrap_dev_tiles
from wildside_tiles_auth.config import DevTilesSettings, TilesAuthSettings


async def serve(stop: asyncio.Event) -> None:
    settings = TilesAuthSettings.from_env(EnvReader.from_os())
    configure_logging("tiles-auth", settings.common.log_level)
    configure_tracing(settings.common)
    await serve_http(bootstrap(settings), settings.host, settings.port, stop, grace=5)


async def serve_dev_tiles(stop: asyncio.Event) -> None:
    settings = DevTilesSettings.from_env(EnvReader.from_os())
    configure_logging("tiles-dev", settings.auth.common.log_level)
    configure_tracing(settings.auth.common)
    app = bootstrap_dev_tiles(settings)
    await serve_http(app, settings.host, settings.port, stop, grace=5)


def main() -> int:
    return run_service(serve)


def dev_main() -> int:
    return run_service(serve_dev_tiles)


if __name__ == "__main__":
    raise SystemExit(main())
