"""Adapter running the skeleton planner off the event loop.

`simulated_work` (ROUTER_SIMULATED_WORK_SECONDS, default 0) stretches each job, so
reliability tests and chaos drills can kill a worker mid-job or exceed the job
timeout; it reports progress while it waits, as a real solver does.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from wildside_common.messages import GenerateRouteJob
from wildside_router.domain.skeleton_planner import straight_route
from wildside_router.ports import Progress


class SkeletonPlanner:
    def __init__(self, simulated_work: float = 0.0) -> None:
        self.simulated_work = simulated_work

    async def plan(self, job: GenerateRouteJob, progress: Progress) -> Mapping[str, Any]:
        def compute() -> Mapping[str, Any]:
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < self.simulated_work:
                progress(elapsed / self.simulated_work)
                time.sleep(min(0.05, self.simulated_work))
            progress(1.0)
            return straight_route(job)

        return await asyncio.to_thread(compute)
