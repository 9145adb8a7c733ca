"""An in-memory `SessionRevocations` for unit tests (kept honest by
`test_session_revocations_contract.py`, which runs one suite over it and the Redis
adapter). Setting `available = False` makes it behave as Redis down: fail closed."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from wildside_common.errors import Unavailable
from wildside_common.revocations import RevokedSessions, epoch
from wildside_common.sessions import SESSION_LIFETIME, SessionClaims


class MemoryRevocations:
    def __init__(
        self, lifetime: timedelta = SESSION_LIFETIME, clock: Callable[[], float] = time.time
    ) -> None:
        self.state = RevokedSessions(lifetime)
        self.clock = clock
        self.available = True

    def _check(self) -> None:
        if not self.available:
            raise Unavailable("session revocations cannot be read; try again")

    async def revoke(self, token_id: str, until: datetime) -> None:
        self._check()
        if until.timestamp() > self.clock():
            self.state.revoke_token(token_id, epoch(until))

    async def revoke_user(self, user_id: str, since: datetime) -> None:
        self._check()
        self.state.revoke_user(user_id, epoch(since))

    async def is_revoked(self, claims: SessionClaims) -> bool:
        self._check()
        self.state.prune(self.clock())
        return self.state.covers(claims)

    async def generation(self) -> int:
        self._check()
        return self.state.generation
