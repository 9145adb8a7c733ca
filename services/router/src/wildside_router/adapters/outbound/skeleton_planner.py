"""Adapter running the skeleton planner off the event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from wildside_common.messages import GenerateRouteJob
from wildside_router.domain.skeleton_planner import straight_route
from wildside_router.ports import Progress


class SkeletonPlanner:
    async def plan(self, job: GenerateRouteJob, progress: Progress) -> Mapping[str, Any]:
        def compute() -> Mapping[str, Any]:
            progress(0.5)
            return straight_route(job)

        return await asyncio.to_thread(compute)
