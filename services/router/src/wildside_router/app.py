"""The router's use case: take one GenerateRouteJob to exactly one final status.

Idempotent under at-least-once delivery: a request with a final status is not run
again (its final event is re-announced so late listeners still learn it); the
result is stored once. A final event the bus does not acknowledge (a stream leader
election, the bus down) fails the job with `Unavailable`, so it is not acknowledged: its
next delivery finds the status stored and announces it again. A socket subscribed before
the end learns the end from the bus alone (tests/faults/test_nats_node.py found
subscribers waiting forever when this event was dropped). Progress events stay best
effort: the next one, or the final one, supersedes them. A job that keeps failing is
marked failed on its last permitted attempt, so an accepted request always reaches a final status.

Cancelling (the gateway stores `cancelled` for a queued or running request): a job
whose request is cancelled before it starts is acknowledged unsolved; a running one
learns it at its next progress write (which only moves a request still `running`) and
stops at the planner's next progress report (`JobCancelled` is raised from the
callback); a solve that finishes anyway stores nothing, because every write is
conditional on the request being open. docs/engine.md argues the choice.

A job whose request has no row (the gateway rolled back after publishing it) is refused:
`mark_running` raises RequestNotRecorded (InvalidInput), which the worker dead-letters
with its reason; nothing is stored and no status is published.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from prometheus_client import Counter, Histogram

from wildside_common.analytics import Analytics, NullAnalytics, RouteFailed, RouteGenerated
from wildside_common.errors import DomainError, InvalidInput
from wildside_common.messages import (
    GenerateRouteJob,
    RouteGenerationStatus,
    RouteStatus,
    can_transition,
    utc_now,
)
from wildside_common.route import Route
from wildside_router.ports import RouteCacheWriter, RoutePlanner, RouteStore, StatusPublisher

log = logging.getLogger(__name__)
ROUTE_DURATION = Histogram(
    "wildside_engine_route_duration_seconds",
    "Route computation time",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60),
)
ROUTES = Counter("wildside_routes_total", "Route requests finished", ["outcome", "reason"])
RUNNING_PROGRESS = 5


class JobAbandoned(InvalidInput):
    """The job failed on its last attempt; its request is marked failed (term it)."""


class JobCancelled(Exception):
    """Raised from the progress callback once the request is known to be no longer
    running (cancelled, or ended elsewhere): the planner stops where it reports."""


class GenerateRoute:
    def __init__(
        self,
        store: RouteStore,
        publisher: StatusPublisher,
        planner: RoutePlanner,
        job_timeout: float,
        max_attempts: int,
        cache: RouteCacheWriter | None = None,
        clock: Callable[[], datetime] = utc_now,
        analytics: Analytics | None = None,
    ) -> None:
        self.analytics = analytics or NullAnalytics()
        self.store = store
        self.publisher = publisher
        self.planner = planner
        self.job_timeout = job_timeout
        self.max_attempts = max_attempts
        self.clock = clock
        self.cache = cache

    async def handle(self, job: GenerateRouteJob, attempt: int) -> None:
        current = await self.store.status_of(job.request_id)
        if current is not None and not can_transition(current[0], RouteStatus.RUNNING):
            if current[0] is RouteStatus.CANCELLED:  # cancelled while queued: never started
                ROUTES.labels("cancelled", "queued").inc()
            await self._announce(job.request_id, current[0], current[1])
            return
        if not await self.store.mark_running(job):
            await self._announce_stored(job.request_id)  # ended (cancelled) meanwhile
            return
        await self._announce(job.request_id, RouteStatus.RUNNING, None, RUNNING_PROGRESS)
        started = time.perf_counter()
        try:
            route = await self._plan(job)
        except JobCancelled:
            stored = await self._announce_stored(job.request_id)
            if stored is RouteStatus.CANCELLED:
                ROUTES.labels("cancelled", "running").inc()
            return
        except TimeoutError:
            await self._fail(job.request_id, "timeout", "timeout", job.user_id)
            return
        except DomainError as exc:
            await self._fail(job.request_id, exc.message, exc.code, job.user_id)
            return
        except Exception as exc:
            if attempt >= self.max_attempts:
                await self._fail(job.request_id, "internal error", "exhausted", job.user_id)
                raise JobAbandoned(f"gave up after {attempt} attempts") from exc
            raise
        if not await self.store.save_result(job.request_id, route):
            # It ended while solving (cancelled, most likely): the stored status stands.
            await self._announce_stored(job.request_id)
            return
        ROUTES.labels("succeeded", "").inc()
        seconds = time.perf_counter() - started
        # One line per walk (the job's request_id and trace_id come from the log context);
        # counts and timings only, never the places or the start.
        log.info(
            "route stored",
            extra={"seconds": round(seconds, 3), "stops": len(route.places), "attempt": attempt},
        )
        self.analytics.capture(_generated(job, route, seconds))
        if job.cache_key and self.cache is not None:
            await self.cache.store(job.cache_key, route)
        await self._announce(job.request_id, RouteStatus.SUCCEEDED, None, 100)

    async def abandon(self, request_id: str, reason: str) -> None:
        """A dead-lettered job: make sure its request ends (failed) if it has not."""
        await self._fail(request_id, reason, "dead_letter")

    async def _plan(self, job: GenerateRouteJob) -> Route:
        loop = asyncio.get_running_loop()
        last = [RUNNING_PROGRESS]
        stopped = threading.Event()  # set on the loop, read in the solver's thread

        def progress(fraction: float) -> None:
            if stopped.is_set():
                raise JobCancelled(job.request_id)
            value = min(99, max(RUNNING_PROGRESS, int(fraction * 100)))
            if value >= last[0] + 10:
                last[0] = value
                loop.call_soon_threadsafe(self._schedule_progress, job.request_id, value, stopped)

        started = time.perf_counter()
        try:
            return await asyncio.wait_for(self.planner.plan(job, progress), self.job_timeout)
        finally:
            ROUTE_DURATION.observe(time.perf_counter() - started)

    def _schedule_progress(self, request_id: str, value: int, stopped: threading.Event) -> None:
        task = asyncio.create_task(self._progress(request_id, value, stopped))
        task.add_done_callback(lambda t: t.exception() if not t.cancelled() else None)

    async def _progress(self, request_id: str, value: int, stopped: threading.Event) -> None:
        # The progress write is the cancel checkpoint: it moves only a running request.
        if not await self.store.set_progress(request_id, value):
            stopped.set()
            return
        await self._announce(request_id, RouteStatus.RUNNING, None, value)

    async def _fail(
        self, request_id: str, error: str, reason: str, user_id: str | None = None
    ) -> None:
        if await self.store.mark_failed(request_id, error):
            ROUTES.labels("failed", reason).inc()
            if user_id is not None:  # a dead letter's user is unknown here: metric only
                self.analytics.capture(RouteFailed(user_id, request_id, reason))
        await self._announce_stored(request_id)

    async def _announce_stored(self, request_id: str) -> RouteStatus | None:
        """Publish the stored status again (a final one is de-duplicated by its message
        id, so one published by the gateway, `cancelled`, is on the stream once)."""
        current = await self.store.status_of(request_id)
        if current is None:
            return None
        await self._announce(request_id, current[0], current[1])
        return current[0]

    async def _announce(
        self, request_id: str, status: RouteStatus, error: str | None, progress: int | None = None
    ) -> None:
        if progress is None:
            progress = 100 if status.final else 0
        event = RouteGenerationStatus(
            request_id,
            status,
            progress,
            self.clock(),
            error if status is RouteStatus.FAILED else None,
        )
        try:
            await self.publisher.publish(event)
        except DomainError:
            log.warning(
                "status event not published; the store holds it",
                extra={"request_id": request_id, "status": status.value},
            )
            if status.final:
                raise  # not acknowledged: the job comes back and announces it again


def _generated(job: GenerateRouteJob, route: Route, seconds: float) -> RouteGenerated:
    """The analytics event for a stored route (its figures, never its places)."""
    return RouteGenerated(
        job.user_id,
        job.request_id,
        job.duration_minutes,
        route.distance_m,
        route.duration_minutes,
        len(route.places),
        route.themes_matched,
        route.straight_line,
        round(seconds, 3),
    )
