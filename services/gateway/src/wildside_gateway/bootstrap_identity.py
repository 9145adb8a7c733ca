"""Composition of the identity side of the gateway (sessions, users, admin reports).

`bootstrap.build_app` calls `identity_wiring` with the real pool, the login throttle and
the session revocations over Redis; unit tests call `wire_identity` with in-memory fakes,
so both go through the same assembly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import asyncpg
from starlette.routing import Route

from wildside_common.analytics import Analytics
from wildside_common.revocations import SessionRevocations
from wildside_common.sessions import SessionCodec
from wildside_gateway.adapters.inbound.admin_http import AdminEndpoints
from wildside_gateway.adapters.inbound.identity_http import IdentityEndpoints
from wildside_gateway.adapters.inbound.session_auth import SessionAuthenticator
from wildside_gateway.adapters.outbound.passwords import Argon2Passwords
from wildside_gateway.adapters.outbound.provenance import PostgresProvenanceReport
from wildside_gateway.adapters.outbound.users import (
    PostgresInterestSets,
    PostgresThemeDirectory,
    PostgresUsers,
)
from wildside_gateway.identity_app import AdminService, IdentityService
from wildside_gateway.identity_config import IdentitySettings
from wildside_gateway.identity_ports import (
    InterestSets,
    LoginThrottle,
    PasswordVerifier,
    ProvenanceReport,
    ThemeDirectory,
    Users,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdentityWiring:
    auth: SessionAuthenticator
    ws_auth: SessionAuthenticator
    service: IdentityService
    routes: list[Route]


def wire_identity(
    settings: IdentitySettings,
    max_body: int,
    users: Users,
    interests: InterestSets,
    themes: ThemeDirectory,
    passwords: PasswordVerifier,
    provenance: ProvenanceReport,
    throttle: LoginThrottle,
    revocations: SessionRevocations,
    analytics: Analytics | None = None,
) -> IdentityWiring:
    """Build the session codec, authenticators, use cases and HTTP routes."""
    codec = SessionCodec(settings.keys.keyring)
    auth = SessionAuthenticator(codec, revocations, settings.cookie_name)
    ws_auth = SessionAuthenticator(codec, revocations, settings.cookie_name, websocket=True)
    service = IdentityService(
        users, interests, themes, passwords, codec, throttle, revocations, analytics
    )
    routes = [
        *IdentityEndpoints(service, auth, auth, settings, max_body).routes(),
        *AdminEndpoints(AdminService(provenance), auth).routes(),
    ]
    return IdentityWiring(auth, ws_auth, service, routes)


def identity_wiring(
    settings: IdentitySettings,
    max_body: int,
    pool: asyncpg.Pool,
    throttle: LoginThrottle,
    revocations: SessionRevocations,
    analytics: Analytics | None = None,
) -> IdentityWiring:
    """The identity side over PostgreSQL; logs the keyring's origin and any warning."""
    for warning in settings.keys.warnings:
        log.warning(warning)
    log.info(
        "session keys loaded",
        extra={"source": settings.keys.source, "keys": settings.keys.keyring.describe()},
    )
    return wire_identity(
        settings,
        max_body,
        PostgresUsers(pool),
        PostgresInterestSets(pool),
        PostgresThemeDirectory(pool),
        Argon2Passwords(),
        PostgresProvenanceReport(pool),
        throttle,
        revocations,
        analytics,
    )
