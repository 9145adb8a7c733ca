"""Walks that last, through the running gateway and router: "my route requests"
(`GET /api/v1/routes`) and saved routes (`/api/v1/saved-routes`), with the other user
(admin), a request that has not succeeded, the cap (SAVED_ROUTES_MAX=3 here), idempotent
replays and bad input."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import BODY, base, submit, wait_final
from wildside_common.testing.servers import unique_prefix

pytestmark = pytest.mark.e2e
CAP = 3


@pytest.fixture(scope="module")
def stack_env(database_url: str, nats_url: str, redis_url: str) -> dict[str, str]:
    env = stack.base_env(
        database_url,
        nats_url,
        redis_url,
        {
            "ROUTER_ACK_WAIT_SECONDS": "3",
            "ROUTER_HEARTBEAT_SECONDS": "0.5",
            "REDIS_PREFIX": unique_prefix(),
            "SAVED_ROUTES_MAX": str(CAP),
        },
    )
    stack.create_dev_accounts(env)
    return env


def url(gateway: stack.Service, path: str) -> str:
    return f"{base(gateway)}{path}"


def call(
    gateway: stack.Service, method: str, path: str, user: str = "demo", **kwargs: object
) -> httpx.Response:
    headers = {**stack.auth(gateway, user), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
    return httpx.request(method, url(gateway, path), headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]


def save(
    gateway: stack.Service, request_id: str, name: str, key: str | None = None, user: str = "demo"
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    body = {"request_id": request_id, "name": name}
    return call(gateway, "POST", "/api/v1/saved-routes", user, json=body, headers=headers)


def saved_ids(gateway: stack.Service, user: str = "demo") -> list[str]:
    response = call(gateway, "GET", "/api/v1/saved-routes?limit=100", user)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


@pytest.fixture(scope="module")
def succeeded(gateway: stack.Service, router: stack.Service) -> str:
    """A route request of the demo user that succeeded."""
    request_id = submit(gateway)
    assert wait_final(gateway, request_id).json()["status"] == "succeeded"
    return request_id


@pytest.fixture
def clean(gateway: stack.Service) -> Iterator[None]:
    """The demo user starts each test with no saved route."""
    for saved_id in saved_ids(gateway):
        assert call(gateway, "DELETE", f"/api/v1/saved-routes/{saved_id}").status_code == 204
    yield


async def _insert_queued(database_url: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        request_id = uuid.uuid4()
        await conn.execute(
            "INSERT INTO route_requests (id, user_id, payload) "
            "SELECT $1, id, $2::jsonb FROM users WHERE username = 'demo'",
            request_id,
            '{"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 30, "preferences": []}',
        )
        return str(request_id)
    finally:
        await conn.close()


def test_my_requests_list_newest_first_with_a_summary(gateway, succeeded) -> None:
    later = submit(gateway, {**BODY, "duration_minutes": 45})
    route = wait_final(gateway, later).json()["route"]
    page = call(gateway, "GET", "/api/v1/routes?limit=1")
    assert page.status_code == 200, page.text
    body = page.json()
    assert [item["request_id"] for item in body["data"]] == [later]
    first = body["data"][0]
    assert first["status"] == "succeeded"
    summary = first["summary"]
    assert summary["start"] == BODY["start"] and summary["duration_minutes"] == 45
    assert summary["themes"] == BODY["preferences"]
    assert summary["distance_m"] == route["distance_m"]
    assert summary["stops"] == len(route["points"]) - 2
    assert body["links"]["next"].startswith(url(gateway, "/api/v1/routes?"))
    older = httpx.get(body["links"]["next"], headers=stack.auth(gateway), timeout=10).json()
    assert older["data"][0]["request_id"] == succeeded
    assert older["links"]["prev"] is not None
    theirs = call(gateway, "GET", "/api/v1/routes?limit=100", "admin").json()["data"]
    assert {later, succeeded}.isdisjoint(item["request_id"] for item in theirs)


def test_my_requests_refuse_a_bad_cursor_or_limit_and_no_session(gateway) -> None:
    bad = call(gateway, "GET", "/api/v1/routes?cursor=not*base64")
    assert bad.status_code == 400 and bad.json()["details"]["code"] == "invalid_cursor"
    zero = call(gateway, "GET", "/api/v1/routes?limit=0")
    assert zero.status_code == 400 and zero.json()["details"]["code"] == "invalid_limit"
    assert httpx.get(url(gateway, "/api/v1/routes"), timeout=10).status_code == 401


def test_a_succeeded_route_is_saved_read_renamed_and_deleted(gateway, succeeded, clean) -> None:
    created = save(gateway, succeeded, "  Old town loop  ")
    assert created.status_code == 201, created.text
    body = created.json()
    saved_id = body["id"]
    assert created.headers["location"] == url(gateway, f"/api/v1/saved-routes/{saved_id}")
    assert body["name"] == "Old town loop" and body["request_id"] == succeeded
    read = httpx.get(created.headers["location"], headers=stack.auth(gateway), timeout=10)
    assert read.status_code == 200
    original = wait_final(gateway, succeeded).json()["route"]
    assert read.json()["route"] == original
    assert read.json()["summary"]["distance_m"] == original["distance_m"]
    assert saved_ids(gateway) == [saved_id]
    renamed = call(gateway, "PATCH", f"/api/v1/saved-routes/{saved_id}", json={"name": " Evening "})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Evening"
    assert call(gateway, "GET", f"/api/v1/saved-routes/{saved_id}").json()["name"] == "Evening"
    assert call(gateway, "DELETE", f"/api/v1/saved-routes/{saved_id}").status_code == 204
    gone = call(gateway, "GET", f"/api/v1/saved-routes/{saved_id}")
    assert gone.status_code == 404 and gone.json()["code"] == "not_found"


def test_another_users_saved_route_and_request_are_404(gateway, succeeded, clean) -> None:
    saved_id = save(gateway, succeeded, "Mine").json()["id"]
    path = f"/api/v1/saved-routes/{saved_id}"
    assert call(gateway, "GET", path, "admin").status_code == 404
    assert call(gateway, "PATCH", path, "admin", json={"name": "Theirs"}).status_code == 404
    assert call(gateway, "DELETE", path, "admin").status_code == 404
    assert saved_id not in saved_ids(gateway, "admin")
    stolen = save(gateway, succeeded, "Theirs", user="admin")
    assert stolen.status_code == 404 and stolen.json()["code"] == "not_found"
    assert call(gateway, "GET", path).json()["name"] == "Mine"


def test_a_request_that_has_not_succeeded_is_409(gateway, stack_env, clean) -> None:
    queued = asyncio.run(_insert_queued(stack_env["DATABASE_URL"]))
    refused = save(gateway, queued, "Too soon")
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "conflict"
    assert refused.json()["details"] == {"reason": "not_succeeded", "status": "queued"}
    assert saved_ids(gateway) == []


def test_the_cap_answers_limit_reached(gateway, succeeded, clean) -> None:
    for i in range(CAP):
        assert save(gateway, succeeded, f"walk {i}").status_code == 201
    refused = save(gateway, succeeded, "one more")
    assert refused.status_code == 409
    assert refused.json()["code"] == "limit_reached"
    assert refused.json()["details"] == {"limit": CAP}
    assert len(saved_ids(gateway)) == CAP


def test_an_idempotency_key_replays_the_first_save(gateway, succeeded, clean) -> None:
    key = str(uuid.uuid4())
    first = save(gateway, succeeded, "Once", key)
    again = save(gateway, succeeded, "Once", key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert saved_ids(gateway) == [first.json()["id"]]
    other = save(gateway, succeeded, "Twice", key)
    assert other.status_code == 409 and other.json()["code"] == "conflict"
    bad_key = save(gateway, succeeded, "Once", "not-a-uuid")
    assert bad_key.status_code == 400
    assert bad_key.json()["details"]["field"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"request_id": "not-a-uuid", "name": "x"}, "request_id"),
        ({"name": "x"}, "request_id"),
        ({"request_id": "SUCCEEDED", "name": "   "}, "name"),
        ({"request_id": "SUCCEEDED", "name": "x" * 101}, "name"),
        ({"request_id": "SUCCEEDED"}, "name"),
    ],
)
def test_bad_bodies_are_400(gateway, succeeded, clean, body, field) -> None:
    body = {k: succeeded if v == "SUCCEEDED" else v for k, v in body.items()}
    response = call(gateway, "POST", "/api/v1/saved-routes", json=body)
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    assert response.json()["details"]["field"] == field
    assert saved_ids(gateway) == []


def test_bad_ids_cursors_and_names_are_400(gateway, succeeded, clean) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"name": "x"}} if method == "PATCH" else {}
        response = call(gateway, method, "/api/v1/saved-routes/not-a-uuid", **kwargs)
        assert response.status_code == 400, (method, response.text)
        assert response.json()["details"]["field"] == "id"
    cursor = call(gateway, "GET", "/api/v1/saved-routes?cursor=%7B%7D")
    assert cursor.status_code == 400 and cursor.json()["details"]["code"] == "invalid_cursor"
    saved_id = save(gateway, succeeded, "Fine").json()["id"]
    empty = call(gateway, "PATCH", f"/api/v1/saved-routes/{saved_id}", json={"name": ""})
    assert empty.status_code == 400 and empty.json()["details"]["field"] == "name"
    assert httpx.get(url(gateway, "/api/v1/saved-routes"), timeout=10).status_code == 401


def test_saved_routes_page_newest_first(gateway, succeeded, clean) -> None:
    ids = [save(gateway, succeeded, f"w{i}").json()["id"] for i in range(CAP)]
    page = call(gateway, "GET", "/api/v1/saved-routes?limit=2").json()
    assert [item["id"] for item in page["data"]] == ids[::-1][:2]
    rest = httpx.get(page["links"]["next"], headers=stack.auth(gateway), timeout=10).json()
    assert [item["id"] for item in rest["data"]] == ids[:1]
    assert rest["links"]["next"] is None


def test_the_account_export_holds_my_saved_routes_and_no_one_elses(
    gateway, succeeded, clean
) -> None:
    created = save(gateway, succeeded, "Exported walk")
    assert created.status_code == 201, created.text
    mine = call(gateway, "GET", "/api/v1/users/me/export")
    assert mine.status_code == 200, mine.text
    [walk] = mine.json()["saved_routes"]
    assert (walk["id"], walk["name"], walk["request_id"]) == (
        created.json()["id"],
        "Exported walk",
        succeeded,
    )
    assert walk["route"] == wait_final(gateway, succeeded).json()["route"]
    theirs = call(gateway, "GET", "/api/v1/users/me/export", user="admin")
    assert theirs.status_code == 200
    assert created.json()["id"] not in theirs.text
