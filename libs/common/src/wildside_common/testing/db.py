"""Rows the database tests need before what they test (a user owns every request)."""

from __future__ import annotations

import uuid

import asyncpg


async def insert_user(db: asyncpg.Pool | asyncpg.Connection, prefix: str = "test") -> str:
    """A new user with a unique username starting with `prefix`; its id."""
    user_id = await db.fetchval(
        "INSERT INTO users (username, display_name, password_hash) VALUES ($1, 'T', 'x') "
        "RETURNING id",
        f"{prefix}-{uuid.uuid4().hex[:12]}",
    )
    return str(user_id)
