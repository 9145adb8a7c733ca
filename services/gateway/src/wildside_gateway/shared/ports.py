"""Ports both areas use: who is asking (the principal behind a request's session)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from wildside_common.sessions import SessionClaims
from wildside_gateway.shared.domain.principal import Principal


class Authenticator(Protocol):
    async def authenticate(
        self, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> Principal:
        """The request's principal; raises Unauthorized when there is none."""
        ...


class SessionGate(Protocol):
    """The session behind a request or a socket, for what outlives one check: logging out
    ends it; an open socket re-checks it until it ends."""

    async def session(
        self, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> tuple[Principal, SessionClaims]:
        """The principal and its session's claims; raises Unauthorized when there is none."""
        ...

    async def confirm(self, claims: SessionClaims) -> None:
        """Raises Unauthorized when the session has since expired or been revoked
        (Unavailable when that cannot be known)."""
        ...

    async def revocation_generation(self) -> int:
        """The revocations' generation (`SessionRevocations.generation`): while it stays
        the same, no session `confirm` passed has been revoked since; raises Unavailable
        when that cannot be known."""
        ...
