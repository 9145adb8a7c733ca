"""PostgreSQL sections of a user's data export (`ExportSection`), one per kind of data.

The profile and interests come from the users adapter; these add what else is the user's.
Rows past their retention (`expires_at`), which the gateway's maintenance purges, are
left out: the export holds what the service still keeps; saved routes have no expiry.
Each query names the user, so a section never holds another user's rows. A new kind of
user data is a new class here, listed in `postgres_sections`.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from wildside_common.pg import guarded
from wildside_gateway.identity.ports import ExportSection

ROUTE_REQUESTS = """
SELECT r.id, r.status, r.progress, r.error, r.payload, r.created_at, r.updated_at,
       r.expires_at, res.route, res.created_at AS result_created_at
  FROM route_requests r
  LEFT JOIN route_results res ON res.request_id = r.id AND res.expires_at > now()
 WHERE r.user_id = $1 AND r.expires_at > now()
 ORDER BY r.created_at, r.id
"""
IDEMPOTENCY_KEYS = """
SELECT key, request_id, response_status, created_at, expires_at
  FROM idempotency_keys
 WHERE user_id = $1 AND expires_at > now()
 ORDER BY created_at, key
"""
SAVED_ROUTES = """
SELECT id, request_id, name, payload, route, created_at, updated_at
  FROM saved_routes
 WHERE user_id = $1
 ORDER BY created_at, id
"""


class PostgresRouteRequestsExport:
    """`route_requests`: each request (its body as sent), its state and its route."""

    name = "route_requests"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def collect(self, user_id: str) -> list[dict[str, Any]]:
        rows = await guarded(lambda: self.pool.fetch(ROUTE_REQUESTS, uuid.UUID(user_id)))
        return [
            {
                "id": str(row["id"]),
                "status": row["status"],
                "progress": row["progress"],
                "error": row["error"],
                "request": row["payload"],
                "created_at": row["created_at"].isoformat(),
                "updated_at": row["updated_at"].isoformat(),
                "expires_at": row["expires_at"].isoformat(),
                "result": None
                if row["route"] is None
                else {"route": row["route"], "created_at": row["result_created_at"].isoformat()},
            }
            for row in rows
        ]


class PostgresIdempotencyKeysExport:
    """`idempotency_keys`: the Idempotency-Key values the user sent and what they named."""

    name = "idempotency_keys"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def collect(self, user_id: str) -> list[dict[str, Any]]:
        rows = await guarded(lambda: self.pool.fetch(IDEMPOTENCY_KEYS, uuid.UUID(user_id)))
        return [
            {
                "key": str(row["key"]),
                "request_id": str(row["request_id"]),
                "response_status": row["response_status"],
                "created_at": row["created_at"].isoformat(),
                "expires_at": row["expires_at"].isoformat(),
            }
            for row in rows
        ]


class PostgresSavedRoutesExport:
    """`saved_routes`: each saved route with its name, the request it came from and the
    route itself (kept with no expiry)."""

    name = "saved_routes"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def collect(self, user_id: str) -> list[dict[str, Any]]:
        rows = await guarded(lambda: self.pool.fetch(SAVED_ROUTES, uuid.UUID(user_id)))
        return [
            {
                "id": str(row["id"]),
                "request_id": str(row["request_id"]),
                "name": row["name"],
                "request": row["payload"],
                "route": row["route"],
                "created_at": row["created_at"].isoformat(),
                "updated_at": row["updated_at"].isoformat(),
            }
            for row in rows
        ]


def postgres_sections(pool: asyncpg.Pool) -> tuple[ExportSection, ...]:
    """Every export section over PostgreSQL, in the document's order."""
    return (
        PostgresRouteRequestsExport(pool),
        PostgresSavedRoutesExport(pool),
        PostgresIdempotencyKeysExport(pool),
    )
