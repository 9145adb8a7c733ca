"""The GenerateRoute use case with in-memory fakes: transitions, idempotency, failures."""

from __future__ import annotations

import uuid

import pytest
from router_fakes import (
    FakeCacheWriter,
    FakePlanner,
    FakePublisher,
    FakeRouteStore,
    SteppingPlanner,
)

from wildside_common.analytics import RouteFailed, RouteGenerated
from wildside_common.errors import InvalidInput, Unavailable
from wildside_common.messages import GenerateRouteJob, GeoPoint, RouteStatus, utc_now
from wildside_common.testing.analytics import RecordingAnalytics
from wildside_common.testing.routes import example_route
from wildside_common.transport.jetstream import Action, disposition_for
from wildside_router.app import GenerateRoute, JobAbandoned, JobCancelled
from wildside_router.ports import RequestNotRecorded

pytestmark = pytest.mark.unit


def job(cache_key: str | None = "route:v1:" + "a" * 64) -> GenerateRouteJob:
    return GenerateRouteJob(
        str(uuid.uuid4()),
        str(uuid.uuid4()),
        GeoPoint(60.17, 24.94),
        60,
        ("history",),
        utc_now(),
        cache_key=cache_key,
    )


def use_case(planner: FakePlanner | SteppingPlanner, timeout: float = 5.0):
    store, publisher, cache = FakeRouteStore(), FakePublisher(), FakeCacheWriter()
    return (
        GenerateRoute(store, publisher, planner, timeout, 3, cache=cache),
        store,
        publisher,
        cache,
    )


async def test_a_job_goes_running_then_succeeded_and_is_cached() -> None:
    route = example_route()
    case, store, publisher, cache = use_case(FakePlanner(route))
    item = job()
    store.queue(item.request_id)
    await case.handle(item, attempt=1)
    assert store.rows[item.request_id]["status"] is RouteStatus.SUCCEEDED
    assert store.results[item.request_id] == route
    statuses = [e.status for e in publisher.events]
    assert statuses[0] is RouteStatus.RUNNING and statuses[-1] is RouteStatus.SUCCEEDED
    assert [e.progress for e in publisher.events] == sorted(e.progress for e in publisher.events)
    assert cache.entries == {item.cache_key: route}


async def test_a_redelivered_finished_job_is_not_run_again() -> None:
    planner = FakePlanner()
    case, store, publisher, _ = use_case(planner)
    item = job()
    store.queue(item.request_id)
    await case.handle(item, attempt=1)
    await case.handle(item, attempt=2)
    assert planner.calls == 1
    assert store.rows[item.request_id]["attempts"] == 1
    assert publisher.events[-1].status is RouteStatus.SUCCEEDED


async def test_a_job_whose_request_was_never_recorded_is_refused_and_never_announced() -> None:
    # The gateway rolled back after publishing it: the walker never got the id.
    planner = FakePlanner()
    case, store, publisher, _ = use_case(planner)
    item = job()
    with pytest.raises(RequestNotRecorded) as caught:
        await case.handle(item, attempt=1)
    assert disposition_for(caught.value, 1).action is Action.TERM
    await case.abandon(item.request_id, f"dead-lettered: {caught.value.message}")  # the hook
    assert planner.calls == 0 and store.rows == {} and publisher.events == []


async def test_timeout_ends_in_failed_timeout() -> None:
    case, store, publisher, _ = use_case(FakePlanner(delay=1.0), timeout=0.05)
    item = job()
    store.queue(item.request_id)
    await case.handle(item, attempt=1)
    assert store.rows[item.request_id]["status"] is RouteStatus.FAILED
    assert store.rows[item.request_id]["error"] == "timeout"
    assert publisher.events[-1].status is RouteStatus.FAILED
    assert publisher.events[-1].error == "timeout"


async def test_a_domain_error_fails_the_request_with_its_message() -> None:
    case, store, _, cache = use_case(FakePlanner(error=InvalidInput("no walkable network")))
    item = job()
    store.queue(item.request_id)
    await case.handle(item, attempt=1)
    assert store.rows[item.request_id]["error"] == "no walkable network"
    assert cache.entries == {}


async def test_a_crash_is_retried_until_the_last_attempt_then_fails() -> None:
    case, store, _, _ = use_case(FakePlanner(error=RuntimeError("boom")))
    item = job()
    store.queue(item.request_id)
    with pytest.raises(RuntimeError):
        await case.handle(item, attempt=1)
    assert store.rows[item.request_id]["status"] is RouteStatus.RUNNING
    with pytest.raises(JobAbandoned):
        await case.handle(item, attempt=3)
    assert store.rows[item.request_id]["status"] is RouteStatus.FAILED


async def test_a_dead_lettered_job_ends_failed_once() -> None:
    case, store, publisher, _ = use_case(FakePlanner())
    item = job()
    store.queue(item.request_id)
    await store.mark_running(item)
    await case.abandon(item.request_id, "dead-lettered: max_deliveries")
    await case.abandon(item.request_id, "again")
    assert store.rows[item.request_id]["error"] == "dead-lettered: max_deliveries"
    assert publisher.events[-1].status is RouteStatus.FAILED


async def test_a_redelivered_failed_job_is_not_run_and_its_failure_is_announced_again() -> None:
    planner = FakePlanner()
    case, store, publisher, _ = use_case(planner)
    item = job()
    store.queue(item.request_id)
    await store.mark_running(item)
    await case.abandon(item.request_id, "dead-lettered: max_deliveries")
    announced = len(publisher.events)
    await case.handle(item, attempt=1)
    assert planner.calls == 0 and len(publisher.events) == announced + 1
    assert publisher.events[-1].status is RouteStatus.FAILED


ROUTE = example_route(  # two places between the start and the end
    distance_m=2298.4, duration_minutes=58.7, themes_matched=("history",), straight_line=False
)


async def test_a_stored_route_is_one_route_generated_event_with_its_figures() -> None:
    analytics = RecordingAnalytics()
    store, publisher = FakeRouteStore(), FakePublisher()
    case = GenerateRoute(store, publisher, FakePlanner(ROUTE), 5.0, 3, analytics=analytics)
    item = job()
    store.queue(item.request_id)
    await case.handle(item, attempt=1)
    await case.handle(item, attempt=2)  # redelivered: no second event
    [event] = analytics.named("RouteGenerated")
    assert isinstance(event, RouteGenerated)
    assert (event.user_id, event.request_id) == (item.user_id, item.request_id)
    assert (event.poi_count, event.distance_m, event.duration_minutes) == (2, 2298.4, 58.7)
    assert event.themes_matched == ("history",) and event.requested_minutes == 60
    assert not event.straight_line and event.solve_seconds >= 0


async def test_a_failed_request_is_one_route_failed_event_with_its_reason() -> None:
    analytics = RecordingAnalytics()
    store, publisher = FakeRouteStore(), FakePublisher()
    slow = FakePlanner(delay=1.0)
    case = GenerateRoute(store, publisher, slow, 0.05, 3, analytics=analytics)
    item = job()
    store.queue(item.request_id)
    await case.handle(item, attempt=1)
    await case.handle(item, attempt=2)
    [event] = analytics.named("RouteFailed")
    assert isinstance(event, RouteFailed)
    assert (event.user_id, event.request_id, event.reason) == (
        item.user_id,
        item.request_id,
        "timeout",
    )
    assert analytics.named("RouteGenerated") == []


# -- cancelling ---------------------------------------------------------------------------


async def test_a_job_cancelled_while_queued_is_never_planned_and_its_status_announced() -> None:
    planner = FakePlanner()
    case, store, publisher, cache = use_case(planner)
    item = job()
    store.queue(item.request_id)
    assert store.cancel(item.request_id)
    await case.handle(item, attempt=1)  # returns normally: the worker acks the job
    assert planner.calls == 0
    assert store.rows[item.request_id]["attempts"] == 0
    assert [e.status for e in publisher.events] == [RouteStatus.CANCELLED]
    assert publisher.events[0].progress == 100
    assert cache.entries == {}


async def test_a_running_solve_stops_at_its_next_progress_report_after_a_cancel() -> None:
    item = job()
    box: list[FakeRouteStore] = []

    def on_step(step: int) -> None:
        if step == 40:  # mid-solve, from the solver's thread
            box[0].cancel(item.request_id)

    planner = SteppingPlanner(steps=400, on_step=on_step)
    case, store, publisher, cache = use_case(planner)
    box.append(store)
    store.queue(item.request_id)
    await case.handle(item, attempt=1)
    assert isinstance(planner.stopped_by, JobCancelled)
    # stopped within a progress checkpoint (10 %) and a report of the cancel
    assert 40 <= planner.done < 40 + 60
    assert store.rows[item.request_id]["status"] is RouteStatus.CANCELLED
    assert item.request_id not in store.results and cache.entries == {}
    statuses = [e.status for e in publisher.events]
    assert statuses[-1] is RouteStatus.CANCELLED
    assert RouteStatus.SUCCEEDED not in statuses
    assert statuses.count(RouteStatus.CANCELLED) == 1


async def test_a_solve_finishing_after_a_cancel_stores_and_announces_nothing_new() -> None:
    item = job()
    box: list[FakeRouteStore] = []

    class CancelledAtTheEnd(FakePlanner):
        async def plan(self, job, progress):  # type: ignore[no-untyped-def]
            route = await super().plan(job, progress)
            box[0].cancel(item.request_id)  # the user wins the race by a hair
            return route

    case, store, publisher, cache = use_case(CancelledAtTheEnd())
    box.append(store)
    store.queue(item.request_id)
    analytics = RecordingAnalytics()
    case.analytics = analytics
    await case.handle(item, attempt=1)
    assert store.rows[item.request_id]["status"] is RouteStatus.CANCELLED
    assert store.results == {} and cache.entries == {}
    assert publisher.events[-1].status is RouteStatus.CANCELLED
    assert RouteStatus.SUCCEEDED not in [e.status for e in publisher.events]
    assert analytics.named("RouteGenerated") == []


async def test_a_cancelled_request_is_not_failed_by_a_later_timeout_or_dead_letter() -> None:
    case, store, publisher, _ = use_case(FakePlanner())
    item = job()
    store.queue(item.request_id)
    store.cancel(item.request_id)
    await case.abandon(item.request_id, "dead-lettered: max deliveries")
    assert store.rows[item.request_id]["status"] is RouteStatus.CANCELLED
    assert store.rows[item.request_id]["error"] is None
    assert publisher.events[-1].status is RouteStatus.CANCELLED


async def test_a_final_event_the_bus_refuses_fails_the_job_until_announced() -> None:
    planner = FakePlanner()
    case, store, publisher, _ = use_case(planner)
    item = job()
    store.queue(item.request_id)

    async def refuse_the_final(status) -> None:
        if status.status.final:
            raise Unavailable("the message bus did not acknowledge the message")
        publisher.events.append(status)

    publisher.publish = refuse_the_final  # the stream's leader is being elected
    with pytest.raises(Unavailable):
        await case.handle(item, attempt=1)  # not acknowledged: delivered again
    assert store.rows[item.request_id]["status"] is RouteStatus.SUCCEEDED
    assert RouteStatus.SUCCEEDED not in [e.status for e in publisher.events]
    del publisher.publish  # the bus is back
    await case.handle(item, attempt=2)
    assert publisher.events[-1].status is RouteStatus.SUCCEEDED
    assert planner.calls == 1 and len(store.results) == 1


async def test_progress_the_bus_refuses_is_dropped_and_the_job_goes_on() -> None:
    case, store, publisher, _ = use_case(FakePlanner())
    item = job()
    store.queue(item.request_id)
    publisher.down = True
    with pytest.raises(Unavailable):
        await case.handle(item, attempt=1)  # running was dropped; the final one is required
    assert store.rows[item.request_id]["status"] is RouteStatus.SUCCEEDED
    assert publisher.events == []
