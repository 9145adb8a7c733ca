"""The router with idle, reported work before each plan: a test harness, not a service.

`stack.router` starts this instead of `wildside-router` when its environment sets
ROUTER_SIMULATED_WORK_SECONDS, so the reliability tests (test_worker_failures.py) can
exceed the job timeout or kill a worker mid-job. It runs the router's own entry point
with its real planning use case wrapped in `SimulatedWork`; the production router
knows nothing of it.
"""

from __future__ import annotations

import os
from typing import Any

from wildside_common.testing.simulated_work import SimulatedWork
from wildside_router import __main__ as entry
from wildside_router import bootstrap


def main() -> int:
    seconds = float(os.environ["ROUTER_SIMULATED_WORK_SECONDS"])
    real = bootstrap.engine_planner

    def slowed(*args: Any) -> Any:
        return SimulatedWork(real(*args), seconds)

    bootstrap.engine_planner = slowed  # bootstrap() looks it up when it builds the router
    return entry.main()


if __name__ == "__main__":
    raise SystemExit(main())
