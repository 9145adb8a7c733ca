"""Saved-route endpoints over HTTP (the real middleware, in-memory fakes behind the use
cases): statuses, `Location`, replays, the envelope, and every method of a path in `Allow`."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping

import httpx
import pytest
from gateway_route_fakes import FakeLimiter
from gateway_saved_fakes import FakeSavedRoutes

from wildside_common.errors import Unauthorized
from wildside_common.messages import RouteStatus
from wildside_common.testing.routes import example_route
from wildside_gateway.bootstrap import gateway_app
from wildside_gateway.saved.adapters.inbound.http import SavedRouteEndpoints
from wildside_gateway.saved.app import SavedRouteService, SavePolicy
from wildside_gateway.saved.domain.saved import SourceRequest
from wildside_gateway.shared.domain.origins import AllowedOrigins
from wildside_gateway.shared.domain.principal import Principal

pytestmark = pytest.mark.unit
BASE = "https://walks.example"
USERS = {"alice": Principal(str(uuid.uuid4())), "bob": Principal(str(uuid.uuid4()))}
PAYLOAD = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 30, "preferences": []}


class TokenAuth:
    async def authenticate(
        self, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> Principal:
        name = headers.get("authorization", "").removeprefix("Bearer ")
        if name not in USERS:
            raise Unauthorized("no session")
        return USERS[name]


def as_(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {name}"}


@pytest.fixture
def store() -> FakeSavedRoutes:
    return FakeSavedRoutes()


@pytest.fixture
async def client(store: FakeSavedRoutes) -> AsyncIterator[httpx.AsyncClient]:
    service = SavedRouteService(store, FakeLimiter(), SavePolicy(cap=2))
    endpoints = SavedRouteEndpoints(service, TokenAuth(), 16384)
    app = gateway_app(endpoints.routes(), AllowedOrigins.parse([BASE]), BASE)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as test:
        yield test


def succeeded(store: FakeSavedRoutes, owner: str = "alice") -> str:
    request_id = str(uuid.uuid4())
    store.sources[request_id] = SourceRequest(
        request_id, USERS[owner].user_id, RouteStatus.SUCCEEDED, PAYLOAD, example_route()
    )
    return request_id


async def test_a_save_is_201_with_location_and_a_replay_says_so(client, store) -> None:
    key = str(uuid.uuid4())
    body = {"request_id": succeeded(store), "name": "Harbour"}
    headers = {**as_("alice"), "Idempotency-Key": key}
    first = await client.post("/api/v1/saved-routes", json=body, headers=headers)
    assert first.status_code == 201, first.text
    saved_id = first.json()["id"]
    assert first.headers["location"] == f"{BASE}/api/v1/saved-routes/{saved_id}"
    assert "idempotent-replayed" not in first.headers
    again = await client.post("/api/v1/saved-routes", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    read = await client.get(f"/api/v1/saved-routes/{saved_id}", headers=as_("alice"))
    assert read.status_code == 200 and read.json()["route"]["points"]
    assert read.headers["cache-control"] == "no-store"


async def test_errors_leave_as_the_envelope(client, store) -> None:
    for name in ("one", "two"):
        body = {"request_id": succeeded(store), "name": name}
        ok = await client.post("/api/v1/saved-routes", json=body, headers=as_("alice"))
        assert ok.status_code == 201
    full = await client.post(
        "/api/v1/saved-routes",
        json={"request_id": succeeded(store), "name": "three"},
        headers=as_("alice"),
    )
    assert full.status_code == 409
    assert full.json()["code"] == "limit_reached" and "trace_id" in full.json()
    bad = await client.post(
        "/api/v1/saved-routes", json={"request_id": "x", "name": "y"}, headers=as_("alice")
    )
    assert bad.status_code == 400 and bad.json()["details"]["field"] == "request_id"
    anonymous = await client.get("/api/v1/saved-routes")
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthorized"
    plain = await client.post(
        "/api/v1/saved-routes",
        content=b"{}",
        headers={**as_("alice"), "Content-Type": "text/plain"},
    )
    assert plain.status_code == 415


async def test_another_users_route_is_404_and_delete_is_204(client, store) -> None:
    saved = await client.post(
        "/api/v1/saved-routes",
        json={"request_id": succeeded(store), "name": "Mine"},
        headers=as_("alice"),
    )
    path = f"/api/v1/saved-routes/{saved.json()['id']}"
    assert (await client.get(path, headers=as_("bob"))).status_code == 404
    assert (await client.delete(path, headers=as_("bob"))).status_code == 404
    renamed = await client.patch(path, json={"name": "Ours?"}, headers=as_("bob"))
    assert renamed.status_code == 404
    deleted = await client.delete(path, headers=as_("alice"))
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await client.get(path, headers=as_("alice"))).status_code == 404


async def test_an_unsupported_method_names_every_method_of_the_path(client) -> None:
    listing = await client.put("/api/v1/saved-routes", headers=as_("alice"))
    assert listing.status_code == 405
    assert set(listing.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}
    item = await client.post(f"/api/v1/saved-routes/{uuid.uuid4()}", headers=as_("alice"))
    assert item.status_code == 405
    assert set(item.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH", "DELETE"}


async def test_the_listing_is_paged_with_absolute_links(client, store) -> None:
    for name in ("one", "two"):
        await client.post(
            "/api/v1/saved-routes",
            json={"request_id": succeeded(store), "name": name},
            headers=as_("alice"),
        )
    page = await client.get("/api/v1/saved-routes?limit=1", headers=as_("alice"))
    assert page.status_code == 200
    body = page.json()
    assert [item["name"] for item in body["data"]] == ["two"]
    assert body["links"]["next"].startswith(f"{BASE}/api/v1/saved-routes?limit=1&cursor=")
    bad = await client.get("/api/v1/saved-routes?cursor=%%%", headers=as_("alice"))
    assert bad.status_code == 400 and bad.json()["details"]["code"] == "invalid_cursor"
