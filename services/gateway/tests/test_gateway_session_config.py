"""Session configuration: production refusals, development fallbacks, key files."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wildside_common.config import CommonSettings, ConfigError, EnvReader
from wildside_common.session_keys import KeyringSettings, load_keyring, write_new_key_file
from wildside_gateway.identity.config import IdentitySettings

pytestmark = pytest.mark.unit
BIN = Path(sys.executable).parent


def key_file(path: Path, *keys: tuple[str, int, str]) -> Path:
    entries = [
        {"kid": kid, "key": base64.b64encode(os.urandom(size)).decode(), "status": status}
        for kid, size, status in keys
    ]
    path.write_text(json.dumps({"keys": entries}))
    return path


def settings(env: dict[str, str]) -> IdentitySettings:
    reader = EnvReader(env)
    return IdentitySettings.from_env(reader, CommonSettings.from_env(reader, "gateway", 0))


@pytest.fixture
def production(tmp_path: Path) -> dict[str, str]:
    path = key_file(tmp_path / "keys.json", ("k1", 64, "signing"), ("k0", 64, "verify"))
    return {
        "WILDSIDE_ENV": "production",
        "SESSION_KEYS_FILE": str(path),
        "SESSION_COOKIE_SECURE": "true",
        "SESSION_SAMESITE": "Strict",
        "SESSION_ALLOW_EPHEMERAL": "false",
    }


def test_a_complete_production_configuration_loads(production: dict[str, str]) -> None:
    loaded = settings(production)
    assert loaded.cookie_secure and loaded.samesite == "Strict"
    assert loaded.keys.keyring.signer.kid == "k1" and not loaded.keys.ephemeral
    assert loaded.keys.warnings == ()


@pytest.mark.parametrize(
    ("change", "variable", "problem"),
    [
        ({"SESSION_COOKIE_SECURE": ""}, "SESSION_COOKIE_SECURE", "required"),
        ({"SESSION_COOKIE_SECURE": "maybe"}, "SESSION_COOKIE_SECURE", "true or false"),
        ({"SESSION_SAMESITE": ""}, "SESSION_SAMESITE", "required"),
        ({"SESSION_SAMESITE": "Loose"}, "SESSION_SAMESITE", "Strict, Lax, None"),
        ({"SESSION_ALLOW_EPHEMERAL": ""}, "SESSION_ALLOW_EPHEMERAL", "required"),
        ({"SESSION_ALLOW_EPHEMERAL": "true"}, "SESSION_ALLOW_EPHEMERAL", "false in production"),
        ({"SESSION_KEYS_FILE": ""}, "SESSION_KEYS_FILE", "required in production"),
        ({"SESSION_KEYS_FILE": "/nonexistent/k.json"}, "SESSION_KEYS_FILE", "does not exist"),
        (
            {"SESSION_SAMESITE": "None", "SESSION_COOKIE_SECURE": "false"},
            "SESSION_SAMESITE",
            "requires SESSION_COOKIE_SECURE",
        ),
    ],
)
def test_production_refuses_a_missing_or_invalid_setting(
    production: dict[str, str], change: dict[str, str], variable: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        settings({**production, **change})
    assert caught.value.variable == variable
    assert problem in str(caught.value)


def test_production_refuses_short_unreadable_and_malformed_key_files(
    production: dict[str, str], tmp_path: Path
) -> None:
    short = key_file(tmp_path / "short.json", ("k1", 63, "signing"))
    with pytest.raises(ConfigError, match="shorter than 64 bytes: k1"):
        settings({**production, "SESSION_KEYS_FILE": str(short)})
    unreadable = tmp_path / "unreadable"
    unreadable.mkdir()
    (unreadable / "keys.json").mkdir()  # a directory where a file should be
    with pytest.raises(ConfigError, match="SESSION_KEYS_FILE"):
        settings({**production, "SESSION_KEYS_FILE": str(unreadable)})
    for text in ["not json", '{"keys": {}}', '{"keys": [{"kid": "a"}]}', '{"keys": [1]}']:
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ConfigError, match="invalid key file"):
            settings({**production, "SESSION_KEYS_FILE": str(bad)})
    two_signers = key_file(tmp_path / "two.json", ("a", 64, "signing"), ("b", 64, "signing"))
    with pytest.raises(ConfigError, match="exactly one signing key"):
        settings({**production, "SESSION_KEYS_FILE": str(two_signers)})


def test_development_uses_an_ephemeral_key_with_a_warning() -> None:
    loaded = settings({})
    assert loaded.keys.ephemeral and loaded.keys.source == "ephemeral"
    assert "ephemeral" in loaded.keys.warnings[0]
    assert len(loaded.keys.keyring.signer.secret) >= 64
    assert not loaded.cookie_secure and loaded.samesite == "Lax"


def test_development_without_ephemeral_keys_needs_a_key_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SESSION_KEYS_FILE"):
        settings({"SESSION_ALLOW_EPHEMERAL": "false"})
    short = key_file(tmp_path / "short.json", ("k1", 32, "signing"))
    loaded = settings({"SESSION_ALLOW_EPHEMERAL": "false", "SESSION_KEYS_FILE": str(short)})
    assert "shorter than 64 bytes" in loaded.keys.warnings[0]


def test_a_directory_of_key_files_is_merged(tmp_path: Path) -> None:
    key_file(tmp_path / "a.json", ("k-new", 64, "signing"))
    key_file(tmp_path / "b.json", ("k-old", 64, "verify"))
    (tmp_path / "README").write_text("ignored")
    ring = load_keyring(tmp_path)
    assert [key.kid for key in ring.keys] == ["k-new", "k-old"]
    reader = EnvReader({"SESSION_KEYS_FILE": str(tmp_path)})
    assert KeyringSettings.from_env(reader, CommonSettings.from_env(reader, "x", 0)).keyring == ring


def test_generated_key_files_are_private_and_valid(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "keys.json"
    ring = write_new_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_keyring(path) == ring and len(ring.signer.secret) == 64
    with pytest.raises(FileExistsError):
        write_new_key_file(path)


@pytest.mark.parametrize("command", ["wildside-gateway", "wildside-tiles-auth"])
def test_services_refuse_to_start_in_production_naming_the_problem(
    production: dict[str, str], command: str
) -> None:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "DATABASE_URL": "postgresql://127.0.0.1:1/none",
        **production,
        "SESSION_ALLOW_EPHEMERAL": "true",
    }
    done = subprocess.run([str(BIN / command)], env=env, capture_output=True, timeout=60)
    assert done.returncode != 0
    output = (done.stdout + done.stderr).decode()
    assert "SESSION_ALLOW_EPHEMERAL: must be false in production mode" in output


def test_sign_up_is_on_in_development_and_off_in_production_unless_set(
    production: dict[str, str],
) -> None:
    development = settings({"WILDSIDE_ENV": "development"})
    assert development.signup_enabled and development.signup_attempts_per_hour == 10
    assert not settings(production).signup_enabled
    assert settings({**production, "SIGNUP_ENABLED": "true"}).signup_enabled
    assert not settings({"WILDSIDE_ENV": "development", "SIGNUP_ENABLED": "false"}).signup_enabled
    limited = settings({"WILDSIDE_ENV": "development", "SIGNUP_ATTEMPTS_PER_HOUR": "3"})
    assert limited.signup_attempts_per_hour == 3
    for bad in ({"SIGNUP_ENABLED": "maybe"}, {"SIGNUP_ATTEMPTS_PER_HOUR": "0"}):
        with pytest.raises(ConfigError):
            settings({"WILDSIDE_ENV": "development", **bad})
