"""`wildside-manage` against the real database and Redis: users, passwords (never from
argv), the admin role, ending a user's sessions, development accounts (refused in
production), session key files."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from wildside_common.revocations_redis import connect_revocations
from wildside_common.session_keys import load_keyring
from wildside_common.sessions import SessionClaims, new_token_id
from wildside_common.testing.fake_posthog import FakePostHog
from wildside_common.testing.servers import free_port, redis_url, scratch_database, unique_prefix
from wildside_gateway.identity.adapters.outbound.passwords import Argon2Passwords

pytestmark = pytest.mark.contract
MANAGE = str(Path(sys.executable).parent / "wildside-manage")
PREFIX = unique_prefix()  # the sessions this module ends are under its own Redis prefix


def manage(
    database_url: str, *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [MANAGE, "--database-url", database_url, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={
            "PATH": os.environ.get("PATH", ""),
            "REDIS_URL": redis_url(),
            "REDIS_PREFIX": PREFIX,
            **(env or {}),
        },
        timeout=60,
    )


async def user_row(database_url: str, username: str) -> asyncpg.Record | None:
    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchrow(
            "SELECT role, password_hash FROM users WHERE username = $1::text::citext", username
        )
    finally:
        await conn.close()


def test_help_explains_every_command_and_there_is_no_password_argument() -> None:
    done = subprocess.run([MANAGE, "--help"], capture_output=True, text=True, check=True)
    for command in ("create-user", "reset-password", "grant-admin", "revoke-admin"):
        assert command in done.stdout
    assert "never from argv" in done.stdout
    create = subprocess.run([MANAGE, "create-user", "--help"], capture_output=True, text=True)
    assert "--password-stdin" in create.stdout and "--password " not in create.stdout


async def test_create_reset_grant_and_revoke(database_url: str) -> None:
    name = f"m-{uuid.uuid4().hex[:10]}"
    created = manage(database_url, "create-user", name, "--password-stdin", stdin="first-pass\n")
    assert created.returncode == 0, created.stderr
    row = await user_row(database_url, name)
    assert row is not None and row["role"] == "user"
    assert Argon2Passwords().verify(row["password_hash"], "first-pass")
    again = manage(database_url, "create-user", name, "--password-stdin", stdin="first-pass\n")
    assert again.returncode != 0 and "already exists" in again.stderr
    short = manage(database_url, "reset-password", name, "--password-stdin", stdin="short\n")
    assert short.returncode != 0
    manage(database_url, "reset-password", name, "--password-stdin", stdin="second-pass\n")
    row = await user_row(database_url, name)
    assert row is not None and Argon2Passwords().verify(row["password_hash"], "second-pass")
    # another admin, so that this one is not the last (other suites demote admins)
    keeper = ("create-user", f"{name}-k", "--admin", "--password-stdin")
    assert manage(database_url, *keeper, stdin="keeper-pass\n").returncode == 0
    assert manage(database_url, "grant-admin", name).returncode == 0
    assert (await user_row(database_url, name))["role"] == "admin"  # type: ignore[index]
    assert manage(database_url, "revoke-admin", name).returncode == 0
    assert (await user_row(database_url, name))["role"] == "user"  # type: ignore[index]
    assert manage(database_url, "grant-admin", f"nobody-{name}").returncode != 0


async def test_development_accounts_exist_only_outside_production(database_url: str) -> None:
    refused = manage(database_url, "ensure-dev-accounts", env={"WILDSIDE_ENV": "production"})
    assert refused.returncode != 0 and "production" in refused.stderr
    done = manage(database_url, "ensure-dev-accounts", env={"WILDSIDE_ENV": "development"})
    assert done.returncode == 0, done.stderr
    admin = await user_row(database_url, "admin")
    demo = await user_row(database_url, "demo")
    assert admin is not None and admin["role"] == "admin"
    assert Argon2Passwords().verify(admin["password_hash"], "wildside-admin")
    assert demo is not None and Argon2Passwords().verify(demo["password_hash"], "wildside-demo")


def test_generate_session_key_writes_once(tmp_path: Path) -> None:
    path = tmp_path / "data" / "session-keys.json"
    first = subprocess.run(
        [MANAGE, "generate-session-key", "--out", str(path)],
        text=True,
        capture_output=True,
        env={"PATH": ""},
        check=True,
    )
    ring = load_keyring(path)
    assert ring.signer.fingerprint in first.stdout and "written" in first.stdout
    second = subprocess.run(
        [MANAGE, "generate-session-key", "--out", str(path)],
        text=True,
        capture_output=True,
        env={"PATH": ""},
        check=True,
    )
    assert "kept" in second.stdout and load_keyring(path) == ring


async def test_create_user_sends_a_user_signup_event_when_posthog_is_configured(
    database_url: str,
) -> None:
    posthog = FakePostHog().start()
    try:
        name = f"s-{uuid.uuid4().hex[:10]}"
        env = {"POSTHOG_API_KEY": "phc_test", "POSTHOG_HOST": posthog.url}
        created = manage(
            database_url, "create-user", name, "--password-stdin", stdin="first-pass\n", env=env
        )
        assert created.returncode == 0, created.stderr
        [event] = posthog.events("UserSignup")  # sent before the command returned
        user_id = created.stdout.strip().rsplit("(", 1)[1].rstrip(")")
        assert event["distinct_id"] == user_id
        assert event["properties"]["role"] == "user"
        assert event["properties"]["source"] == "admin-cli"
        assert name not in str(event)  # no username (or other personal data) leaves
        posthog.fail_with = 503  # PostHog down: the command still succeeds
        other = manage(
            database_url,
            "create-user",
            f"{name}x",
            "--password-stdin",
            stdin="first-pass\n",
            env=env,
        )
        assert other.returncode == 0, other.stderr
    finally:
        posthog.close()


def session_of(user_id: str, seconds_ago: float) -> SessionClaims:
    issued = datetime.now(UTC) - timedelta(seconds=seconds_ago)
    return SessionClaims(user_id, "user", issued, issued + timedelta(hours=2), "k", new_token_id())


async def user_id_of(database_url: str, username: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        return str(await conn.fetchval("SELECT id FROM users WHERE username = $1", username))
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "command",
    [
        ["revoke-sessions"],
        ["grant-admin"],
        ["revoke-admin"],
        ["reset-password", "--password-stdin"],
    ],
)
async def test_ending_sessions_reaches_every_process_through_redis(
    database_url: str, command: list[str]
) -> None:
    name = f"r-{uuid.uuid4().hex[:10]}"
    manage(database_url, "create-user", name, "--password-stdin", stdin="first-pass\n")
    user_id = await user_id_of(database_url, name)
    earlier = session_of(user_id, 5)
    service = connect_revocations(redis_url(), PREFIX)  # as a gateway follows them
    await service.start()
    try:
        assert not await service.is_revoked(earlier)
        done = manage(database_url, command[0], name, *command[1:], stdin="second-pass\n")
        assert done.returncode == 0, done.stderr
        assert "session" in done.stdout
        await asyncio.sleep(0.5)
        assert await service.is_revoked(earlier)
        assert not await service.is_revoked(session_of(user_id, -1))  # a later login
    finally:
        await service.close()


async def test_revoke_sessions_of_an_unknown_user_fails(database_url: str) -> None:
    done = manage(database_url, "revoke-sessions", f"nobody-{uuid.uuid4().hex[:8]}")
    assert done.returncode != 0 and "no user" in done.stderr


async def test_a_role_change_without_redis_fails_saying_what_to_run(database_url: str) -> None:
    name = f"d-{uuid.uuid4().hex[:10]}"
    for who in (name, f"{name}-k"):  # two, so that the demoted one is not the last admin
        manage(database_url, "create-user", who, "--admin", "--password-stdin", stdin="pass-one\n")
    dead = f"redis://127.0.0.1:{free_port()}/0"
    done = manage(database_url, "--redis-url", dead, "revoke-admin", name)
    assert done.returncode != 0
    assert f"{name} is now user" in done.stderr and "revoke-sessions" in done.stderr
    assert (await user_row(database_url, name))["role"] == "user"  # type: ignore[index]


async def test_revoke_admin_keeps_the_last_administrator_unless_told() -> None:
    with scratch_database() as url:  # its own database: the shared one has other admins
        manage(url, "create-user", "only-admin", "--admin", "--password-stdin", stdin="pass-one\n")
        refused = manage(url, "revoke-admin", "only-admin")
        assert refused.returncode != 0
        assert "last administrator" in refused.stderr and "--allow-no-admin" in refused.stderr
        assert (await user_row(url, "only-admin"))["role"] == "admin"  # type: ignore[index]
        done = manage(url, "revoke-admin", "only-admin", "--allow-no-admin")
        assert done.returncode == 0, done.stderr
        assert (await user_row(url, "only-admin"))["role"] == "user"  # type: ignore[index]
