"""Rows the database tests need before what they test (a user owns every request)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg


async def insert_user(db: asyncpg.Pool | asyncpg.Connection, prefix: str = "test") -> str:
    """A new user with a unique username starting with `prefix`; its id."""
    user_id = await db.fetchval(
        "INSERT INTO users (username, display_name, password_hash) VALUES ($1, 'T', 'x') "
        "RETURNING id",
        f"{prefix}-{uuid.uuid4().hex[:12]}",
    )
    return str(user_id)


async def insert_route_request(
    db: asyncpg.Pool | asyncpg.Connection,
    request_id: str,
    user_id: str,
    payload: dict[str, Any] | None = None,
) -> None:
    """A queued route request, as the gateway records one before it publishes the job
    (the router refuses a job whose request has no row)."""
    await db.execute(
        "INSERT INTO route_requests (id, user_id, payload) VALUES ($1, $2, $3::text::jsonb)",
        uuid.UUID(request_id),
        uuid.UUID(user_id),
        json.dumps(payload or {}),
    )
