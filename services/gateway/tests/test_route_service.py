"""Route submission use case with in-memory fakes."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import uuid

import pytest
from gateway_route_fakes import (
    FakeAnnouncer,
    FakeCache,
    FakeLimiter,
    FakeQueue,
    FakeRouteRequests,
    FakeThemes,
)

from wildside_common.analytics import RouteCancelled, RouteRequested
from wildside_common.errors import (
    AlreadyFinal,
    Conflict,
    InvalidInput,
    NotFound,
    RateLimited,
    Timeout,
    Unauthorized,
    Unavailable,
)
from wildside_common.messages import RouteStatus
from wildside_common.pagination import PageParams
from wildside_common.testing.analytics import RecordingAnalytics
from wildside_common.testing.routes import example_route
from wildside_gateway.routes.adapters.batching import MicroBatching
from wildside_gateway.routes.app import Accepted, RouteService, SubmissionPolicy
from wildside_gateway.routes.domain.canonical import cache_key
from wildside_gateway.routes.domain.routes import DurationBounds, parse_route_request
from wildside_gateway.shared.domain.principal import Principal

pytestmark = pytest.mark.unit
BODY = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60, "preferences": ["history"]}
ALICE = Principal(str(uuid.uuid4()))
BOB = Principal(str(uuid.uuid4()))


def service(
    queue: FakeQueue | None = None, limit: int = 1000, cache: FakeCache | None = None
) -> tuple[RouteService, FakeRouteRequests]:
    store = FakeRouteRequests()
    svc = RouteService(
        store,
        queue or FakeQueue(),
        FakeAnnouncer(),
        FakeThemes(),
        SubmissionPolicy(DurationBounds(10, 480)),
        cache or FakeCache(),
        FakeLimiter(limit),
        batching=MicroBatching(),
    )
    return svc, store


async def test_accepted_request_is_queued_with_its_job() -> None:
    queue = FakeQueue()
    svc, store = service(queue)
    accepted = await svc.submit(ALICE, BODY)
    assert store.requests[accepted.request_id].status is RouteStatus.QUEUED
    assert [job.request_id for job in queue.jobs] == [accepted.request_id]
    assert queue.jobs[0].cache_key and queue.jobs[0].cache_key.startswith("route:v1:")


async def test_bus_failure_records_nothing() -> None:
    svc, store = service(FakeQueue(fail_with=Unavailable("bus down")))
    with pytest.raises(Unavailable):
        await svc.submit(ALICE, BODY)
    assert store.requests == {} and store.keys == {}


async def test_same_key_same_payload_replays_and_makes_no_second_job() -> None:
    queue = FakeQueue()
    svc, _ = service(queue)
    key = str(uuid.uuid4())
    first = await svc.submit(ALICE, BODY, key)
    again = await svc.submit(ALICE, {**BODY, "preferences": ["history", "history"]}, key)
    assert again.request_id == first.request_id and again.replayed
    assert len(queue.jobs) == 1


async def test_same_key_other_payload_conflicts() -> None:
    svc, _ = service()
    key = str(uuid.uuid4())
    await svc.submit(ALICE, BODY, key)
    with pytest.raises(Conflict, match="Idempotency key conflict"):
        await svc.submit(ALICE, {**BODY, "duration_minutes": 61}, key)


async def test_keys_are_scoped_per_user() -> None:
    svc, _ = service()
    key = str(uuid.uuid4())
    first = await svc.submit(ALICE, BODY, key)
    other = await svc.submit(BOB, {**BODY, "duration_minutes": 90}, key)
    assert other.request_id != first.request_id


async def test_rate_limit_applies_but_not_to_replays() -> None:
    svc, _ = service(limit=1)
    key = str(uuid.uuid4())
    await svc.submit(ALICE, BODY, key)
    assert (await svc.submit(ALICE, BODY, key)).replayed
    with pytest.raises(RateLimited):
        await svc.submit(ALICE, BODY)


async def test_cache_hit_is_recorded_succeeded_without_a_job() -> None:
    cache, queue = FakeCache(), FakeQueue()
    request = parse_route_request(BODY, await FakeThemes().theme_ids(), DurationBounds(10, 480))
    policy = SubmissionPolicy(DurationBounds(10, 480))
    route = example_route()
    cache.entries[cache_key(request, policy.cache_namespace, policy.engine_version)] = route
    svc, store = service(queue, cache=cache)
    accepted = await svc.submit(ALICE, BODY)
    state = store.requests[accepted.request_id]
    assert state.status is RouteStatus.SUCCEEDED and state.result == route
    assert queue.jobs == []


async def test_another_users_request_is_not_found() -> None:
    svc, _ = service()
    accepted = await svc.submit(ALICE, BODY)
    assert (await svc.state(ALICE, accepted.request_id)).request_id == accepted.request_id
    with pytest.raises(NotFound):
        await svc.state(BOB, accepted.request_id)
    with pytest.raises(NotFound):
        await svc.state(ALICE, "not-a-uuid")


async def test_invalid_body_never_reaches_the_store() -> None:
    svc, store = service()
    with pytest.raises(InvalidInput):
        await svc.submit(ALICE, {**BODY, "duration_minutes": 5})
    assert store.requests == {}


class SelectiveQueue(FakeQueue):
    """Acknowledges every job but those of the given seeds."""

    def __init__(self, refuse_seeds: set[int]) -> None:
        super().__init__()
        self.refuse_seeds = refuse_seeds

    async def enqueue_many(self, jobs):
        verdicts = []
        for item in jobs:
            if item.job.seed in self.refuse_seeds:
                verdicts.append(Unavailable("bus refused"))
            else:
                self.jobs.append(item.job)
                verdicts.append(None)
        return verdicts


def body(seed: int) -> dict:
    return {**BODY, "seed": seed}


async def test_concurrent_submissions_share_batches_and_each_gets_its_own_job() -> None:
    queue = FakeQueue()
    svc, store = service(queue)
    accepted = await asyncio.gather(*(svc.submit(ALICE, body(n)) for n in range(40)))
    assert len({a.request_id for a in accepted}) == 40
    assert sorted(job.seed for job in queue.jobs) == list(range(40))
    assert {job.request_id for job in queue.jobs} == {a.request_id for a in accepted}
    assert sum(store.batches) == 40 and max(store.batches) > 1  # batched, nothing lost
    assert len(store.batches) < 40


async def test_one_key_submitted_concurrently_makes_one_job_and_replays_the_rest() -> None:
    queue = FakeQueue()
    svc, store = service(queue)
    key = str(uuid.uuid4())
    results = await asyncio.gather(*(svc.submit(ALICE, BODY, key) for _ in range(12)))
    assert len(queue.jobs) == 1
    assert {r.request_id for r in results} == {queue.jobs[0].request_id}
    assert sum(not r.replayed for r in results) == 1
    assert len(store.requests) == 1


async def test_a_key_reused_with_another_payload_in_the_same_batch_conflicts() -> None:
    svc, _ = service()
    key = str(uuid.uuid4())
    results = await asyncio.gather(
        svc.submit(ALICE, body(1), key), svc.submit(ALICE, body(2), key), return_exceptions=True
    )
    assert isinstance(results[0], Accepted) and not results[0].replayed
    assert isinstance(results[1], Conflict)


async def test_a_job_the_bus_refuses_fails_alone_and_leaves_no_record() -> None:
    queue = SelectiveQueue({3})
    svc, store = service(queue)
    keys = [str(uuid.uuid4()) for _ in range(6)]
    results = await asyncio.gather(
        *(svc.submit(ALICE, body(n), keys[n]) for n in range(6)), return_exceptions=True
    )
    assert isinstance(results[3], Unavailable)
    assert all(isinstance(r, Accepted) for i, r in enumerate(results) if i != 3)
    assert len(store.requests) == 5 and (ALICE.user_id, keys[3]) not in store.keys
    assert sorted(job.seed for job in queue.jobs) == [0, 1, 2, 4, 5]


async def test_a_user_without_account_is_refused_401_and_the_batch_goes_on() -> None:
    """A session that outlived its account (deleted, its revocation not yet seen): that
    submission is 401, the others in its batch are accepted with their jobs."""
    queue = FakeQueue()
    svc, store = service(queue)
    store.users = {ALICE.user_id}
    results = await asyncio.gather(
        *(svc.submit(BOB if n == 2 else ALICE, body(n)) for n in range(5)),
        return_exceptions=True,
    )
    assert isinstance(results[2], Unauthorized)
    assert all(isinstance(r, Accepted) for i, r in enumerate(results) if i != 2)
    assert sorted(job.seed for job in queue.jobs) == [0, 1, 3, 4]
    assert max(store.batches) > 1  # they shared a batch


async def test_rate_limit_refuses_within_a_batch_per_request() -> None:
    svc, store = service(limit=3)
    results = await asyncio.gather(
        *(svc.submit(ALICE, body(n)) for n in range(5)), return_exceptions=True
    )
    assert sum(isinstance(r, Accepted) for r in results) == 3
    assert sum(isinstance(r, RateLimited) for r in results) == 2
    assert len(store.requests) == 3


async def test_accepted_and_cached_requests_are_announced_replays_are_not() -> None:
    svc, _ = service()
    announcer = svc.announcer
    key = str(uuid.uuid4())
    first = await svc.submit(ALICE, BODY, key)
    await svc.submit(ALICE, BODY, key)
    assert [(e.request_id, e.status) for e in announcer.events] == [
        (first.request_id, RouteStatus.QUEUED)
    ]


REQUEST_NAME: contextvars.ContextVar[str] = contextvars.ContextVar("request_name")


async def test_a_batch_announces_its_new_requests_in_one_burst_each_in_its_own_context() -> None:
    cache = FakeCache()
    cached_body = {**BODY, "duration_minutes": 90}
    request = parse_route_request(
        cached_body, await FakeThemes().theme_ids(), DurationBounds(10, 480)
    )
    policy = SubmissionPolicy(DurationBounds(10, 480))
    cache.entries[cache_key(request, policy.cache_namespace, policy.engine_version)] = (
        example_route()
    )
    svc, _ = service(cache=cache)
    key = str(uuid.uuid4())
    earlier = await svc.submit(ALICE, BODY, key)
    announcer = svc.announcer
    assert [len(burst) for burst in announcer.bursts] == [1]

    async def submit(name: str, body: dict[str, object], key: str | None = None) -> Accepted:
        REQUEST_NAME.set(name)  # this task's own context, as a request's trace is
        return await svc.submit(ALICE, body, key)

    results = await asyncio.gather(
        submit("a", BODY),
        submit("b", {**BODY, "duration_minutes": 61}),
        submit("replay", BODY, key),
        submit("cached", cached_body),
    )
    assert results[2].request_id == earlier.request_id and results[2].replayed
    (burst,) = announcer.bursts[1:]  # the four formed one batch: one burst, replay left out
    announced = {out.context.run(REQUEST_NAME.get): out.status for out in burst}
    assert set(announced) == {"a", "b", "cached"}
    for name, accepted in zip(
        ("a", "b", "cached"), (results[0], results[1], results[3]), strict=True
    ):
        assert announced[name].request_id == accepted.request_id
    assert (announced["a"].status, announced["a"].progress) == (RouteStatus.QUEUED, 0)
    assert (announced["cached"].status, announced["cached"].progress) == (
        RouteStatus.SUCCEEDED,
        100,
    )


async def test_a_batch_that_overruns_the_timeout_is_refused_and_records_nothing() -> None:
    class SlowStore(FakeRouteRequests):
        async def stored_responses(self, keys):
            await asyncio.sleep(0.2)
            return await super().stored_responses(keys)

    store = SlowStore()
    svc = RouteService(
        store,
        FakeQueue(),
        FakeAnnouncer(),
        FakeThemes(),
        SubmissionPolicy(DurationBounds(10, 480), timeout=0.1),
        FakeCache(),
        FakeLimiter(),
        batching=MicroBatching(concurrency=1),
    )
    results = await asyncio.gather(
        svc.submit(ALICE, body(1), str(uuid.uuid4())),
        svc.submit(ALICE, body(2)),
        return_exceptions=True,
    )
    assert all(isinstance(r, Timeout) for r in results)
    assert store.requests == {} and store.keys == {}


async def test_each_new_request_is_one_route_requested_event_replays_are_none() -> None:
    analytics = RecordingAnalytics()
    svc = RouteService(
        FakeRouteRequests(),
        FakeQueue(),
        FakeAnnouncer(),
        FakeThemes(),
        SubmissionPolicy(DurationBounds(10, 480)),
        FakeCache(),
        FakeLimiter(),
        analytics=analytics,
        batching=MicroBatching(),
    )
    key = str(uuid.uuid4())
    first = await svc.submit(ALICE, {**BODY, "preferences": ["nature", "history"], "seed": 3}, key)
    await svc.submit(ALICE, {**BODY, "preferences": ["nature", "history"], "seed": 3}, key)
    [event] = analytics.events
    assert isinstance(event, RouteRequested)
    assert (event.user_id, event.request_id) == (ALICE.user_id, first.request_id)
    assert event.themes == ("history", "nature") and event.duration_minutes == 60
    assert event.seeded and not event.one_way and not event.from_cache


# -- cancelling ---------------------------------------------------------------------------


class CountingMetrics:
    def __init__(self) -> None:
        self.cancels: list[str] = []

    def idempotency(self, outcome: str, user_scope: str, key_age: str) -> None:
        pass

    def cancel(self, outcome: str) -> None:
        self.cancels.append(outcome)


def cancelling(cancel_limit: int = 1000):
    store, announcer, analytics, metrics = (
        FakeRouteRequests(),
        FakeAnnouncer(),
        RecordingAnalytics(),
        CountingMetrics(),
    )
    svc = RouteService(
        store,
        FakeQueue(),
        announcer,
        FakeThemes(),
        SubmissionPolicy(DurationBounds(10, 480)),
        FakeCache(),
        FakeLimiter(),
        analytics=analytics,
        metrics=metrics,
        cancel_limiter=FakeLimiter(cancel_limit),
    )
    return svc, store, announcer, analytics, metrics


@pytest.mark.parametrize("status", [RouteStatus.QUEUED, RouteStatus.RUNNING])
async def test_an_open_request_is_cancelled_stored_and_announced(status: RouteStatus) -> None:
    svc, store, announcer, analytics, metrics = cancelling()
    accepted = await svc.submit(ALICE, BODY)
    if status is RouteStatus.RUNNING:
        store.requests[accepted.request_id] = dataclasses.replace(
            store.requests[accepted.request_id], status=status
        )
    event = await svc.cancel(ALICE, accepted.request_id.upper())  # any case names it
    assert (event.request_id, event.status, event.progress) == (
        accepted.request_id,
        RouteStatus.CANCELLED,
        100,
    )
    assert (await svc.state(ALICE, accepted.request_id)).status is RouteStatus.CANCELLED
    assert announcer.events[-1] == event
    [captured] = analytics.named("RouteCancelled")
    assert captured == RouteCancelled(ALICE.user_id, accepted.request_id, status.value)
    assert metrics.cancels == ["cancelled"]


@pytest.mark.parametrize("status", [RouteStatus.SUCCEEDED, RouteStatus.FAILED])
async def test_an_ended_request_is_already_final_and_nothing_is_announced(
    status: RouteStatus,
) -> None:
    svc, store, announcer, analytics, metrics = cancelling()
    accepted = await svc.submit(ALICE, BODY)
    store.finish(accepted.request_id, status)
    announced = len(announcer.events)
    with pytest.raises(AlreadyFinal) as caught:
        await svc.cancel(ALICE, accepted.request_id)
    assert caught.value.code == "already_final"
    assert caught.value.details == {"status": status.value}
    assert (await svc.state(ALICE, accepted.request_id)).status is status
    assert len(announcer.events) == announced and analytics.named("RouteCancelled") == []
    assert metrics.cancels == ["already_final"]


async def test_a_second_cancel_is_already_final() -> None:
    svc, _, announcer, _, metrics = cancelling()
    accepted = await svc.submit(ALICE, BODY)
    await svc.cancel(ALICE, accepted.request_id)
    with pytest.raises(AlreadyFinal):
        await svc.cancel(ALICE, accepted.request_id)
    assert [e.status for e in announcer.events].count(RouteStatus.CANCELLED) == 1
    assert metrics.cancels == ["cancelled", "already_final"]


async def test_another_users_or_an_unknown_request_is_not_found_and_left_alone() -> None:
    svc, _, announcer, _, metrics = cancelling()
    accepted = await svc.submit(ALICE, BODY)
    with pytest.raises(NotFound):
        await svc.cancel(BOB, accepted.request_id)
    with pytest.raises(NotFound):
        await svc.cancel(ALICE, str(uuid.uuid4()))
    assert (await svc.state(ALICE, accepted.request_id)).status is RouteStatus.QUEUED
    assert RouteStatus.CANCELLED not in [e.status for e in announcer.events]
    assert metrics.cancels == ["not_found", "not_found"]


@pytest.mark.parametrize("raw", ["not-a-uuid", "", "{" + str(uuid.UUID(int=1)) + "}", "1" * 32])
async def test_a_request_id_that_is_not_a_uuid_is_invalid_input(raw: str) -> None:
    svc, _, _, _, metrics = cancelling()
    with pytest.raises(InvalidInput) as caught:
        await svc.cancel(ALICE, raw)
    assert caught.value.details == {"field": "request_id"}
    assert metrics.cancels == ["invalid"]


async def test_cancels_have_their_own_rate_limit() -> None:
    svc, _, _, _, metrics = cancelling(cancel_limit=1)
    first, second = await svc.submit(ALICE, BODY), await svc.submit(ALICE, BODY)
    await svc.cancel(ALICE, first.request_id)
    with pytest.raises(RateLimited):
        await svc.cancel(ALICE, second.request_id)
    assert (await svc.state(ALICE, second.request_id)).status is RouteStatus.QUEUED
    await svc.submit(ALICE, BODY)  # submissions keep their own quota
    assert metrics.cancels == ["cancelled", "rate_limited"]


async def test_my_requests_are_mine_newest_first_with_their_summary() -> None:
    svc, _ = service()
    first = await svc.submit(ALICE, BODY)
    second = await svc.submit(ALICE, {**BODY, "duration_minutes": 90})
    await svc.submit(BOB, BODY)
    window = await svc.requests(ALICE, PageParams(limit=10))
    assert [item.request_id for item in window.items] == [second.request_id, first.request_id]
    view = window.items[0].view()
    assert view["status"] == "queued" and view["progress"] == 0
    assert view["summary"] == {
        "start": {"lat": 60.17, "lng": 24.94},
        "duration_minutes": 90,
        "themes": ["history"],
        "distance_m": None,
        "stops": None,
    }
    assert [item.request_id for item in (await svc.requests(BOB, PageParams())).items] != [
        first.request_id
    ]
