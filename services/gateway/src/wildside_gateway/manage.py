"""`wildside-manage`: create users, reset passwords, grant or revoke the admin role, end
a user's sessions.

Passwords are read from a prompt, or from stdin with --password-stdin; never from argv.
`revoke-sessions USERNAME` ends every session of the user at once (the gateway and
tiles-auth refuse them within a second); a password reset and a role change do the same
after the change is stored, so the new password or role holds from the next request.
Sessions are ended in Redis (--redis-url, default $REDIS_URL; keys under $REDIS_PREFIX,
as the services use them); when Redis cannot be reached the command fails, saying so.
`ensure-dev-accounts` creates the development accounts (demo / admin) and refuses to
run in production mode. `generate-session-key --out FILE` writes a session key file with
one fresh signing key unless FILE exists (no database needed); see
docs/runbooks/session-key-rotation.md for its format and for rotation.

Users are written through the API's own users adapter (`PostgresUsers`), and sessions
are ended by the identity use case `SessionRevoker`.
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
from wildside_common.errors import Unavailable
from wildside_common.revocations_redis import connect_revocations
from wildside_common.session_keys import load_keyring, write_new_key_file
from wildside_gateway.identity.adapters.outbound.passwords import Argon2Passwords
from wildside_gateway.identity.adapters.outbound.users import PostgresUsers
from wildside_gateway.identity.app import SessionRevoker
from wildside_gateway.identity.domain.accounts import LastAdmin
from wildside_gateway.identity.ports import UserAccounts
from wildside_gateway.shared.domain.principal import Role

DEV_ACCOUNTS = (
    ("demo", "Demo Walker", "wildside-demo", Role.USER),
    ("admin", "Dev Admin", "wildside-admin", Role.ADMIN),
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


async def create_user(users: UserAccounts, args: argparse.Namespace) -> str:
    password = Argon2Passwords().hash(read_password(args.password_stdin))
    role = Role.ADMIN if args.admin else Role.USER
    user_id = await users.create(args.username, args.display_name or args.username, password, role)
    if user_id is None:
        raise SystemExit(f"user {args.username!r} already exists")
    await record_signup(user_id, role)
    return f"created {role} {args.username} ({user_id})"


async def record_signup(user_id: str, role: str) -> None:
    """The `UserSignup` analytics event (sent before the command exits, when PostHog is
    configured; a PostHog outage never fails the command)."""
    analytics = analytics_from_settings(AnalyticsSettings.from_env(EnvReader.from_os()), "manage")
    analytics.capture(UserSignup(user_id, role, source="admin-cli"))
    await analytics.close()


async def end_sessions(args: argparse.Namespace, user_id: str, done: str, reason: str) -> str:
    """End every session of the user (after `done`, the change already stored)."""
    revocations = connect_revocations(args.redis_url, os.environ.get("REDIS_PREFIX", ""))
    try:
        await SessionRevoker(revocations).end_all(user_id, reason)
    except Unavailable:
        raise SystemExit(
            f"{done}, but their sessions could not be ended (Redis at {args.redis_url} did "
            f"not answer): run `wildside-manage revoke-sessions {args.username}` once it does"
        ) from None
    finally:
        await revocations.close()
    return f"{done}; every session of theirs has ended"


async def reset_password(users: UserAccounts, args: argparse.Namespace) -> str:
    password = Argon2Passwords().hash(read_password(args.password_stdin))
    user_id = await users.set_password(args.username, password)
    if user_id is None:
        raise SystemExit(f"no user {args.username!r}")
    done = f"password reset for {args.username}"
    return await end_sessions(args, user_id, done, "password reset")


async def set_role(users: UserAccounts, args: argparse.Namespace) -> str:
    role = Role.ADMIN if args.command == "grant-admin" else Role.USER
    try:
        user_id = await users.set_role(
            args.username, role, keep_an_admin=not getattr(args, "allow_no_admin", False)
        )
    except LastAdmin as refused:
        raise SystemExit(f"{refused}, or pass --allow-no-admin") from None
    if user_id is None:
        raise SystemExit(f"no user {args.username!r}")
    done = f"{args.username} is now {role}"
    return await end_sessions(args, user_id, done, "role change")


async def revoke_sessions(users: UserAccounts, args: argparse.Namespace) -> str:
    user_id = await users.user_id(args.username)
    if user_id is None:
        raise SystemExit(f"no user {args.username!r}")
    done = f"sessions of {args.username} revoked"
    return await end_sessions(args, user_id, done, "revoke-sessions")


async def ensure_dev_accounts(users: UserAccounts, _: argparse.Namespace) -> str:
    if os.environ.get("WILDSIDE_ENV", "development") == "production":
        raise SystemExit("refusing to create development accounts in production mode")
    passwords = Argon2Passwords()
    created = []
    for username, display, password, role in DEV_ACCOUNTS:
        if await users.user_id(username) is None:
            await users.create(username, display, passwords.hash(password), role)
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
    "revoke-sessions": revoke_sessions,
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
    top.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        help="Redis URL where sessions are ended (default: $REDIS_URL, else local)",
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
    reset = sub.add_parser(
        "reset-password", help="set a new password for a user (ends their sessions)"
    )
    reset.add_argument("username")
    reset.add_argument("--password-stdin", action="store_true")
    for name, text in (
        ("grant-admin", "give a user the admin role (ends their sessions)"),
        ("revoke-admin", "take the admin role away (ends their sessions)"),
        ("revoke-sessions", "end every session of a user now (log them out everywhere)"),
    ):
        command = sub.add_parser(name, help=text)
        command.add_argument("username")
        if name == "revoke-admin":
            command.add_argument(
                "--allow-no-admin",
                action="store_true",
                help="demote even the last administrator (refused otherwise)",
            )
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
    pool = await asyncpg.create_pool(args.database_url, min_size=1, max_size=1)
    try:
        return await COMMANDS[args.command](PostgresUsers(pool), args)
    finally:
        await pool.close()


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
