"""PostgreSQL adapters (asyncpg) for users, interest sets and the theme catalogue.

`PostgresUsers` serves the API (login, sign-up, leaving) and the `wildside-manage` CLI
alike (one writer of users).
"""

from __future__ import annotations

import uuid

import asyncpg

from wildside_common.errors import Conflict, Unauthorized
from wildside_common.pagination import (
    Direction,
    Key,
    PageParams,
    Window,
    assemble,
    time_id_key,
    time_id_position,
)
from wildside_common.pg import guarded, translated
from wildside_gateway.identity.domain.accounts import LastAdmin
from wildside_gateway.identity.domain.identity import (
    InterestTheme,
    StoredCredentials,
    UserProfile,
    UserSummary,
)
from wildside_gateway.identity.domain.interests import InterestUpdate, check_revision
from wildside_gateway.shared.domain.principal import Role

USER_COLUMNS = "id, username::text AS username, display_name, role, created_at"
PROFILE = f"""
SELECT {USER_COLUMNS},
       coalesce(s.revision, 0) AS revision,
       coalesce((SELECT array_agg(i.theme_id ORDER BY i.position, i.theme_id)
                   FROM user_interests i WHERE i.user_id = u.id), '{{}}') AS themes
  FROM users u LEFT JOIN user_interest_sets s ON s.user_id = u.id
 WHERE u.id = $1
"""
PAGE_FIRST = f"SELECT {USER_COLUMNS} FROM users ORDER BY created_at, id LIMIT $1"
PAGE_FORWARD = f"""
SELECT {USER_COLUMNS} FROM users
 WHERE (created_at, id) > ($1::timestamptz, $2::uuid)
 ORDER BY created_at, id LIMIT $3
"""
PAGE_BACKWARD = f"""
SELECT {USER_COLUMNS} FROM users
 WHERE (created_at, id) < ($1::timestamptz, $2::uuid)
 ORDER BY created_at DESC, id DESC LIMIT $3
"""
CREATE_USER = (
    "INSERT INTO users (username, display_name, password_hash, role) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT (username) DO NOTHING RETURNING id"
)
SET_PASSWORD = (
    "UPDATE users SET password_hash = $2, updated_at = now() WHERE username = $1 RETURNING id"
)
SET_ROLE = "UPDATE users SET role = $2, updated_at = now() WHERE username = $1 RETURNING id"
# Every administrator's row, locked in one order (so two deletions never deadlock): a
# concurrent deletion or demotion of an administrator waits, and is then seen.
LOCK_ADMINS = "SELECT id FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE"
LOCK_USER = "SELECT role FROM users WHERE id = $1 FOR UPDATE"
LOCK_USERNAME = "SELECT id FROM users WHERE username = $1 FOR UPDATE"
# The schema cascades to route requests (and their results), idempotency keys and the
# interest set (and its interests).
DELETE_USER = "DELETE FROM users WHERE id = $1"


def summary(row: asyncpg.Record) -> UserSummary:
    return UserSummary(
        str(row["id"]), row["username"], row["display_name"], Role(row["role"]), row["created_at"]
    )


def user_key(user: UserSummary) -> Key:
    return time_id_key(user.created_at, user.id)


class PostgresUsers:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def credentials(self, username: str) -> StoredCredentials | None:
        row = await guarded(
            lambda: self.pool.fetchrow(
                "SELECT id, role, password_hash FROM users WHERE username = $1", username
            )
        )
        if row is None:
            return None
        return StoredCredentials(str(row["id"]), Role(row["role"]), row["password_hash"])

    async def profile(self, user_id: str) -> UserProfile | None:
        row = await guarded(lambda: self.pool.fetchrow(PROFILE, uuid.UUID(user_id)))
        if row is None:
            return None
        return UserProfile(summary(row), tuple(row["themes"]), int(row["revision"]))

    async def page(self, params: PageParams) -> Window[UserSummary]:
        at = time_id_position(params)
        size = params.limit + 1
        if at is None:
            rows = await guarded(lambda: self.pool.fetch(PAGE_FIRST, size))
        else:
            backwards = params.direction is Direction.PREV
            query = PAGE_BACKWARD if backwards else PAGE_FORWARD
            rows = await guarded(lambda: self.pool.fetch(query, *at, size))
        return assemble([summary(row) for row in rows], params, user_key)

    async def user_id(self, username: str) -> str | None:
        found = await guarded(
            lambda: self.pool.fetchval("SELECT id FROM users WHERE username = $1", username)
        )
        return None if found is None else str(found)

    async def create(
        self, username: str, display_name: str, password_hash: str, role: Role
    ) -> str | None:
        created = await guarded(
            lambda: self.pool.fetchval(
                CREATE_USER, username, display_name, password_hash, role.value
            )
        )
        return None if created is None else str(created)

    async def set_password(self, username: str, password_hash: str) -> str | None:
        return await self._update(SET_PASSWORD, username, password_hash)

    async def set_role(self, username: str, role: Role, keep_an_admin: bool = True) -> str | None:
        if role is Role.ADMIN or not keep_an_admin:
            return await self._update(SET_ROLE, username, role.value)
        # The admins are locked in one order, as a deletion locks them, so a demotion and a
        # deletion (or two demotions) at once cannot both see another admin left.
        with translated():
            async with self.pool.acquire() as conn, conn.transaction():
                admins = [row["id"] for row in await conn.fetch(LOCK_ADMINS)]
                user_id = await conn.fetchval(LOCK_USERNAME, username)
                if user_id is None:
                    return None
                if admins == [user_id]:
                    raise LastAdmin(
                        "the last administrator cannot lose the admin role; make another "
                        "user an administrator first"
                    )
                return str(await conn.fetchval(SET_ROLE, username, role.value))

    async def delete(self, user_id: str) -> bool:
        uid = uuid.UUID(user_id)
        with translated():
            async with self.pool.acquire() as conn, conn.transaction():
                admins = [row["id"] for row in await conn.fetch(LOCK_ADMINS)]
                role = await conn.fetchval(LOCK_USER, uid)
                if role is None:
                    return False
                if role == Role.ADMIN.value and not [a for a in admins if a != uid]:
                    raise LastAdmin(
                        "the last administrator cannot delete their account; make another "
                        "user an administrator first"
                    )
                await conn.execute(DELETE_USER, uid)
                return True

    async def _update(self, query: str, username: str, value: str) -> str | None:
        changed = await guarded(lambda: self.pool.fetchval(query, username, value))
        return None if changed is None else str(changed)


class PostgresInterestSets:
    """Replaces a user's interests in one transaction, guarded by the set's revision."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def replace(self, user_id: str, update: InterestUpdate) -> int:
        uid = uuid.UUID(user_id)
        with translated():
            try:
                async with self.pool.acquire() as conn, conn.transaction():
                    revision = await self._bump(conn, uid, update.expected_revision)
                    await conn.execute("DELETE FROM user_interests WHERE user_id = $1", uid)
                    await conn.executemany(
                        "INSERT INTO user_interests (user_id, theme_id, position) "
                        "VALUES ($1, $2, $3)",
                        [(uid, theme, index) for index, theme in enumerate(update.theme_ids)],
                    )
                    return revision
            except asyncpg.ForeignKeyViolationError:
                raise Unauthorized("the session's user no longer exists") from None

    @staticmethod
    async def _bump(conn: asyncpg.Connection, user_id: uuid.UUID, expected: int | None) -> int:
        """Claim the next revision atomically; a lost race is a Conflict, never a double win."""
        if expected in (None, 0):
            created = await conn.fetchval(
                "INSERT INTO user_interest_sets (user_id) VALUES ($1) "
                "ON CONFLICT (user_id) DO NOTHING RETURNING revision",
                user_id,
            )
            if created is not None:
                return int(created)
        else:
            bumped = await conn.fetchval(
                "UPDATE user_interest_sets SET revision = revision + 1, updated_at = now() "
                "WHERE user_id = $1 AND revision = $2 RETURNING revision",
                user_id,
                expected,
            )
            if bumped is not None:
                return int(bumped)
        actual = await conn.fetchval(
            "SELECT revision FROM user_interest_sets WHERE user_id = $1", user_id
        )
        check_revision(expected, int(actual or 0))
        raise Conflict("the interests changed concurrently; reload and retry")


class PostgresThemeDirectory:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def themes(self) -> list[InterestTheme]:
        rows = await guarded(
            lambda: self.pool.fetch(
                "SELECT id, name, description FROM interest_themes ORDER BY position, id"
            )
        )
        return [InterestTheme(row["id"], row["name"], row["description"]) for row in rows]
