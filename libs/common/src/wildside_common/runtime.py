"""Running a service until SIGTERM or SIGINT, then draining gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from wildside_common.config import ConfigError

log = logging.getLogger(__name__)


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)


def run_service(main: Callable[[asyncio.Event], Awaitable[None]]) -> int:
    """Run `main(stop)` on uvloop; SIGTERM/SIGINT set `stop`. Returns the exit status."""

    async def runner() -> None:
        stop = asyncio.Event()
        stop_on_signals(stop)
        await main(stop)

    try:
        import uvloop

        uvloop.run(runner())
        # Stopped: the loop and its signal handlers are gone. A late SIGTERM/SIGINT (a
        # second one from an orchestrator or supervisor) would kill the process with the
        # default action while it finishes exiting, turning a clean stop into -15.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
    except ConfigError as exc:
        log.error("configuration error", extra={"error": str(exc)})
        print(f"configuration error: {exc}", flush=True)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0
