"""`SimulatedWork`: a planner wrapper that idles, reporting progress, before the real work.

A test harness, not part of any engine: the end-to-end reliability tests start a router
from tests/e2e/slow_router.py, which wraps the real planning use case in it when
ROUTER_SIMULATED_WORK_SECONDS is set, so they can exceed the job timeout or kill a worker
mid-job (tests/e2e/test_worker_failures.py). It imports nothing outside the standard
library.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

Job = TypeVar("Job", contravariant=True)
Result = TypeVar("Result", covariant=True)
J = TypeVar("J")
R = TypeVar("R")


class Plans(Protocol[Job, Result]):
    async def plan(self, job: Job, progress: Callable[[float], None]) -> Result: ...


class SimulatedWork(Generic[J, R]):
    """Wait `seconds` (reporting progress up to one half), then plan with `inner`."""

    def __init__(self, inner: Plans[J, R], seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds

    async def plan(self, job: J, progress: Callable[[float], None]) -> R:
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < self.seconds:
            progress(0.5 * elapsed / self.seconds)
            await asyncio.sleep(min(0.05, self.seconds))
        return await self.inner.plan(job, progress)
