"""Identity and admin use cases: log in (throttled), log out, end a user's sessions, read
the profile, set interests, list users, report enrichment provenance."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wildside_common.analytics import Analytics, NullAnalytics, UserLoggedIn
from wildside_common.errors import Unauthorized
from wildside_common.pagination import PageParams, Window
from wildside_common.revocations import SessionRevocations
from wildside_common.sessions import SessionClaims, SessionCodec
from wildside_gateway.identity.domain.identity import (
    Credentials,
    InterestTheme,
    UserProfile,
    UserSummary,
)
from wildside_gateway.identity.domain.interests import InterestUpdate
from wildside_gateway.identity.domain.login_throttle import LoginAttempt
from wildside_gateway.identity.domain.provenance import ProvenanceFilter, ProvenanceRecord
from wildside_gateway.identity.ports import (
    IdentityMetrics,
    InterestSets,
    LoginThrottle,
    NullIdentityMetrics,
    PasswordVerifier,
    ProvenanceReport,
    ThemeDirectory,
    Users,
)
from wildside_gateway.shared.domain.principal import Principal

log = logging.getLogger(__name__)

# Checked when the username is unknown, so both failures take the same time.
DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$rZm8+3ISz6Du0EmoAcEa3A$"
    "8zoAywbfSncbpDTqMfC7mFz7N7JSo2jvNf6aqfvsSkk"
)


@dataclass(frozen=True, slots=True)
class Session:
    token: str
    claims: SessionClaims
    profile: UserProfile


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SessionRevoker:
    """Ends sessions before their expiry: one (logout), or every session of a user."""

    def __init__(
        self, revocations: SessionRevocations, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        self.revocations = revocations
        self.clock = clock

    async def logout(self, claims: SessionClaims) -> None:
        """End this session (refused everywhere within a second, until its expiry)."""
        await self.revocations.revoke(claims.token_id, claims.expires_at)
        log.info("session ended", extra={"user_id": claims.subject, "scope": "session"})

    async def end_all(self, user_id: str, reason: str) -> datetime:
        """End every session of the user issued until now. Call it after the change it is
        for has been stored: a role change, a password reset, deleting the account."""
        since = self.clock()
        await self.revocations.revoke_user(user_id, since)
        log.info("sessions ended", extra={"user_id": user_id, "scope": "user", "reason": reason})
        return since


class IdentityService:
    def __init__(
        self,
        users: Users,
        interests: InterestSets,
        themes: ThemeDirectory,
        passwords: PasswordVerifier,
        sessions: SessionCodec,
        throttle: LoginThrottle,
        revocations: SessionRevocations,
        analytics: Analytics | None = None,
        metrics: IdentityMetrics | None = None,
    ) -> None:
        self.analytics = analytics or NullAnalytics()
        self.metrics = metrics or NullIdentityMetrics()
        self.users = users
        self.interests = interests
        self.themes_directory = themes
        self.passwords = passwords
        self.sessions = sessions
        self.throttle = throttle
        self.revoker = SessionRevoker(revocations)

    async def login(self, body: Any, address: str) -> Session:
        """A new session for valid credentials; Unauthorized (same message) otherwise;
        TooManyAttempts, before any password is checked, once the throttle refuses."""
        credentials = Credentials.parse(body)
        attempt = LoginAttempt.of(credentials.username, address)
        await self._admit(attempt)
        stored = await self.users.credentials(credentials.username)
        stored_hash = stored.password_hash if stored else DUMMY_HASH
        matches = await asyncio.to_thread(self.passwords.verify, stored_hash, credentials.password)
        if stored is None or not matches:
            raise Unauthorized("wrong username or password")
        profile = await self.users.profile(stored.user_id)
        if profile is None:
            raise Unauthorized("wrong username or password")
        await self.throttle.succeeded(attempt)
        token, claims = self.sessions.issue(stored.user_id, str(stored.role))
        self.analytics.capture(UserLoggedIn(stored.user_id, str(stored.role)))
        return Session(token, claims, profile)

    async def _admit(self, attempt: LoginAttempt) -> None:
        lockout = await self.throttle.attempt(attempt)
        if lockout is None:
            return
        self.metrics.login_throttled(str(lockout.limit))
        if lockout.began:  # logged once per lockout, not once per refused guess
            self.metrics.lockout_began(str(lockout.limit))
            log.warning(
                "login locked out",
                extra={
                    "limit": str(lockout.limit),
                    "username_hash": attempt.username,
                    "client": attempt.address,
                    "retry_after": lockout.retry_after,
                },
            )
        raise lockout.error()

    async def logout(self, claims: SessionClaims) -> None:
        await self.revoker.logout(claims)

    async def end_sessions(self, user_id: str, reason: str) -> datetime:
        """Every session of the user ends now (the account deletion use case calls this)."""
        return await self.revoker.end_all(user_id, reason)

    async def me(self, principal: Principal) -> UserProfile:
        profile = await self.users.profile(principal.user_id)
        if profile is None:  # deleted while the session was alive
            raise Unauthorized("the session's user no longer exists")
        return profile

    async def themes(self) -> list[InterestTheme]:
        return await self.themes_directory.themes()

    async def set_interests(self, principal: Principal, body: Any) -> UserProfile:
        """Replace the principal's interests, guarded by the expected revision."""
        known = {theme.id for theme in await self.themes_directory.themes()}
        update = InterestUpdate.parse(body, known)
        await self.interests.replace(principal.user_id, update)
        return await self.me(principal)

    async def list_users(self, principal: Principal, params: PageParams) -> Window[UserSummary]:
        principal.require_admin()
        return await self.users.page(params)


class AdminService:
    def __init__(self, provenance: ProvenanceReport) -> None:
        self.provenance = provenance

    async def provenance_page(
        self, principal: Principal, filters: ProvenanceFilter, params: PageParams
    ) -> Window[ProvenanceRecord]:
        principal.require_admin()
        return await self.provenance.page(filters, params)
