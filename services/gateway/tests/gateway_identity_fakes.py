"""In-memory fakes of the identity ports, and an app built through `wire_identity`
behind the gateway's middleware (`bootstrap.gateway_app`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.errors import Conflict
from wildside_common.pagination import Direction, Key, PageParams, Window, assemble
from wildside_common.session_keys import KeyringSettings
from wildside_common.sessions import Keyring, KeyStatus, SessionKey
from wildside_common.telemetry import configure_tracing
from wildside_common.testing.analytics import RecordingAnalytics
from wildside_gateway.bootstrap import gateway_app
from wildside_gateway.bootstrap_identity import IdentityWiring, wire_identity
from wildside_gateway.domain.identity import (
    InterestTheme,
    StoredCredentials,
    UserProfile,
    UserSummary,
)
from wildside_gateway.domain.interests import InterestUpdate, check_revision
from wildside_gateway.domain.origins import AllowedOrigins
from wildside_gateway.domain.principal import Role
from wildside_gateway.domain.provenance import ProvenanceFilter, ProvenanceRecord
from wildside_gateway.identity_config import IdentitySettings

KEY = SessionKey("k-test", b"t" * 64, KeyStatus.SIGNING)
BASE_URL = "http://testserver"  # the app's PUBLIC_BASE_URL and its one allowed origin
THEMES = [InterestTheme(t, t.title(), f"about {t}") for t in ("history", "art", "nature", "food")]


class FakeUsers:
    def __init__(self) -> None:
        self.rows: dict[str, tuple[UserSummary, str]] = {}
        self.interests: dict[str, tuple[tuple[str, ...], int]] = {}

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


class FakeThemes:
    async def themes(self) -> list[InterestTheme]:
        return list(THEMES)


class FakePasswords:
    def verify(self, stored_hash: str, password: str) -> bool:
        return stored_hash == f"hash:{password}"


class FakeProvenance:
    def __init__(self) -> None:
        self.records: list[ProvenanceRecord] = []

    async def page(self, filters: ProvenanceFilter, params: PageParams) -> Window[ProvenanceRecord]:
        return assemble(self.records[: params.limit + 1], params, lambda r: (r.id,))


def identity_settings(secure: bool = False, samesite: str = "Lax") -> IdentitySettings:
    keys = KeyringSettings(Keyring((KEY,)), "test", False)
    return IdentitySettings(keys, secure, samesite)


def identity_app(
    users: FakeUsers,
    settings: IdentitySettings | None = None,
    provenance: FakeProvenance | None = None,
    analytics: RecordingAnalytics | None = None,
) -> tuple[httpx.AsyncClient, IdentityWiring]:
    configure_tracing(CommonSettings.from_env(EnvReader({}), "gateway", 0))  # real trace ids
    wiring = wire_identity(
        settings or identity_settings(),
        16384,
        users,
        users,
        FakeThemes(),
        FakePasswords(),
        provenance or FakeProvenance(),
        analytics,
    )
    app = gateway_app(wiring.routes, AllowedOrigins.parse([BASE_URL]), BASE_URL)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL), wiring
