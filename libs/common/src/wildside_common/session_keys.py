"""Session key files, and the keyring settings both the gateway and tiles-auth read.

Key file format (JSON, UTF-8), one file or a directory of `*.json` files merged:

    {"keys": [
        {"kid": "k20261122-3f9a1c", "key": "<standard base64 of >= 64 random bytes>",
         "status": "signing", "created_at": "2026-11-22T02:00:00+00:00"},
        {"kid": "k20260901-77aa01", "key": "...", "status": "verify"}
    ]}

Exactly one key is `signing`; every key verifies. `created_at` is informational (the
rotation script uses it to tell how old a key is). `wildside-manage generate-session-key`
writes a fresh file; `scripts/rotate-session-keys.py` rotates one in a Kubernetes secret.

Environment:
    SESSION_KEYS_FILE        the key file or directory (required in production)
    SESSION_ALLOW_EPHEMERAL  true: with no key file, sign with a random per-process key
                             (development default true; in production it must be set,
                             and to false)
In production mode, a missing toggle, a missing or unreadable key file, a key shorter
than 64 bytes or ephemeral keys allowed all refuse the start with a `ConfigError`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from wildside_common.config import CommonSettings, ConfigError, EnvReader
from wildside_common.sessions import (
    MIN_KEY_BYTES,
    Keyring,
    KeyStatus,
    SessionKey,
    encode_secret,
    generate_secret,
    new_key_id,
)

VARIABLE = "SESSION_KEYS_FILE"


def _key_from_entry(entry: Any, where: str) -> SessionKey:
    if not isinstance(entry, dict):
        raise ValueError(f"{where}: each key must be an object")
    try:
        secret = base64.b64decode(str(entry["key"]), validate=True)
        return SessionKey(str(entry["kid"]), secret, KeyStatus(entry["status"]))
    except KeyError as exc:
        raise ValueError(f"{where}: a key lacks {exc.args[0]!r}") from None
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def parse_key_document(text: str, where: str = "key file") -> list[SessionKey]:
    """The keys of one key file's text."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not JSON ({exc.msg})") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError(f'{where}: expected {{"keys": [...]}}')
    return [_key_from_entry(entry, where) for entry in document["keys"]]


def load_keyring(path: Path) -> Keyring:
    """The keyring in a key file, or in every `*.json` file of a directory."""
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    if not files:
        raise ValueError(f"{path}: the directory holds no *.json key file")
    keys: list[SessionKey] = []
    for file in files:
        keys.extend(parse_key_document(file.read_text(encoding="utf-8"), str(file)))
    return Keyring(tuple(keys))


def key_document(keys: list[tuple[SessionKey, str]]) -> dict[str, Any]:
    """A key file's content from (key, created_at) pairs."""
    return {
        "keys": [
            {
                "kid": key.kid,
                "key": encode_secret(key.secret),
                "status": str(key.status),
                "created_at": created,
            }
            for key, created in keys
        ]
    }


def write_new_key_file(path: Path) -> Keyring:
    """Create `path` with one fresh signing key, readable by its owner only."""
    key = SessionKey(new_key_id(), generate_secret(), KeyStatus.SIGNING)
    body = json.dumps(key_document([(key, datetime.now(UTC).isoformat())]), indent=2)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(body + "\n")
    return Keyring((key,))


@dataclass(frozen=True, slots=True)
class KeyringSettings:
    """Where the session keys came from; `warnings` are logged once logging is set up."""

    keyring: Keyring
    source: str
    ephemeral: bool
    warnings: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: EnvReader, common: CommonSettings) -> KeyringSettings:
        production = common.production
        if production:
            allow_ephemeral = env.flag("SESSION_ALLOW_EPHEMERAL")
            if allow_ephemeral:
                raise ConfigError("SESSION_ALLOW_EPHEMERAL", "must be false in production mode")
        else:
            allow_ephemeral = env.flag("SESSION_ALLOW_EPHEMERAL", True)
        path = env.optional(VARIABLE)
        if path is None:
            return cls._without_file(production, allow_ephemeral)
        keyring = _read_keyring(Path(path))
        short = keyring.short_keys(MIN_KEY_BYTES)
        problem = f"keys shorter than {MIN_KEY_BYTES} bytes: {', '.join(short)}"
        if short and production:
            raise ConfigError(VARIABLE, problem)
        return cls(keyring, path, False, (f"{VARIABLE}: {problem}",) if short else ())

    @classmethod
    def _without_file(cls, production: bool, allow_ephemeral: bool) -> KeyringSettings:
        if production:
            raise ConfigError(VARIABLE, "is required in production mode")
        if not allow_ephemeral:
            raise ConfigError(VARIABLE, "is required when SESSION_ALLOW_EPHEMERAL is false")
        key = SessionKey(new_key_id(), generate_secret(), KeyStatus.SIGNING)
        warning = (
            "no SESSION_KEYS_FILE: signing sessions with an ephemeral key; sessions end when "
            "this process stops and no other process accepts them"
        )
        return cls(Keyring((key,)), "ephemeral", True, (warning,))

    def announce(self, log: logging.Logger) -> Keyring:
        """The keyring, once its warnings and the `session keys loaded` line (origin and
        key ids, never secrets) are logged on the service's own logger; every service that
        checks sessions calls it once at start."""
        for warning in self.warnings:
            log.warning(warning)
        log.info(
            "session keys loaded", extra={"source": self.source, "keys": self.keyring.describe()}
        )
        return self.keyring


def _read_keyring(path: Path) -> Keyring:
    try:
        return load_keyring(path)
    except FileNotFoundError:
        raise ConfigError(VARIABLE, f"{path} does not exist") from None
    except OSError as exc:
        raise ConfigError(VARIABLE, f"{path} is unreadable ({exc.strerror})") from None
    except ValueError as exc:
        raise ConfigError(VARIABLE, f"invalid key file: {exc}") from None
