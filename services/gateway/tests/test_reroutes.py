"""A live walk's reroute submitted for the walker (routes.reroutes) over in-memory fakes:
one route request per reroute however many sockets submit it, linked to the walk, the time
left clamped to the accepted durations, counted against the walker's quota."""

from __future__ import annotations

import uuid

import pytest
from test_route_service import ALICE, service

from wildside_common.errors import InvalidMessage, RateLimited
from wildside_common.messages import RouteStatus
from wildside_gateway.routes.reroutes import reroute_key, submit_reroute

pytestmark = pytest.mark.unit
WALK = str(uuid.uuid4())


def wanted(number: int = 1, minutes: int = 34) -> dict[str, object]:
    return {
        "type": "reroute.wanted",
        "request_id": WALK,
        "reroute": number,
        "route_request": {
            "start": {"lat": 60.1712, "lng": 24.9489},
            "duration_minutes": minutes,
            "preferences": ["history"],
        },
    }


async def test_a_reroute_is_one_request_of_the_walkers_linked_to_the_walk() -> None:
    svc, store = service()
    first = await submit_reroute(svc, ALICE, wanted())
    again = await submit_reroute(svc, ALICE, wanted())  # the walker's other socket
    assert again == first and len(store.requests) == 1
    state = await svc.state(ALICE, first)
    assert state.status is RouteStatus.QUEUED and state.rerouted_from == WALK
    assert state.view()["rerouted_from"] == WALK
    assert store.payloads[first]["start"] == {"lat": 60.1712, "lng": 24.9489}
    assert store.payloads[first]["duration_minutes"] == 34
    second = await submit_reroute(svc, ALICE, wanted(2))
    assert second != first and reroute_key(WALK, 1) != reroute_key(WALK, 2)


async def test_the_time_left_is_clamped_to_the_accepted_durations() -> None:
    svc, store = service()  # 10 to 480 minutes
    new_id = await submit_reroute(svc, ALICE, wanted(minutes=2))
    assert store.payloads[new_id]["duration_minutes"] == 10


async def test_a_reroute_spends_the_walkers_quota_and_is_refused_when_spent() -> None:
    svc, _ = service(limit=1)
    await submit_reroute(svc, ALICE, wanted(1))
    with pytest.raises(RateLimited):
        await submit_reroute(svc, ALICE, wanted(2))


async def test_a_malformed_reroute_is_refused() -> None:
    svc, store = service()
    for bad in ({**wanted(), "reroute": "1"}, {**wanted(), "request_id": "x"}, {"x": 1}):
        with pytest.raises(InvalidMessage):
            await submit_reroute(svc, ALICE, bad)
    assert store.requests == {}
