"""The saved-routes use cases over in-memory fakes (test_saved_store_contract.py keeps
the fake store honest against PostgreSQL)."""

from __future__ import annotations

import uuid

import pytest
from gateway_route_fakes import FakeLimiter
from gateway_saved_fakes import FakeSavedRoutes

from wildside_common.analytics import UserSavedRoute
from wildside_common.errors import Conflict, InvalidInput, LimitReached, NotFound, RateLimited
from wildside_common.messages import RouteStatus
from wildside_common.pagination import PageParams
from wildside_common.testing.analytics import RecordingAnalytics
from wildside_common.testing.routes import example_route
from wildside_gateway.saved.app import SavedRouteService, SavePolicy
from wildside_gateway.saved.domain.saved import SourceRequest
from wildside_gateway.shared.domain.principal import Principal

pytestmark = pytest.mark.unit
PAYLOAD = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 45, "preferences": ["art"]}
ME = Principal(str(uuid.uuid4()))
SOMEONE = Principal(str(uuid.uuid4()))


def service(cap: int = 500, limit: int = 1000):
    store, analytics = FakeSavedRoutes(), RecordingAnalytics()
    saved = SavedRouteService(store, FakeLimiter(limit), SavePolicy(cap=cap), analytics)
    return saved, store, analytics


def source(store: FakeSavedRoutes, owner: Principal = ME, status=RouteStatus.SUCCEEDED) -> str:
    request_id = str(uuid.uuid4())
    route = example_route() if status is RouteStatus.SUCCEEDED else None
    store.sources[request_id] = SourceRequest(request_id, owner.user_id, status, PAYLOAD, route)
    return request_id


async def test_a_succeeded_route_is_saved_with_its_trimmed_name_and_an_event() -> None:
    saved, store, analytics = service()
    request_id = source(store)
    result = await saved.save(ME, {"request_id": request_id.upper(), "name": "  Old town  "})
    assert not result.replayed
    assert result.body["name"] == "Old town" and result.body["request_id"] == request_id
    assert result.body["id"] == result.saved_id
    assert result.body["summary"] == {
        "start": {"lat": 60.17, "lng": 24.94},
        "duration_minutes": 45,
        "themes": ["art"],
        "distance_m": example_route().distance_m,
        "stops": len(example_route().places),
    }
    full = await saved.get(ME, result.saved_id)
    assert full.route == example_route() and full.view()["route"]["distance_m"] > 0
    (event,) = analytics.named("UserSavedRoute")
    assert isinstance(event, UserSavedRoute)
    assert (event.user_id, event.saved_route_id, event.request_id) == (
        ME.user_id,
        result.saved_id,
        request_id,
    )
    assert event.stops == len(example_route().places) and event.duration_minutes == 45


async def test_another_users_or_an_unknown_request_is_404() -> None:
    saved, store, _ = service()
    with pytest.raises(NotFound):
        await saved.save(ME, {"request_id": source(store, SOMEONE), "name": "theirs"})
    with pytest.raises(NotFound):
        await saved.save(ME, {"request_id": str(uuid.uuid4()), "name": "nothing"})
    assert store.saved == {}


@pytest.mark.parametrize("status", [RouteStatus.QUEUED, RouteStatus.RUNNING, RouteStatus.FAILED])
async def test_a_request_that_has_not_succeeded_is_409(status: RouteStatus) -> None:
    saved, store, analytics = service()
    with pytest.raises(Conflict) as caught:
        await saved.save(ME, {"request_id": source(store, status=status), "name": "soon"})
    assert not isinstance(caught.value, LimitReached)
    assert caught.value.details == {"reason": "not_succeeded", "status": status.value}
    assert store.saved == {} and analytics.events == []


async def test_the_cap_refuses_one_more_with_limit_reached() -> None:
    saved, store, _ = service(cap=2)
    for name in ("one", "two"):
        await saved.save(ME, {"request_id": source(store), "name": name})
    with pytest.raises(LimitReached) as caught:
        await saved.save(ME, {"request_id": source(store), "name": "three"})
    assert caught.value.code == "limit_reached" and caught.value.details == {"limit": 2}
    await saved.save(SOMEONE, {"request_id": source(store, SOMEONE), "name": "theirs"})
    (first, *_) = (await saved.page(ME, PageParams())).items
    await saved.delete(ME, first.saved_id)
    await saved.save(ME, {"request_id": source(store), "name": "three"})


async def test_a_key_replays_the_first_save_and_refuses_another_body() -> None:
    saved, store, analytics = service(cap=1)
    key, body = str(uuid.uuid4()), {"request_id": source(store), "name": "Walk"}
    first = await saved.save(ME, body, key)
    again = await saved.save(ME, body, key)  # at the cap: a replay is still answered
    assert again.replayed and again.saved_id == first.saved_id and again.body == first.body
    assert len(store.saved) == 1 and len(analytics.events) == 1
    with pytest.raises(Conflict):
        await saved.save(ME, {**body, "name": "Other"}, key)
    other = await saved.save(SOMEONE, {"request_id": source(store, SOMEONE), "name": "W"}, key)
    assert not other.replayed  # keys are per user


async def test_the_rate_limit_refuses_new_saves_but_not_replays() -> None:
    saved, store, _ = service(limit=1)
    key, body = str(uuid.uuid4()), {"request_id": source(store), "name": "Walk"}
    await saved.save(ME, body, key)
    assert (await saved.save(ME, body, key)).replayed
    with pytest.raises(RateLimited):
        await saved.save(ME, {"request_id": source(store), "name": "more"})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"request_id": "not-a-uuid", "name": "x"}, "request_id"),
        ({"request_id": 42, "name": "x"}, "request_id"),
        ({"name": "x"}, "request_id"),
        ({"request_id": "REQ"}, "name"),
        ({"request_id": "REQ", "name": "   "}, "name"),
        ({"request_id": "REQ", "name": ""}, "name"),
        ({"request_id": "REQ", "name": "x" * 101}, "name"),
        ({"request_id": "REQ", "name": 7}, "name"),
        ({"request_id": "REQ", "name": "tab\there"}, "name"),
        ({"request_id": "REQ", "name": "x", "public": True}, "public"),
    ],
)
async def test_bad_bodies_are_400_naming_the_field(body: dict, field: str) -> None:
    saved, store, _ = service()
    request_id = source(store)
    body = {k: request_id if v == "REQ" else v for k, v in body.items()}
    with pytest.raises(InvalidInput) as caught:
        await saved.save(ME, body)
    assert caught.value.details["field"] == field
    assert store.saved == {}


async def test_a_name_of_100_characters_after_trimming_is_kept() -> None:
    saved, store, _ = service()
    result = await saved.save(ME, {"request_id": source(store), "name": " " + "é" * 100 + " "})
    assert result.body["name"] == "é" * 100


async def test_read_rename_delete_are_the_owners_alone() -> None:
    saved, store, _ = service()
    saved_id = (await saved.save(ME, {"request_id": source(store), "name": "Mine"})).saved_id
    for call in (
        saved.get(SOMEONE, saved_id),
        saved.rename(SOMEONE, saved_id, {"name": "Theirs"}),
        saved.delete(SOMEONE, saved_id),
    ):
        with pytest.raises(NotFound):
            await call
    renamed = await saved.rename(ME, saved_id.upper(), {"name": "  Renamed "})
    assert renamed.name == "Renamed"
    assert (await saved.get(ME, saved_id)).summary.name == "Renamed"
    await saved.delete(ME, saved_id)
    with pytest.raises(NotFound):
        await saved.get(ME, saved_id)
    with pytest.raises(NotFound):
        await saved.delete(ME, saved_id)


@pytest.mark.parametrize("bad", ["nope", "1234", "{" + str(uuid.UUID(int=1)) + "}"])
async def test_an_id_that_is_not_a_uuid_is_400(bad: str) -> None:
    saved, _, _ = service()
    for call in (saved.get(ME, bad), saved.rename(ME, bad, {"name": "x"}), saved.delete(ME, bad)):
        with pytest.raises(InvalidInput) as caught:
            await call
        assert caught.value.details["field"] == "id"


async def test_rename_validates_the_body() -> None:
    saved, store, _ = service()
    saved_id = (await saved.save(ME, {"request_id": source(store), "name": "Mine"})).saved_id
    for body, field in (({}, "name"), ({"name": ""}, "name"), ({"name": "x", "id": "y"}, "id")):
        with pytest.raises(InvalidInput) as caught:
            await saved.rename(ME, saved_id, body)
        assert caught.value.details["field"] == field
    with pytest.raises(InvalidInput):
        await saved.rename(ME, saved_id, ["name"])


async def test_the_listing_is_the_callers_newest_first() -> None:
    saved, store, _ = service()
    ids = [
        (await saved.save(ME, {"request_id": source(store), "name": f"w{i}"})).saved_id
        for i in range(3)
    ]
    await saved.save(SOMEONE, {"request_id": source(store, SOMEONE), "name": "theirs"})
    window = await saved.page(ME, PageParams(limit=10))
    assert [item.saved_id for item in window.items] == list(reversed(ids))
