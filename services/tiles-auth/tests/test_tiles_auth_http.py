"""tiles-auth: forward-auth answers for the gateway's session tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.sessions import Keyring, KeyStatus, SessionCodec, SessionKey
from wildside_common.telemetry import configure_tracing
from wildside_tiles_auth.bootstrap import build_app

pytestmark = pytest.mark.unit
USER = "6f1c6c1e-8a43-4b8e-9d0e-0e4bb7c8a111"
OLD = SessionKey("k-old", b"o" * 64, KeyStatus.VERIFY)
NEW = SessionKey("k-new", b"n" * 64, KeyStatus.SIGNING)


def client(*keys: SessionKey) -> httpx.AsyncClient:
    configure_tracing(CommonSettings.from_env(EnvReader({}), "tiles-auth", 0))
    app = build_app(SessionCodec(Keyring(keys)))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tiles")


def token(key: SessionKey, issued: datetime | None = None) -> str:
    signer = SessionKey(key.kid, key.secret, KeyStatus.SIGNING)
    codec = SessionCodec(Keyring((signer,)), clock=lambda: issued or datetime.now(UTC))
    return codec.issue(USER, "user")[0]


async def test_a_valid_cookie_or_bearer_is_200_with_the_user() -> None:
    async with client(NEW, OLD) as tiles:
        by_cookie = await tiles.get("/auth", headers={"Cookie": f"session={token(NEW)}"})
        by_bearer = await tiles.get("/auth", headers={"Authorization": f"Bearer {token(OLD)}"})
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
