"""Session settings of the gateway: the keyring and the cookie's attributes.

    SESSION_KEYS_FILE, SESSION_ALLOW_EPHEMERAL   see wildside_common.session_keys
    SESSION_COOKIE_SECURE   true/false: the cookie's Secure attribute (development: false)
    SESSION_SAMESITE        Strict, Lax or None (development: Lax)

In production mode every toggle must be set explicitly; `SameSite=None` without
`Secure` is refused in every mode, since browsers drop such a cookie.
"""

from __future__ import annotations

from dataclasses import dataclass

from wildside_common.config import CommonSettings, ConfigError, EnvReader
from wildside_common.session_keys import KeyringSettings

SAMESITE = ("Strict", "Lax", "None")
COOKIE_NAME = "session"


@dataclass(frozen=True, slots=True)
class IdentitySettings:
    keys: KeyringSettings
    cookie_secure: bool
    samesite: str
    cookie_name: str = COOKIE_NAME

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
        return cls(KeyringSettings.from_env(env, common), secure, samesite)
