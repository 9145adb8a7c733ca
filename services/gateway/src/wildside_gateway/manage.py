"""`wildside-manage`: create users, reset passwords, grant or revoke the admin role.

Passwords are read from a prompt, or from stdin with --password-stdin; never from argv.
`ensure-dev-accounts` creates the development accounts (demo / admin) and refuses to
run in production mode. `generate-session-key --out FILE` writes a session key file with
one fresh signing key unless FILE exists (no database needed); see
docs/runbooks/session-key-rotation.md for its format and for rotation.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from pathlib import Path

import asyncpg

from wildside_common.analytics import AnalyticsSettings, UserSignup, analytics_from_settings
from wildside_common.config import EnvReader
from wildside_common.session_keys import load_keyring, write_new_key_file
from wildside_gateway.adapters.outbound.passwords import Argon2Passwords

DEV_ACCOUNTS = (
    ("demo", "Demo Walker", "wildside-demo", "user"),
    ("admin", "Dev Admin", "wildside-admin", "admin"),
)
UPSERT_USER = (
    "INSERT INTO users (username, display_name, password_hash, role) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (username) DO NOTHING RETURNING id"
)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Repeat: ") != password:
            raise SystemExit("passwords differ")
    if len(password) < 8:
        raise SystemExit("a password needs at least 8 characters")
    return password


async def create_user(conn: asyncpg.Connection, args: argparse.Namespace) -> str:
    password = Argon2Passwords().hash(read_password(args.password_stdin))
    role = "admin" if args.admin else "user"
    user_id = await conn.fetchval(
        UPSERT_USER, args.username, args.display_name or args.username, password, role
    )
    if user_id is None:
        raise SystemExit(f"user {args.username!r} already exists")
    await record_signup(str(user_id), role)
    return f"created {role} {args.username} ({user_id})"


async def record_signup(user_id: str, role: str) -> None:
    """The `UserSignup` analytics event (sent before the command exits, when PostHog is
    configured; a PostHog outage never fails the command)."""
    analytics = analytics_from_settings(AnalyticsSettings.from_env(EnvReader.from_os()), "manage")
    analytics.capture(UserSignup(user_id, role, source="admin-cli"))
    await analytics.close()


async def reset_password(conn: asyncpg.Connection, args: argparse.Namespace) -> str:
    password = Argon2Passwords().hash(read_password(args.password_stdin))
    done = await conn.execute(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE username = $1",
        args.username,
        password,
    )
    if done.endswith(" 0"):
        raise SystemExit(f"no user {args.username!r}")
    return f"password reset for {args.username}"


async def set_role(conn: asyncpg.Connection, args: argparse.Namespace) -> str:
    role = "admin" if args.command == "grant-admin" else "user"
    done = await conn.execute(
        "UPDATE users SET role = $2, updated_at = now() WHERE username = $1", args.username, role
    )
    if done.endswith(" 0"):
        raise SystemExit(f"no user {args.username!r}")
    return f"{args.username} is now {role}"


async def ensure_dev_accounts(conn: asyncpg.Connection, _: argparse.Namespace) -> str:
    if os.environ.get("WILDSIDE_ENV", "development") == "production":
        raise SystemExit("refusing to create development accounts in production mode")
    passwords = Argon2Passwords()
    created = []
    for username, display, password, role in DEV_ACCOUNTS:
        if await conn.fetchval("SELECT 1 FROM users WHERE username = $1", username) is None:
            await conn.execute(UPSERT_USER, username, display, passwords.hash(password), role)
            created.append(username)
    return f"development accounts created: {', '.join(created) or 'none (already there)'}"


def generate_session_key(args: argparse.Namespace) -> str:
    """Write a new key file, or describe the existing one; never overwrite keys."""
    path = Path(args.out)
    if path.exists():
        keyring = load_keyring(path)
        return f"{path} exists, kept: " + "; ".join(keyring.describe())
    keyring = write_new_key_file(path)
    return f"{path} written: " + "; ".join(keyring.describe())


COMMANDS = {
    "create-user": create_user,
    "reset-password": reset_password,
    "grant-admin": set_role,
    "revoke-admin": set_role,
    "ensure-dev-accounts": ensure_dev_accounts,
}


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="wildside-manage",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    top.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL URL (default: $DATABASE_URL)",
    )
    sub = top.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create-user", help="create a user (password from prompt or stdin)")
    create.add_argument("username")
    create.add_argument("--display-name")
    create.add_argument("--admin", action="store_true", help="give the admin role")
    create.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of stdin",
    )
    reset = sub.add_parser("reset-password", help="set a new password for a user")
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")
    for name, text in (
        ("grant-admin", "give a user the admin role"),
        ("revoke-admin", "take the admin role away"),
    ):
        sub.add_parser(name, help=text).add_argument("username")
    generate = sub.add_parser(
        "generate-session-key",
        help="write a session key file with one signing key (kept if it exists)",
    )
    generate.add_argument("--out", required=True, help="the key file to create")
    sub.add_parser(
        "ensure-dev-accounts",
        help="create demo/wildside-demo and admin/wildside-admin (development only)",
    )
    return top


async def run(args: argparse.Namespace) -> str:
    conn = await asyncpg.connect(args.database_url)
    try:
        return await COMMANDS[args.command](conn, args)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "generate-session-key":
        print(generate_session_key(args))
        return 0
    if not args.database_url:
        print("DATABASE_URL: is required but not set", file=sys.stderr)
        return 2
    print(asyncio.run(run(args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
