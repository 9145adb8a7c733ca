"""Session settings of the gateway: the keyring, the cookie, revocations, login limits.

    SESSION_KEYS_FILE, SESSION_ALLOW_EPHEMERAL   see wildside_common.session_keys
    SESSION_COOKIE_SECURE   true/false: the cookie's Secure attribute (development: false)
    SESSION_SAMESITE        Strict, Lax or None (development: Lax)
    SESSION_REVOCATION_MAX_STALENESS_SECONDS   how long the revocation mirror may go
                            without hearing from Redis before sessions fail closed (1)
    LOGIN_MAX_FAILURES / LOGIN_FAILURE_WINDOW_SECONDS   failed logins per username (5 / 900)
    LOGIN_ADDRESS_ATTEMPTS_PER_MINUTE   login attempts per client address (100)
    TRUSTED_PROXIES         comma-separated addresses/CIDRs whose X-Forwarded-For is
                            believed (empty: the peer address is the client's)
    SIGNUP_ENABLED          true/false: `POST /api/v1/users` opens accounts (development:
                            true; production: false unless set; off: 403 signup_disabled)
    SIGNUP_ATTEMPTS_PER_HOUR   sign-up attempts per client address per hour (10)

In production mode every toggle must be set explicitly; `SameSite=None` without
`Secure` is refused in every mode, since browsers drop such a cookie.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from wildside_common.config import CommonSettings, ConfigError, EnvReader
from wildside_common.session_keys import KeyringSettings
from wildside_gateway.identity.domain.login_throttle import LoginLimits
from wildside_gateway.shared.adapters.inbound.client_address import Network, parse_trusted_proxies

SAMESITE = ("Strict", "Lax", "None")
COOKIE_NAME = "session"


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    keys: KeyringSettings
    cookie_secure: bool
    samesite: str
    cookie_name: str = COOKIE_NAME
    login_limits: LoginLimits = field(default_factory=LoginLimits)
    trusted_proxies: tuple[Network, ...] = ()
    revocation_max_staleness: float = 1.0
    signup_enabled: bool = True
    signup_attempts_per_hour: int = 10

    @classmethod
    def from_env(cls, env: EnvReader, common: CommonSettings) -> IdentitySettings:
        production = common.production
        secure = (
            env.flag("SESSION_COOKIE_SECURE")
            if production
            else env.flag("SESSION_COOKIE_SECURE", False)
        )
        raw = env.text("SESSION_SAMESITE") if production else env.text("SESSION_SAMESITE", "Lax")
        samesite = next((value for value in SAMESITE if value.lower() == raw.lower()), None)
        if samesite is None:
            raise ConfigError("SESSION_SAMESITE", f"must be one of Strict, Lax, None, got {raw!r}")
        if samesite == "None" and not secure:
            raise ConfigError(
                "SESSION_SAMESITE", "None requires SESSION_COOKIE_SECURE=true (browsers drop it)"
            )
        return cls(
            KeyringSettings.from_env(env, common),
            secure,
            samesite,
            login_limits=login_limits(env),
            trusted_proxies=trusted_proxies(env),
            revocation_max_staleness=env.real(
                "SESSION_REVOCATION_MAX_STALENESS_SECONDS", 1.0, minimum=0.5, maximum=60.0
            ),
            signup_enabled=env.flag("SIGNUP_ENABLED", not production),
            signup_attempts_per_hour=env.integer("SIGNUP_ATTEMPTS_PER_HOUR", 10, minimum=1),
        )


def login_limits(env: EnvReader) -> LoginLimits:
    return LoginLimits(
        max_failures=env.integer("LOGIN_MAX_FAILURES", 5, minimum=1),
        failure_window=env.integer("LOGIN_FAILURE_WINDOW_SECONDS", 900, minimum=1),
        address_attempts=env.integer("LOGIN_ADDRESS_ATTEMPTS_PER_MINUTE", 100, minimum=1),
    )


def trusted_proxies(env: EnvReader) -> tuple[Network, ...]:
    try:
        return parse_trusted_proxies(env.text("TRUSTED_PROXIES", ""))
    except ValueError as exc:
        raise ConfigError("TRUSTED_PROXIES", str(exc)) from None
