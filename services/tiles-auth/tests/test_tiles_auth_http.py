"""tiles-auth: forward-auth answers for the gateway's session tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from test_route_tile_rules import BOTH, BYPASSES, OTHER
from tiles_auth_fakes import FakeRouteOwners

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.sessions import Keyring, KeyStatus, SessionCodec, SessionKey
from wildside_common.telemetry import configure_tracing
from wildside_tiles_auth.bootstrap import build_app
from wildside_tiles_auth.domain.route_tiles import DEFAULT_POLICY, TilePolicy

pytestmark = pytest.mark.unit
USER = "6f1c6c1e-8a43-4b8e-9d0e-0e4bb7c8a111"
ROUTE = "2b0f4c1e-8a43-4b8e-9d0e-0e4bb7c8a111"
OTHER_USER = "9d8e7f6a-1111-4222-8333-444455556666"
OWN_TILE = f"/tiles/get_route_tile/14/9327/4742?request_id={ROUTE}"
OLD = SessionKey("k-old", b"o" * 64, KeyStatus.VERIFY)
NEW = SessionKey("k-new", b"n" * 64, KeyStatus.SIGNING)


def client(*keys: SessionKey) -> httpx.AsyncClient:
    configure_tracing(CommonSettings.from_env(EnvReader({}), "tiles-auth", 0))
    app = build_app(SessionCodec(Keyring(keys)), FakeRouteOwners({ROUTE: USER}))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tiles")


def token(key: SessionKey, issued: datetime | None = None) -> str:
    signer = SessionKey(key.kid, key.secret, KeyStatus.SIGNING)
    codec = SessionCodec(Keyring((signer,)), clock=lambda: issued or datetime.now(UTC))
    return codec.issue(USER, "user")[0]


async def test_a_valid_cookie_or_bearer_is_200_with_the_user() -> None:
    tile = {"X-Forwarded-Uri": OWN_TILE}
    async with client(NEW, OLD) as tiles:
        by_cookie = await tiles.get("/auth", headers={"Cookie": f"session={token(NEW)}", **tile})
        by_bearer = await tiles.get(
            "/auth", headers={"Authorization": f"Bearer {token(OLD)}", **tile}
        )
    for response in (by_cookie, by_bearer):
        assert response.status_code == 200
        assert response.headers["x-wildside-user"] == USER
        assert response.headers["x-wildside-role"] == "user"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Cookie": "session=garbage"},
        {"Authorization": "Bearer a.b.c"},
        {"Authorization": "Basic dXNlcjpwdw=="},
    ],
)
async def test_no_or_a_bad_session_is_401_with_the_envelope(headers: dict[str, str]) -> None:
    async with client(NEW) as tiles:
        response = await tiles.get("/auth", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "unauthorized" and body["trace_id"] == response.headers["trace-id"]
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_expired_and_retired_key_tokens_are_401() -> None:
    stale = token(NEW, datetime.now(UTC) - timedelta(hours=3))
    retired = token(OLD)
    async with client(NEW) as tiles:
        for value in (stale, retired):
            response = await tiles.get("/auth", headers={"Authorization": f"Bearer {value}"})
            assert response.status_code == 401


async def test_health_and_metrics() -> None:
    async with client(NEW) as tiles:
        await tiles.get("/auth")
        assert (await tiles.get("/health/live")).json() == {"status": "ok"}
        ready = await tiles.get("/health/ready")
        assert ready.status_code == 200 and ready.json()["checks"] == {"keyring": "ok"}
        metrics = (await tiles.get("/metrics")).text
        assert 'wildside_tiles_auth_decisions_total{outcome="denied"}' in metrics
        assert (await tiles.get("/nope")).json()["code"] == "not_found"


def route_client(
    owners: FakeRouteOwners | None, policy: TilePolicy = DEFAULT_POLICY
) -> httpx.AsyncClient:
    configure_tracing(CommonSettings.from_env(EnvReader({}), "tiles-auth", 0))
    app = build_app(SessionCodec(Keyring((NEW,))), owners, policy)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tiles")


def asking_for(uri: str, role: str = "user") -> dict[str, str]:
    signer = SessionKey(NEW.kid, NEW.secret, KeyStatus.SIGNING)
    value = SessionCodec(Keyring((signer,))).issue(USER, role)[0]
    return {"Authorization": f"Bearer {value}", "X-Forwarded-Uri": uri}


async def test_a_route_tile_of_ones_own_route_passes_anothers_is_404() -> None:
    owners = FakeRouteOwners({ROUTE: USER})
    uri = f"/tiles/get_route_tile/14/9327/4742?request_id={ROUTE}"
    async with route_client(owners) as tiles:
        own = await tiles.get("/auth", headers=asking_for(uri))
        owners.owners[ROUTE] = OTHER_USER
        other = await tiles.get("/auth", headers=asking_for(uri))
        admin = await tiles.get("/auth", headers=asking_for(uri, role="admin"))
        unknown = await tiles.get(
            "/auth", headers=asking_for(uri.replace(ROUTE, "00000000-0000-4000-8000-000000000000"))
        )
    assert own.status_code == 200 and own.headers["x-wildside-user"] == USER
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    assert admin.status_code == 200
    assert unknown.status_code == 404 and unknown.json()["code"] == "not_found"


async def test_a_route_tile_without_a_valid_request_id_is_400_unlisted_sources_404() -> None:
    owners = FakeRouteOwners()
    async with route_client(owners) as tiles:
        bad = await tiles.get("/auth", headers=asking_for("/tiles/get_route_tile/1/0/0?x=1"))
        pois = await tiles.get("/auth", headers=asking_for("/tiles/pois/14/9327/4742"))
    assert bad.status_code == 400 and bad.json()["details"]["field"] == "request_id"
    assert pois.status_code == 404 and pois.json()["code"] == "not_found"
    assert owners.lookups == 0


async def test_without_a_database_route_tiles_are_503_and_other_listed_tiles_pass() -> None:
    uri = f"/tiles/get_route_tile/14/9327/4742?request_id={ROUTE}"
    async with route_client(None, BOTH) as tiles:
        route = await tiles.get("/auth", headers=asking_for(uri))
        pois = await tiles.get("/auth", headers=asking_for("/tiles/get_poi_tile/1/0/0"))
    assert route.status_code == 503 and pois.status_code == 200


async def test_a_bad_session_is_401_before_any_route_lookup() -> None:
    owners = FakeRouteOwners({ROUTE: USER})
    uri = f"/tiles/get_route_tile/14/9327/4742?request_id={ROUTE}"
    async with route_client(owners) as tiles:
        response = await tiles.get("/auth", headers={"X-Forwarded-Uri": uri})
    assert response.status_code == 401 and owners.lookups == 0


async def test_every_bypass_of_another_users_route_is_404() -> None:
    owners = FakeRouteOwners({OTHER: OTHER_USER, ROUTE: USER})
    async with route_client(owners, BOTH) as tiles:
        for uri in [uri for uri in BYPASSES if uri is not None]:
            response = await tiles.get("/auth", headers=asking_for(uri))
            assert response.status_code == 404, uri
            assert response.json()["code"] == "not_found", uri
            assert "x-wildside-user" not in response.headers, uri
        own = await tiles.get("/auth", headers=asking_for(OWN_TILE))
    assert own.status_code == 200


async def test_a_composite_needs_the_route_of_its_request_id_source_to_be_ones_own() -> None:
    owners = FakeRouteOwners({OTHER: OTHER_USER, ROUTE: USER})
    composite = "/tiles/get_poi_tile,get_route_tile/14/9327/4742?request_id="
    async with route_client(owners, BOTH) as tiles:
        theirs = await tiles.get("/auth", headers=asking_for(composite + OTHER))
        mine = await tiles.get("/auth", headers=asking_for(composite + ROUTE))
    assert theirs.status_code == 404 and mine.status_code == 200


async def test_the_catalog_is_for_admins_and_a_request_without_one_uri_for_nobody() -> None:
    headers = asking_for("/tiles/catalog")
    async with route_client(FakeRouteOwners()) as tiles:
        user = await tiles.get("/auth", headers=headers)
        admin = await tiles.get("/auth", headers=asking_for("/tiles/catalog", role="admin"))
        no_uri = await tiles.get("/auth", headers={"Authorization": headers["Authorization"]})
        two_uris = await tiles.get(
            "/auth",
            headers=[
                ("Authorization", headers["Authorization"]),
                ("X-Forwarded-Uri", OWN_TILE),
                ("X-Forwarded-Uri", "/tiles/catalog"),
            ],
        )
        metrics = (await tiles.get("/metrics")).text
    assert user.status_code == 404 and admin.status_code == 200
    assert no_uri.status_code == 404 and two_uris.status_code == 404
    assert 'wildside_tiles_auth_decisions_total{outcome="not_found"}' in metrics


async def test_every_answer_carries_the_security_headers_and_auth_is_never_stored() -> None:
    async with client(NEW) as tiles:
        allowed = await tiles.get(
            "/auth", headers={"Cookie": f"session={token(NEW)}", "X-Forwarded-Uri": OWN_TILE}
        )
        denied = await tiles.get("/auth")
        health = await tiles.get("/health/live")
        missing = await tiles.get("/nope")
    assert [r.status_code for r in (allowed, denied, health, missing)] == [200, 401, 200, 404]
    for response in (allowed, denied, health, missing):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert allowed.headers.get_list("cache-control") == ["no-store"]
    assert denied.headers["cache-control"] == "no-store"
    assert "cache-control" not in health.headers
