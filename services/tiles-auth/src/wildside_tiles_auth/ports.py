"""The one port tiles-auth depends on."""

from __future__ import annotations

from typing import Protocol

from wildside_common.sessions import SessionClaims


class SessionVerifier(Protocol):
    def verify(self, token: str) -> SessionClaims:
        """The token's claims; raises Unauthorized for any token that is not valid now."""
        ...
