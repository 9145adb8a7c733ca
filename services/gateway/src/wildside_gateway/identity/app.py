"""Identity and admin use cases: log in (throttled), log out, end a user's sessions, read
the profile, set interests, list users, report enrichment provenance; sign up, leave
(delete the account) and export one's data (`AccountService`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from wildside_common.analytics import Analytics, NullAnalytics, UserLoggedIn, UserSignup
from wildside_common.errors import InvalidInput, Unauthorized
from wildside_common.pagination import PageParams, Window
from wildside_common.revocations import SessionRevocations
from wildside_common.sessions import SessionClaims, SessionCodec
from wildside_gateway.identity.domain.accounts import (
    Departure,
    LastAdmin,
    ReauthenticationRequired,
    SignUp,
    SignupDisabled,
    UsernameTaken,
    WrongPassword,
    session_is_fresh,
)
from wildside_gateway.identity.domain.identity import (
    Credentials,
    InterestTheme,
    UserProfile,
    UserSummary,
)
from wildside_gateway.identity.domain.interests import InterestUpdate
from wildside_gateway.identity.domain.login_throttle import LoginAttempt, TooManyAttempts
from wildside_gateway.identity.domain.provenance import ProvenanceFilter, ProvenanceRecord
from wildside_gateway.identity.ports import (
    Accounts,
    CommonPasswords,
    ExportSection,
    IdentityMetrics,
    InterestSets,
    LoginThrottle,
    NullIdentityMetrics,
    PasswordHasher,
    PasswordVerifier,
    ProvenanceReport,
    SignupThrottle,
    ThemeDirectory,
    Users,
)
from wildside_gateway.shared.domain.principal import Principal, Role

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
        await self.admit(attempt)
        stored = await self.users.credentials(credentials.username)
        stored_hash = stored.password_hash if stored else DUMMY_HASH
        matches = await asyncio.to_thread(self.passwords.verify, stored_hash, credentials.password)
        if stored is None or not matches:
            raise Unauthorized("wrong username or password")
        session = await self.open_session(stored.user_id, stored.role)
        await self.throttle.succeeded(attempt)
        self.analytics.capture(UserLoggedIn(stored.user_id, str(stored.role)))
        return session

    async def open_session(self, user_id: str, role: Role) -> Session:
        """A new session of the user with their profile (login and sign-up alike)."""
        profile = await self.users.profile(user_id)
        if profile is None:
            raise Unauthorized("wrong username or password")
        token, claims = self.sessions.issue(user_id, str(role))
        return Session(token, claims, profile)

    async def admit(self, attempt: LoginAttempt) -> None:
        """Count a password check with the login throttle; TooManyAttempts once it refuses."""
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


class AccountService:
    """Accounts people open and close themselves: sign up (and be logged in), leave
    (delete the account and all that is theirs, ending their sessions), export it all.

    Sessions are opened and password checks throttled by `IdentityService`, as for a
    login; the export's parts are `ExportSection`s (one per kind of user data)."""

    def __init__(
        self,
        identity: IdentityService,
        accounts: Accounts,
        hasher: PasswordHasher,
        common: CommonPasswords,
        signup_throttle: SignupThrottle,
        sections: Sequence[ExportSection] = (),
        signup_enabled: bool = True,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.identity = identity
        self.accounts = accounts
        self.hasher = hasher
        self.common = common
        self.signup_throttle = signup_throttle
        self.sections = tuple(sections)
        self.signup_enabled = signup_enabled
        self.clock = clock
        names = [section.name for section in self.sections]
        if len(set(names)) != len(names) or {"profile", "exported_at"} & set(names):
            raise ValueError(f"export section names must be unique and not reserved: {names}")

    async def sign_up(self, body: Any, address: str) -> Session:
        """A new user (role user), logged in; UsernameTaken when the name is someone's."""
        metrics = self.identity.metrics
        if not self.signup_enabled:
            metrics.signup("disabled")
            raise SignupDisabled(
                "sign-up is switched off here; ask an administrator for an account"
            )
        try:
            signup = SignUp.parse(body, self.common.is_common)
        except InvalidInput:
            metrics.signup("invalid")
            raise
        retry_after = await self.signup_throttle.attempt(address)
        if retry_after is not None:
            metrics.signup("throttled")
            raise TooManyAttempts(
                "too many sign-ups from this address; try again later",
                retry_after,
                {"limit": "signup"},
            )
        password_hash = await asyncio.to_thread(self.hasher.hash, signup.password)
        user_id = await self.accounts.create(
            signup.username, signup.display_name, password_hash, Role.USER
        )
        if user_id is None:
            metrics.signup("taken")
            raise UsernameTaken("this username is taken", {"field": "username"})
        metrics.signup("created")
        self.identity.analytics.capture(UserSignup(user_id, str(Role.USER), source="signup"))
        log.info("account created", extra={"user_id": user_id, "source": "signup"})
        return await self.identity.open_session(user_id, Role.USER)

    async def leave(
        self, principal: Principal, claims: SessionClaims, body: Any, address: str
    ) -> None:
        """Delete the principal's account and all that is theirs, then end every session
        of theirs. Needs the password, or a session younger than the window."""
        departure = Departure.parse(body)
        metrics = self.identity.metrics
        profile = await self.identity.users.profile(principal.user_id)
        if profile is None:  # deleted, but its sessions were not ended then: end them now
            await self.identity.end_sessions(principal.user_id, "account deleted")
            return
        if departure.password is None:
            if not session_is_fresh(claims.issued_at, self.clock()):
                metrics.account_deleted("refused")
                raise ReauthenticationRequired(
                    "deleting the account needs the password (or a session less than five "
                    "minutes old)"
                )
        else:
            await self._check_password(
                principal, profile.user.username, departure.password, address
            )
        try:
            await self.accounts.delete(principal.user_id)
        except LastAdmin:
            metrics.account_deleted("last_admin")
            raise
        metrics.account_deleted("deleted")
        log.info("account deleted", extra={"user_id": principal.user_id})
        await self.identity.end_sessions(principal.user_id, "account deleted")

    async def _check_password(
        self, principal: Principal, username: str, password: str, address: str
    ) -> None:
        identity = self.identity
        attempt = LoginAttempt.of(username, address)
        await identity.admit(attempt)  # guesses count as failed logins do
        stored = await identity.users.credentials(username)
        stored_hash = stored.password_hash if stored else DUMMY_HASH
        matches = await asyncio.to_thread(identity.passwords.verify, stored_hash, password)
        if stored is None or stored.user_id != principal.user_id or not matches:
            identity.metrics.account_deleted("refused")
            raise WrongPassword("the password is wrong")
        await identity.throttle.succeeded(attempt)

    async def export(self, principal: Principal) -> dict[str, Any]:
        """Everything the service holds about the principal, as one JSON document."""
        profile = await self.identity.me(principal)
        document: dict[str, Any] = {
            "exported_at": self.clock().isoformat(),
            "profile": profile.view(),
        }
        for section in self.sections:
            document[section.name] = await section.collect(principal.user_id)
        return document
