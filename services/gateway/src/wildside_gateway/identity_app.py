"""Identity and admin use cases: log in, read the profile, set interests, list users,
report enrichment provenance."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from wildside_common.analytics import Analytics, NullAnalytics, UserLoggedIn
from wildside_common.errors import Unauthorized
from wildside_common.pagination import PageParams, Window
from wildside_common.sessions import SessionClaims, SessionCodec
from wildside_gateway.domain.identity import (
    Credentials,
    InterestTheme,
    UserProfile,
    UserSummary,
)
from wildside_gateway.domain.interests import InterestUpdate
from wildside_gateway.domain.principal import Principal
from wildside_gateway.domain.provenance import ProvenanceFilter, ProvenanceRecord
from wildside_gateway.identity_ports import (
    InterestSets,
    PasswordVerifier,
    ProvenanceReport,
    ThemeDirectory,
    Users,
)

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


class IdentityService:
    def __init__(
        self,
        users: Users,
        interests: InterestSets,
        themes: ThemeDirectory,
        passwords: PasswordVerifier,
        sessions: SessionCodec,
        analytics: Analytics | None = None,
    ) -> None:
        self.analytics = analytics or NullAnalytics()
        self.users = users
        self.interests = interests
        self.themes_directory = themes
        self.passwords = passwords
        self.sessions = sessions

    async def login(self, body: Any) -> Session:
        """A new session for valid credentials; Unauthorized (same message) otherwise."""
        credentials = Credentials.parse(body)
        stored = await self.users.credentials(credentials.username)
        stored_hash = stored.password_hash if stored else DUMMY_HASH
        matches = await asyncio.to_thread(self.passwords.verify, stored_hash, credentials.password)
        if stored is None or not matches:
            raise Unauthorized("wrong username or password")
        profile = await self.users.profile(stored.user_id)
        if profile is None:
            raise Unauthorized("wrong username or password")
        token, claims = self.sessions.issue(stored.user_id, str(stored.role))
        self.analytics.capture(UserLoggedIn(stored.user_id, str(stored.role)))
        return Session(token, claims, profile)

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
