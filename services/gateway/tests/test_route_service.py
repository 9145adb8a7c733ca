"""Route submission use case with in-memory fakes."""

from __future__ import annotations

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

from wildside_common.errors import Conflict, InvalidInput, NotFound, RateLimited, Unavailable
from wildside_common.messages import RouteStatus
from wildside_gateway.app import RouteService, SubmissionPolicy
from wildside_gateway.domain.canonical import cache_key
from wildside_gateway.domain.principal import Principal
from wildside_gateway.domain.routes import DurationBounds, parse_route_request

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
    cache.entries[cache_key(request, policy.cache_namespace, policy.engine_version)] = {
        "points": [],
        "distance_m": 0,
    }
    svc, store = service(queue, cache=cache)
    accepted = await svc.submit(ALICE, BODY)
    state = store.requests[accepted.request_id]
    assert state.status is RouteStatus.SUCCEEDED and state.result == {"points": [], "distance_m": 0}
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
