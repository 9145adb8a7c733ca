"""In-memory fakes of the router's ports (the store's fake is checked against the
PostgreSQL adapter by test_route_store_contract.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wildside_common.errors import Unavailable
from wildside_common.messages import GenerateRouteJob, RouteGenerationStatus, RouteStatus
from wildside_common.route import Route
from wildside_common.testing.routes import example_route
from wildside_router.ports import Progress, RequestNotRecorded


class FakeRouteStore:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self.results: dict[str, Route] = {}

    async def status_of(self, request_id: str) -> tuple[RouteStatus, str | None] | None:
        row = self.rows.get(request_id)
        return None if row is None else (row["status"], row["error"])

    async def mark_running(self, job: GenerateRouteJob) -> bool:
        row = self.rows.get(job.request_id)
        if row is None:  # never queued: the gateway rolled back after publishing it
            raise RequestNotRecorded()
        if row["status"].final:
            return False
        row.update(status=RouteStatus.RUNNING, attempts=row["attempts"] + 1)
        row["progress"] = max(row["progress"], 5)
        return True

    async def set_progress(self, request_id: str, progress: int) -> bool:
        row = self.rows[request_id]
        if row["status"] is not RouteStatus.RUNNING:
            return False
        row["progress"] = max(row["progress"], progress)
        return True

    async def save_result(self, request_id: str, route: Route) -> bool:
        row = self.rows.get(request_id)
        if row is None or row["status"].final:
            return False
        row.update(status=RouteStatus.SUCCEEDED, progress=100)
        self.results.setdefault(request_id, route)
        return True

    async def mark_failed(self, request_id: str, error: str) -> bool:
        row = self.rows.get(request_id)
        if row is None or row["status"].final:
            return False
        row.update(status=RouteStatus.FAILED, error=error)
        return True

    def queue(self, request_id: str) -> None:
        """The gateway's insert of a new request (test set-up)."""
        self.rows[request_id] = {
            "status": RouteStatus.QUEUED,
            "error": None,
            "progress": 0,
            "attempts": 0,
        }

    def cancel(self, request_id: str) -> bool:
        """The gateway's conditional cancel (test set-up): only an open request moves."""
        row = self.rows.get(request_id)
        if row is None or row["status"].final:
            return False
        row["status"] = RouteStatus.CANCELLED
        return True


class FakePublisher:
    def __init__(self) -> None:
        self.events: list[RouteGenerationStatus] = []
        self.down = False  # the bus does not acknowledge: every publish raises Unavailable

    async def publish(self, status: RouteGenerationStatus) -> None:
        if self.down:
            raise Unavailable("the message bus did not acknowledge the message")
        self.events.append(status)


class FakePlanner:
    def __init__(
        self,
        route: Route | None = None,
        error: Exception | None = None,
        delay: float = 0.0,
    ) -> None:
        self.route = route or example_route()
        self.error = error
        self.delay = delay
        self.calls = 0

    async def plan(self, job: GenerateRouteJob, progress: Progress) -> Route:
        import asyncio

        self.calls += 1
        progress(0.5)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.route


class SteppingPlanner:
    """A solve in a worker thread reporting progress every few milliseconds, as the
    solver does; `on_step(i)` runs before step i (a test cancels from there)."""

    def __init__(self, steps: int = 200, on_step: Callable[[int], None] | None = None) -> None:
        self.steps = steps
        self.on_step = on_step
        self.calls = 0
        self.done = 0  # steps completed
        self.stopped_by: BaseException | None = None

    async def plan(self, job: GenerateRouteJob, progress: Progress) -> Route:
        import asyncio
        import time

        self.calls += 1

        def solve() -> Route:
            try:
                for step in range(self.steps):
                    if self.on_step is not None:
                        self.on_step(step)
                    progress(step / self.steps)
                    self.done = step + 1
                    time.sleep(0.005)
            except BaseException as exc:
                self.stopped_by = exc
                raise
            return example_route()

        return await asyncio.to_thread(solve)


class FakeCacheWriter:
    def __init__(self) -> None:
        self.entries: dict[str, Route] = {}

    async def store(self, key: str, route: Route) -> None:
        self.entries[key] = route
