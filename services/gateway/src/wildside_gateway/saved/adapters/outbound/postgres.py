"""PostgreSQL adapter of saved routes (asyncpg); errors translated by `wildside_common.pg`.

A save is one transaction that first takes the user's row lock (`FOR NO KEY UPDATE`: it
does not block inserts referencing the user, only other saves of the same user), so the
cap and an `Idempotency-Key` are checked and written with no other save in between.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from wildside_common.errors import DomainError, InvalidInput
from wildside_common.messages import RouteStatus
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
from wildside_common.route import Route, route_from_json, route_to_json
from wildside_gateway.routes.domain.idempotency import StoredResponse
from wildside_gateway.routes.ports import IdempotencyClaim
from wildside_gateway.saved.domain.saved import (
    NewSavedRoute,
    SavedRoute,
    SavedRouteSummary,
    SourceRequest,
)
from wildside_gateway.shared.domain.walks import WalkSummary

LOCK_USER = "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE"
STORED = """
SELECT payload_sha256, request_id, response_status, response_body, created_at
FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND expires_at > now()
"""
SOURCE = """
SELECT r.id, r.user_id, r.status, r.payload, s.route
FROM route_requests r LEFT JOIN route_results s ON s.request_id = r.id
WHERE r.id = $1 AND r.expires_at > now()
"""
COUNT = "SELECT count(*) FROM saved_routes WHERE user_id = $1"
INSERT = """
INSERT INTO saved_routes (id, user_id, request_id, name, payload, route)
VALUES ($1, $2, $3, $4, $5, $6)
RETURNING created_at, updated_at
"""
# An expired key still in the table (not yet purged) is taken over, as route requests do.
CLAIM = """
INSERT INTO idempotency_keys (user_id, key, payload_sha256, request_id, response_status,
                              response_body, expires_at)
VALUES ($1, $2, $3, $4, $5, $6, now() + make_interval(secs => $7))
ON CONFLICT (user_id, key) DO UPDATE SET payload_sha256 = EXCLUDED.payload_sha256,
    request_id = EXCLUDED.request_id, response_status = EXCLUDED.response_status,
    response_body = EXCLUDED.response_body, created_at = now(),
    expires_at = EXCLUDED.expires_at
WHERE idempotency_keys.expires_at <= now()
"""
SUMMARY_COLUMNS = """
id, name, request_id, created_at, updated_at, payload,
(route->>'distance_m')::float8 AS distance_m,
jsonb_array_length(route->'points') - 2 AS stops
"""
# Newest first: "next" walks to older rows, "prev" back to newer ones.
OLDER = f"""
SELECT {SUMMARY_COLUMNS} FROM saved_routes
WHERE user_id = $1
  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2::timestamptz, $3::uuid))
ORDER BY created_at DESC, id DESC LIMIT $4
"""
NEWER = f"""
SELECT {SUMMARY_COLUMNS} FROM saved_routes
WHERE user_id = $1 AND (created_at, id) > ($2::timestamptz, $3::uuid)
ORDER BY created_at, id LIMIT $4
"""
GET = f"SELECT {SUMMARY_COLUMNS}, route FROM saved_routes WHERE id = $1 AND user_id = $2"
RENAME = f"""
UPDATE saved_routes SET name = $3, updated_at = now()
WHERE id = $1 AND user_id = $2
RETURNING {SUMMARY_COLUMNS}
"""
DELETE = "DELETE FROM saved_routes WHERE id = $1 AND user_id = $2"


def _stored_route(value: object) -> Route:
    """The stored route; one that is not a route is the store's fault (500)."""
    try:
        return route_from_json(value)
    except InvalidInput as exc:
        raise DomainError(f"stored route is malformed: {exc.message}") from exc


def summary(row: asyncpg.Record) -> SavedRouteSummary:
    stops = row["stops"]
    return SavedRouteSummary(
        str(row["id"]),
        row["name"],
        str(row["request_id"]),
        row["created_at"],
        row["updated_at"],
        WalkSummary.of(row["payload"], row["distance_m"], None if stops is None else int(stops)),
    )


def summary_key(item: SavedRouteSummary) -> Key:
    return time_id_key(item.created_at, item.saved_id)


class PostgresSaving:
    def __init__(self, conn: asyncpg.Connection, user_id: uuid.UUID) -> None:
        self.conn = conn
        self.user_id = user_id

    async def stored_response(self, key: str) -> StoredResponse | None:
        row = await self.conn.fetchrow(STORED, self.user_id, uuid.UUID(key))
        if row is None:
            return None
        return StoredResponse(
            row["payload_sha256"],
            str(row["request_id"]),
            int(row["response_status"]),
            dict(row["response_body"]),
            row["created_at"],
        )

    async def source(self, request_id: str) -> SourceRequest | None:
        row = await self.conn.fetchrow(SOURCE, uuid.UUID(request_id))
        if row is None:
            return None
        return SourceRequest(
            str(row["id"]),
            str(row["user_id"]),
            RouteStatus(row["status"]),
            dict(row["payload"]),
            None if row["route"] is None else _stored_route(row["route"]),
        )

    async def count(self) -> int:
        return int(await self.conn.fetchval(COUNT, self.user_id))

    async def insert(self, new: NewSavedRoute) -> SavedRoute:
        row = await self.conn.fetchrow(
            INSERT,
            uuid.UUID(new.saved_id),
            self.user_id,
            uuid.UUID(new.request_id),
            new.name,
            dict(new.payload),
            route_to_json(new.route),
        )
        walk = WalkSummary.with_route(new.payload, new.route)
        return SavedRoute(
            SavedRouteSummary(
                new.saved_id, new.name, new.request_id, row["created_at"], row["updated_at"], walk
            ),
            new.route,
        )

    async def claim(self, saved_id: str, claim: IdempotencyClaim) -> None:
        await self.conn.execute(
            CLAIM,
            self.user_id,
            uuid.UUID(claim.key),
            claim.fingerprint,
            uuid.UUID(saved_id),
            claim.status_code,
            dict(claim.body),
            claim.ttl.total_seconds(),
        )


class PostgresSavedRoutes:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def saving(self, user_id: str) -> AsyncIterator[PostgresSaving]:
        uid = uuid.UUID(user_id)
        with translated():
            conn = await self.pool.acquire()
        try:
            with translated():
                async with conn.transaction():
                    await conn.fetchval(LOCK_USER, uid)
                    yield PostgresSaving(conn, uid)
        finally:
            await self.pool.release(conn)

    async def get(self, user_id: str, saved_id: str) -> SavedRoute | None:
        row = await guarded(
            lambda: self.pool.fetchrow(GET, uuid.UUID(saved_id), uuid.UUID(user_id))
        )
        if row is None:
            return None
        return SavedRoute(summary(row), _stored_route(row["route"]))

    async def page(self, user_id: str, params: PageParams) -> Window[SavedRouteSummary]:
        stamp, last_id = time_id_position(params) or (None, None)
        query = NEWER if params.direction is Direction.PREV and stamp is not None else OLDER
        arguments = (uuid.UUID(user_id), stamp, last_id, params.limit + 1)
        rows = await guarded(lambda: self.pool.fetch(query, *arguments))
        return assemble([summary(row) for row in rows], params, summary_key)

    async def rename(self, user_id: str, saved_id: str, name: str) -> SavedRouteSummary | None:
        row = await guarded(
            lambda: self.pool.fetchrow(RENAME, uuid.UUID(saved_id), uuid.UUID(user_id), name)
        )
        return None if row is None else summary(row)

    async def delete(self, user_id: str, saved_id: str) -> bool:
        done = await guarded(
            lambda: self.pool.execute(DELETE, uuid.UUID(saved_id), uuid.UUID(user_id))
        )
        return int(done.split()[-1]) == 1
