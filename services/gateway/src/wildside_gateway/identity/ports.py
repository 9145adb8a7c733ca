"""Ports of the identity and admin use cases, in domain words."""

from __future__ import annotations

from typing import Protocol

from wildside_common.pagination import PageParams, Window
from wildside_gateway.identity.domain.identity import (
    InterestTheme,
    StoredCredentials,
    UserProfile,
    UserSummary,
)
from wildside_gateway.identity.domain.interests import InterestUpdate
from wildside_gateway.identity.domain.login_throttle import Lockout, LoginAttempt
from wildside_gateway.identity.domain.provenance import ProvenanceFilter, ProvenanceRecord


class Users(Protocol):
    """The user accounts."""

    async def credentials(self, username: str) -> StoredCredentials | None:
        """The stored password hash and role of `username` (case-insensitive), if any."""
        ...

    async def profile(self, user_id: str) -> UserProfile | None:
        """The user's profile with their interest set, or None when the user is gone."""
        ...

    async def page(self, params: PageParams) -> Window[UserSummary]:
        """One page of users in `(created_at, id)` order."""
        ...


class InterestSets(Protocol):
    async def replace(self, user_id: str, update: InterestUpdate) -> int:
        """Replace the set if `update.expected_revision` is current; the new revision.

        Raises Conflict (details: expected and actual revision) otherwise; of two
        concurrent writers holding the same revision exactly one succeeds.
        """
        ...


class ThemeDirectory(Protocol):
    async def themes(self) -> list[InterestTheme]:
        """The interest theme catalogue, in display order."""
        ...


class PasswordVerifier(Protocol):
    def verify(self, stored_hash: str, password: str) -> bool:
        """True when `password` matches the hash (CPU-bound: call off the event loop)."""
        ...


class ProvenanceReport(Protocol):
    async def page(self, filters: ProvenanceFilter, params: PageParams) -> Window[ProvenanceRecord]:
        """One page of enrichment provenance records, newest first."""
        ...


class LoginThrottle(Protocol):
    """Login attempts per username and per client address, counted across every gateway."""

    async def attempt(self, attempt: LoginAttempt) -> Lockout | None:
        """Count this attempt (before its password is checked): the lockout refusing it,
        or None when it may go on. Raises Unavailable when attempts cannot be counted."""
        ...

    async def succeeded(self, attempt: LoginAttempt) -> None:
        """A successful login: forget the username's failed attempts (best effort: a
        failure to forget never fails the login)."""
        ...
