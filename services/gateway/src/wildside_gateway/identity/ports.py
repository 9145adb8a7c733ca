"""Ports of the identity and admin use cases, in domain words."""

from __future__ import annotations

from typing import Any, Protocol

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
from wildside_gateway.shared.domain.principal import Role


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


class UserAccounts(Protocol):
    """Account administration (the `wildside-manage` CLI): each write names the user by
    username and answers their id, or None when there is no such user (or, for
    `create`, when the username is taken)."""

    async def user_id(self, username: str) -> str | None:
        """The id of `username`, if there is such a user."""
        ...

    async def create(
        self, username: str, display_name: str, password_hash: str, role: Role
    ) -> str | None:
        """A new user's id; None (nothing written) when the username is taken."""
        ...

    async def set_password(self, username: str, password_hash: str) -> str | None:
        """Store a new password hash for the user."""
        ...

    async def set_role(self, username: str, role: Role, keep_an_admin: bool = True) -> str | None:
        """Give the user `role`; with `keep_an_admin`, refuse (LastAdmin) to demote the
        last administrator."""
        ...


class Accounts(Protocol):
    """Accounts people open and close themselves (sign-up, leaving)."""

    async def create(
        self, username: str, display_name: str, password_hash: str, role: Role
    ) -> str | None:
        """A new user's id; None (nothing written) when the username is taken in any
        letter case, also when a concurrent sign-up took it first."""
        ...

    async def delete(self, user_id: str) -> bool:
        """Delete the user and every row that is theirs (route requests with their
        results, idempotency keys, interests: the schema's ON DELETE CASCADE); False
        when there is no such user. Raises LastAdmin, deleting nothing, when the user is
        the only administrator, also against concurrent deletions and role changes."""
        ...


class ExportSection(Protocol):
    """One part of a user's data export (`GET /api/v1/users/me/export`): the document
    holds it under `name`. A new kind of user data adds a section (bootstrap wires
    them), not a change to the use case."""

    name: str

    async def collect(self, user_id: str) -> Any:
        """The user's rows of this section as JSON-ready values (only the user's own)."""
        ...


class CommonPasswords(Protocol):
    def is_common(self, password: str) -> bool:
        """True when `password` (compared case-insensitively) is a commonly used one."""
        ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str:
        """A new argon2id hash of `password` (CPU-bound: call off the event loop)."""
        ...


class SignupThrottle(Protocol):
    """Sign-up attempts per client address, counted across every gateway."""

    async def attempt(self, address: str) -> int | None:
        """Count this attempt: None when it may go on, else the seconds until the
        address may try again. Raises Unavailable when attempts cannot be counted."""
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


class IdentityMetrics(Protocol):
    def login_throttled(self, limit: str) -> None:
        """Count a login attempt the throttle refused, by the limit that refused it."""
        ...

    def lockout_began(self, limit: str) -> None:
        """Count a lockout that has just begun."""
        ...

    def signup(self, outcome: str) -> None:
        """Count a sign-up attempt by outcome (created, taken, invalid, throttled, disabled)."""
        ...

    def account_deleted(self, outcome: str) -> None:
        """Count an account deletion attempt by outcome (deleted, refused, last_admin)."""
        ...


class NullIdentityMetrics:
    def login_throttled(self, limit: str) -> None:
        pass

    def lockout_began(self, limit: str) -> None:
        pass

    def signup(self, outcome: str) -> None:
        pass

    def account_deleted(self, outcome: str) -> None:
        pass
