"""The revocation rule and the one check every inbound adapter runs after a signature."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from wildside_common.errors import Unauthorized, Unavailable
from wildside_common.revocations import RevokedSessions, SessionEnded, confirm_session
from wildside_common.sessions import InvalidSession, SessionClaims, new_token_id
from wildside_common.testing.revocations import MemoryRevocations

pytestmark = pytest.mark.unit
NOW = datetime(2026, 11, 22, 12, 0, 0, 500_000, tzinfo=UTC)


def claims(
    user: str, issued: datetime = NOW, life: timedelta = timedelta(hours=2)
) -> SessionClaims:
    return SessionClaims(user, "user", issued, issued + life, "k", new_token_id())


async def test_a_live_session_passes_an_ended_or_expired_one_is_unauthorized() -> None:
    revocations = MemoryRevocations(clock=lambda: NOW.timestamp())
    user = str(uuid.uuid4())
    live, ended = claims(user), claims(user)
    await revocations.revoke(ended.token_id, ended.expires_at)
    await confirm_session(revocations, live, NOW)
    with pytest.raises(SessionEnded) as refused:
        await confirm_session(revocations, ended, NOW)
    assert isinstance(refused.value, Unauthorized) and refused.value.code == "unauthorized"
    with pytest.raises(InvalidSession, match="expired"):
        await confirm_session(revocations, live, live.expires_at)


async def test_ending_a_users_sessions_spares_sessions_issued_a_millisecond_later() -> None:
    revocations = MemoryRevocations(clock=lambda: NOW.timestamp())
    user = str(uuid.uuid4())
    await revocations.revoke_user(user, NOW)
    for issued in (NOW - timedelta(minutes=30), NOW):
        with pytest.raises(SessionEnded):
            await confirm_session(revocations, claims(user, issued), NOW)
    await confirm_session(revocations, claims(user, NOW + timedelta(milliseconds=1)), NOW)
    await confirm_session(revocations, claims(str(uuid.uuid4())), NOW)


async def test_when_revocations_cannot_be_read_the_check_fails_closed() -> None:
    revocations = MemoryRevocations()
    revocations.available = False
    with pytest.raises(Unavailable):
        await confirm_session(revocations, claims(str(uuid.uuid4()), datetime.now(UTC)))


def test_pruning_forgets_only_what_no_live_token_can_match() -> None:
    state = RevokedSessions(timedelta(hours=2))
    now = NOW.timestamp()
    state.revoke_token("gone", now - 1)
    state.revoke_token("live", now + 60)
    state.revoke_user("old", now - 7201)
    state.revoke_user("recent", now - 7100)
    state.prune(now)
    assert set(state.tokens) == {"live"} and set(state.users) == {"recent"}
