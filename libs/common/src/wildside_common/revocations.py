"""Ended sessions: the port both the gateway and tiles-auth consult, and its rules.

A session ends before its expiry in two ways:

- one session (logout): its token id (`jti`) is revoked until the token's own expiry;
- every session of a user (`wildside-manage revoke-sessions`, a role change, a password
  reset, an account deletion): the user gets a "not before" time, and every token of
  theirs issued at or before it is refused.

`SessionRevocations` is the port; `RevokedSessions` holds the rule and the state (pure,
no I/O), shared by the Redis adapter's per-process mirror
(`wildside_common.revocations_redis`) and the in-memory fake
(`wildside_common.testing.revocations`). `confirm_session` is the one check every
inbound adapter runs after a token's signature verified.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol

from wildside_common.sessions import InvalidSession, SessionClaims


class SessionEnded(InvalidSession):
    """The session was ended (logout, or all the user's sessions) before its expiry."""


class SessionRevocations(Protocol):
    """Which sessions have been ended before their expiry (shared by every process)."""

    async def revoke(self, token_id: str, until: datetime) -> None:
        """End the session with this `jti`; remembered until `until` (its expiry)."""
        ...

    async def revoke_user(self, user_id: str, since: datetime) -> None:
        """End every session of the user issued at or before `since`."""
        ...

    async def is_revoked(self, claims: SessionClaims) -> bool:
        """True when the session was ended; at most one second behind a revocation made by
        any process. Raises Unavailable when that cannot be known (fail closed)."""
        ...

    async def generation(self) -> int:
        """A number that changes whenever a revocation is applied (one of this process's
        or, at most one second later, another's): while it stays the same, no session
        that `is_revoked` answered False for has been ended. Raises Unavailable when that
        cannot be known (fail closed)."""
        ...


class RevokedSessions:
    """Revoked token ids (with the time they may be forgotten) and users' not-before
    times, as epoch seconds. The rule: a token is revoked when its id is, or when it was
    issued at or before its user's not-before time."""

    def __init__(self, lifetime: timedelta) -> None:
        self.lifetime = lifetime.total_seconds()
        self.tokens: dict[str, float] = {}
        self.users: dict[str, float] = {}
        self.generation = 0  # counts the revocations applied (pruning changes no answer)

    def revoke_token(self, token_id: str, until: float) -> None:
        self.tokens[token_id] = max(until, self.tokens.get(token_id, until))
        self.generation += 1

    def revoke_user(self, user_id: str, since: float) -> None:
        self.users[user_id] = max(since, self.users.get(user_id, since))
        self.generation += 1

    def covers(self, claims: SessionClaims) -> bool:
        if claims.token_id in self.tokens:
            return True
        since = self.users.get(claims.subject)
        return since is not None and claims.issued_at.timestamp() <= since

    def prune(self, now: float) -> None:
        """Forget what no unexpired token can match any more."""
        self.tokens = {jti: until for jti, until in self.tokens.items() if until > now}
        horizon = now - self.lifetime
        self.users = {user: since for user, since in self.users.items() if since > horizon}


def epoch(moment: datetime) -> float:
    """Epoch seconds to the millisecond (the precision of a token's `iat`)."""
    return round(moment.timestamp(), 3)


async def confirm_session(
    revocations: SessionRevocations, claims: SessionClaims, now: datetime | None = None
) -> None:
    """Raises InvalidSession when the session has expired, SessionEnded when it was
    revoked, Unavailable when revocations cannot be read; returns when it is still live."""
    if claims.expires_at <= (now or datetime.now(UTC)):
        raise InvalidSession("the session has expired")
    if await revocations.is_revoked(claims):
        raise SessionEnded("the session has ended: log in again")
