"""tiles-auth refuses ended sessions (logout, all of a user's) and fails closed (503)
when revocations cannot be read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.sessions import Keyring, KeyStatus, SessionClaims, SessionCodec, SessionKey
from wildside_common.telemetry import configure_tracing
from wildside_common.testing.revocations import MemoryRevocations
from wildside_tiles_auth.bootstrap import build_app
from wildside_tiles_auth.config import TilesAuthSettings
from wildside_tiles_auth.domain.route_tiles import TilePolicy

pytestmark = pytest.mark.unit
KEY = SessionKey("k-tiles", b"k" * 64, KeyStatus.SIGNING)
CODEC = SessionCodec(Keyring((KEY,)))
# A source that draws no route: only the session decides.
POLICY = TilePolicy(frozenset({"pois"}), frozenset())


def client(revocations: MemoryRevocations) -> httpx.AsyncClient:
    configure_tracing(CommonSettings.from_env(EnvReader({}), "tiles-auth", 0))
    app = build_app(CODEC, policy=POLICY, revocations=revocations)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tiles")


def session(user: str) -> tuple[dict[str, str], SessionClaims]:
    token, claims = CODEC.issue(user, "user")
    return {"Authorization": f"Bearer {token}", "X-Forwarded-Uri": "/tiles/pois/1/0/0"}, claims


async def test_a_logged_out_session_is_401_another_session_still_200() -> None:
    revocations = MemoryRevocations()
    user = str(uuid.uuid4())
    (ended, claims), (kept, _) = session(user), session(user)
    async with client(revocations) as tiles:
        assert (await tiles.get("/auth", headers=ended)).status_code == 200
        await revocations.revoke(claims.token_id, claims.expires_at)
        refused = await tiles.get("/auth", headers=ended)
        assert (await tiles.get("/auth", headers=kept)).status_code == 200
    assert refused.status_code == 401 and refused.json()["code"] == "unauthorized"
    assert refused.headers["www-authenticate"].startswith("Bearer")


async def test_ending_every_session_of_a_user_refuses_their_earlier_tokens() -> None:
    revocations = MemoryRevocations()
    user = str(uuid.uuid4())
    earlier, _ = session(user)
    await revocations.revoke_user(user, datetime.now(UTC) + timedelta(milliseconds=5))
    other, _ = session(str(uuid.uuid4()))
    async with client(revocations) as tiles:
        assert (await tiles.get("/auth", headers=earlier)).status_code == 401
        assert (await tiles.get("/auth", headers=other)).status_code == 200


async def test_unreadable_revocations_fail_closed_with_503() -> None:
    revocations = MemoryRevocations()
    headers, _ = session(str(uuid.uuid4()))
    revocations.available = False
    async with client(revocations) as tiles:
        response = await tiles.get("/auth", headers=headers)
    assert response.status_code == 503 and response.json()["code"] == "service_unavailable"
    assert "x-wildside-user" not in response.headers


def test_settings_name_the_gateways_redis_and_prefix() -> None:
    env = EnvReader({"REDIS_URL": "redis://cache:6379/2", "REDIS_PREFIX": "p:"})
    settings = TilesAuthSettings.from_env(env)
    assert (settings.redis_url, settings.redis_prefix) == ("redis://cache:6379/2", "p:")
    assert settings.revocation_max_staleness == 1.0
