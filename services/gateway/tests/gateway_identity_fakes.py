"""In-memory fakes of the identity ports, and an app built through `wire_identity`
behind the gateway's middleware (`bootstrap.gateway_app`)."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.errors import Conflict
from wildside_common.pagination import Direction, Key, PageParams, Window, assemble
from wildside_common.session_keys import KeyringSettings
from wildside_common.sessions import Keyring, KeyStatus, SessionKey
from wildside_common.telemetry import configure_tracing
from wildside_common.testing.analytics import RecordingAnalytics
from wildside_common.testing.revocations import MemoryRevocations
from wildside_gateway.bootstrap import AccountPorts, IdentityWiring, gateway_app, wire_identity
from wildside_gateway.identity.adapters.outbound.common_passwords import ZxcvbnCommonPasswords
from wildside_gateway.identity.config import IdentitySettings
from wildside_gateway.identity.domain.accounts import LastAdmin
from wildside_gateway.identity.domain.identity import (
    InterestTheme,
    StoredCredentials,
    UserProfile,
    UserSummary,
)
from wildside_gateway.identity.domain.interests import InterestUpdate, check_revision
from wildside_gateway.identity.domain.login_throttle import (
    Limit,
    Lockout,
    LoginAttempt,
    LoginLimits,
)
from wildside_gateway.identity.domain.provenance import ProvenanceFilter, ProvenanceRecord
from wildside_gateway.shared.domain.origins import AllowedOrigins
from wildside_gateway.shared.domain.principal import Role

KEY = SessionKey("k-test", b"t" * 64, KeyStatus.SIGNING)
BASE_URL = "http://testserver"  # the app's PUBLIC_BASE_URL and its one allowed origin
COMMON_PASSWORDS = ZxcvbnCommonPasswords()
THEMES = [InterestTheme(t, t.title(), f"about {t}") for t in ("history", "art", "nature", "food")]


class FakeUsers:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[UserSummary, str]] = {}
        self.interests: dict[str, tuple[tuple[str, ...], int]] = {}
        self.owned: list[FakeSection] = []  # rows of the user's, deleted with them

    def add(self, username: str, password: str, role: Role = Role.USER) -> str:
        user_id = str(uuid.uuid4())
        created = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=len(self.rows) // 2)
        user = UserSummary(user_id, username, username.title(), role, created)
        self.rows[user_id] = (user, f"hash:{password}")
        return user_id

    async def credentials(self, username: str) -> StoredCredentials | None:
        for user, hashed in self.rows.values():
            if user.username.lower() == username.lower():
                return StoredCredentials(user.id, user.role, hashed)
        return None

    async def profile(self, user_id: str) -> UserProfile | None:
        if user_id not in self.rows:
            return None
        themes, revision = self.interests.get(user_id, ((), 0))
        return UserProfile(self.rows[user_id][0], themes, revision)

    async def page(self, params: PageParams) -> Window[UserSummary]:
        def key(user: UserSummary) -> Key:
            return (user.created_at.isoformat(), user.id)

        ordered = sorted((user for user, _ in self.rows.values()), key=key)
        if params.cursor is not None:
            at = tuple(params.cursor.key)
            if params.direction is Direction.NEXT:
                ordered = [user for user in ordered if key(user) > at]
            else:
                ordered = [user for user in reversed(ordered) if key(user) < at]
        return assemble(ordered[: params.limit + 1], params, key)

    async def replace(self, user_id: str, update: InterestUpdate) -> int:
        _, actual = self.interests.get(user_id, ((), 0))
        check_revision(update.expected_revision, actual)
        if actual and update.expected_revision != actual:
            raise Conflict("lost")
        self.interests[user_id] = (update.theme_ids, actual + 1)
        return actual + 1

    async def create(
        self, username: str, display_name: str, password_hash: str, role: Role
    ) -> str | None:
        if any(user.username.lower() == username.lower() for user, _ in self.rows.values()):
            return None
        user_id = str(uuid.uuid4())
        user = UserSummary(user_id, username, display_name, role, datetime.now(UTC))
        self.rows[user_id] = (user, password_hash)
        return user_id

    async def delete(self, user_id: str) -> bool:
        if user_id not in self.rows:
            return False
        user, _ = self.rows[user_id]
        admins = [u.id for u, _ in self.rows.values() if u.role is Role.ADMIN]
        if user.role is Role.ADMIN and admins == [user_id]:
            raise LastAdmin("the last administrator cannot delete their account")
        del self.rows[user_id]
        self.interests.pop(user_id, None)
        for section in self.owned:
            section.pop(user_id, None)
        return True


class FakeSection:
    """An export section over a dict of rows per user (deleted with the user)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: dict[str, list[dict[str, str]]] = {}

    def pop(self, user_id: str, default: object = None) -> object:
        return self.rows.pop(user_id, default)

    async def collect(self, user_id: str) -> list[dict[str, str]]:
        return list(self.rows.get(user_id, []))


class FakeSignupThrottle:
    """At most `attempts` per address in a fixed window, as the Redis script counts."""

    def __init__(
        self, attempts: int = 10, window: int = 3600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.window = window
        self.clock = clock
        self.counts: dict[str, tuple[int, float]] = {}

    async def attempt(self, address: str) -> int | None:
        now = self.clock()
        count, ends = self.counts.get(address, (0, now + self.window))
        if ends <= now:
            count, ends = 0, now + self.window
        self.counts[address] = (count + 1, ends)
        return None if count + 1 <= self.attempts else max(1, math.ceil(ends - now))


class FakeThemes:
    async def themes(self) -> list[InterestTheme]:
        return list(THEMES)


class FakePasswords:
    def __init__(self) -> None:
        self.checks = 0  # how often the (in production: argon2) check ran

    def verify(self, stored_hash: str, password: str) -> bool:
        self.checks += 1
        return stored_hash == f"hash:{password}"

    def hash(self, password: str) -> str:
        return f"hash:{password}"


class FakeLoginThrottle:
    """Fixed windows per key, as the Redis script keeps them (test_login_throttle_contract)."""

    def __init__(self, limits: LoginLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self.counts: dict[str, tuple[int, float]] = {}  # key -> (attempts, window end)

    def _count(self, key: str, limit: int, window: int) -> tuple[int, float]:
        now = self.clock()
        count, ends = self.counts.get(key, (0, now + window))
        if ends <= now:
            count, ends = 0, now + window
        self.counts[key] = (count + 1, ends)
        return count + 1 - limit, ends - now

    async def attempt(self, attempt: LoginAttempt) -> Lockout | None:
        limits = self.limits
        checks = (
            (Limit.ADDRESS, f"a:{attempt.address}", limits.address_attempts, limits.address_window),
            (Limit.USERNAME, f"u:{attempt.username}", limits.max_failures, limits.failure_window),
        )
        for limit, key, most, window in checks:
            over, left = self._count(key, most, window)
            if over > 0:
                return Lockout(limit, max(1, math.ceil(left)), began=over == 1)
        return None

    async def succeeded(self, attempt: LoginAttempt) -> None:
        self.counts.pop(f"u:{attempt.username}", None)


class FakeProvenance:
    def __init__(self) -> None:
        self.records: list[ProvenanceRecord] = []

    async def page(self, filters: ProvenanceFilter, params: PageParams) -> Window[ProvenanceRecord]:
        return assemble(self.records[: params.limit + 1], params, lambda r: (r.id,))


def identity_settings(secure: bool = False, samesite: str = "Lax") -> IdentitySettings:
    keys = KeyringSettings(Keyring((KEY,)), "test", False)
    return IdentitySettings(keys, secure, samesite)


def account_ports(
    users: FakeUsers,
    passwords: FakePasswords | None = None,
    signup_throttle: FakeSignupThrottle | None = None,
) -> AccountPorts:
    """The sign-up/leaving/export ports over the fakes (the common-password list is the
    real one: it is offline and pure); the user's export sections are `users.owned`."""
    return AccountPorts(
        users,
        passwords or FakePasswords(),
        COMMON_PASSWORDS,
        signup_throttle or FakeSignupThrottle(),
        users.owned,
    )


def identity_app(
    users: FakeUsers,
    settings: IdentitySettings | None = None,
    provenance: FakeProvenance | None = None,
    analytics: RecordingAnalytics | None = None,
    *,
    passwords: FakePasswords | None = None,
    throttle: FakeLoginThrottle | None = None,
    revocations: MemoryRevocations | None = None,
    signup_throttle: FakeSignupThrottle | None = None,
) -> tuple[httpx.AsyncClient, IdentityWiring]:
    configure_tracing(CommonSettings.from_env(EnvReader({}), "gateway", 0))  # real trace ids
    settings = settings or identity_settings()
    passwords = passwords or FakePasswords()
    wiring = wire_identity(
        settings,
        16384,
        users,
        users,
        FakeThemes(),
        passwords,
        provenance or FakeProvenance(),
        throttle or FakeLoginThrottle(settings.login_limits),
        revocations or MemoryRevocations(),
        analytics,
        account_ports=account_ports(users, passwords, signup_throttle),
    )
    app = gateway_app(wiring.routes, AllowedOrigins.parse([BASE_URL]), BASE_URL)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL), wiring
