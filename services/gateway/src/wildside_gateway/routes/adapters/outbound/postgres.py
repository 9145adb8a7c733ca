"""PostgreSQL adapters (asyncpg): route requests, themes, users.

asyncpg errors are translated here (`wildside_common.pg`): a lost or refused connection is
`Unavailable`, a value the database refuses is `InvalidInput`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson

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
from wildside_gateway.routes.domain.routes import Cancellation, RequestSummary, RouteState
from wildside_gateway.routes.ports import NewRouteRequest
from wildside_gateway.shared.domain.walks import WalkSummary

# One statement records a batch: it claims each key (a new key, or one whose window
# has passed) and records the request (and, for a cache hit, its route). A request whose
# key is still held by another request records nothing and is missing from the ids
# returned. A concurrent claim of the same key waits on the unique index until the
# first transaction ends, then finds the key taken. Rows are claimed in (user, key)
# order, so two batches never wait on each other's keys in a cycle.
RECORD = """
WITH given AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::uuid[],
                         $6::text[], $7::int[], $8::text[], $9::float8[], $10::text[],
                         $11::int[], $12::text[], $13::int[])
        AS t(id, user_id, payload, cache_key, key, fingerprint, status_code, body, ttl,
             status, progress, route, ord)
), input AS (
    -- A request whose user has no account (deleted since its session was issued) is left
    -- out: its foreign key would fail the whole batch, everyone else's requests with it.
    SELECT * FROM given g WHERE EXISTS (SELECT 1 FROM users u WHERE u.id = g.user_id)
), claim AS (
    INSERT INTO idempotency_keys (user_id, key, payload_sha256, request_id, response_status,
                                  response_body, expires_at)
    SELECT user_id, key, fingerprint, id, status_code, body::jsonb,
           now() + make_interval(secs => ttl)
    FROM input WHERE key IS NOT NULL ORDER BY ord
    ON CONFLICT (user_id, key) DO UPDATE SET payload_sha256 = EXCLUDED.payload_sha256,
        request_id = EXCLUDED.request_id, response_status = EXCLUDED.response_status,
        response_body = EXCLUDED.response_body, created_at = now(),
        expires_at = EXCLUDED.expires_at
    WHERE idempotency_keys.expires_at <= now()
    RETURNING request_id
), request AS (
    INSERT INTO route_requests (id, user_id, payload, cache_key, status, progress)
    SELECT id, user_id, payload::jsonb, cache_key, status, progress FROM input
    WHERE key IS NULL OR id IN (SELECT request_id FROM claim)
    RETURNING id, expires_at
), result AS (
    INSERT INTO route_results (request_id, route, expires_at)
    SELECT r.id, i.route::jsonb, r.expires_at FROM request r JOIN input i ON i.id = r.id
    WHERE i.route IS NOT NULL
    RETURNING 1
)
SELECT id, false AS unknown_user FROM request
UNION ALL
SELECT id, true FROM given g WHERE NOT EXISTS (SELECT 1 FROM input i WHERE i.id = g.id)
"""
DISCARD = """
WITH keys AS (DELETE FROM idempotency_keys WHERE request_id = ANY($1::uuid[]))
DELETE FROM route_requests WHERE id = ANY($1::uuid[])
"""
# Cancel: the row is locked and read (its newest version), then moved only while it is
# still open. A racing final write of the router waits on the lock, then finds it
# `cancelled` and moves nothing; if the router went first, this finds it final. Either
# way exactly one final status is stored. `previous` is NULL when nothing moved.
CANCEL = """
WITH old AS (
    SELECT id, user_id, status FROM route_requests
    WHERE id = $1 AND expires_at > now() FOR UPDATE
), moved AS (
    UPDATE route_requests r SET status = 'cancelled', updated_at = now()
    FROM old WHERE r.id = old.id AND old.user_id = $2 AND r.status IN ('queued', 'running')
    RETURNING old.status AS previous
)
SELECT old.user_id, old.status, (SELECT previous FROM moved) AS previous FROM old
"""
STORED = """
SELECT k.user_id, k.key, k.payload_sha256, k.request_id, k.response_status,
       k.response_body, k.created_at
FROM idempotency_keys k
JOIN unnest($1::uuid[], $2::uuid[]) AS q(user_id, key) USING (user_id, key)
WHERE k.expires_at > now()
"""

# GET /api/v1/routes: the user's unexpired requests, newest first; "next" walks to older
# rows, "prev" back to newer ones (index route_requests_user_created_idx, 0007).
SUMMARY = """
SELECT r.id, r.status, r.progress, r.created_at, r.payload,
       (s.route->>'distance_m')::float8 AS distance_m,
       jsonb_array_length(s.route->'points') - 2 AS stops
FROM route_requests r LEFT JOIN route_results s ON s.request_id = r.id
WHERE r.user_id = $1 AND r.expires_at > now()
"""
OLDER = f"""{SUMMARY}
  AND ($2::timestamptz IS NULL OR (r.created_at, r.id) < ($2::timestamptz, $3::uuid))
ORDER BY r.created_at DESC, r.id DESC LIMIT $4
"""
NEWER = f"""{SUMMARY}
  AND (r.created_at, r.id) > ($2::timestamptz, $3::uuid)
ORDER BY r.created_at, r.id LIMIT $4
"""


def request_summary(row: asyncpg.Record) -> RequestSummary:
    payload = row["payload"]
    stops = row["stops"]
    return RequestSummary(
        str(row["id"]),
        RouteStatus(row["status"]),
        int(row["progress"]),
        row["created_at"],
        WalkSummary.of(payload, row["distance_m"], None if stops is None else int(stops)),
    )


def request_key(item: RequestSummary) -> Key:
    return time_id_key(item.created_at, item.request_id)


def _json(value: Mapping[str, Any] | None) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def record_arguments(batch: Sequence[NewRouteRequest]) -> list[list[Any]]:
    """The batch as column arrays, in (user, key) order; a key repeated within the batch
    is claimed by its first request only (the others are left unrecorded)."""
    ordered = sorted(batch, key=lambda new: (new.user_id, new.claim.key if new.claim else ""))
    seen: set[tuple[str, str]] = set()
    columns: list[list[Any]] = [[] for _ in range(13)]
    for new in ordered:
        claim, done = new.claim, new.cached_route is not None
        if claim is not None:
            if (new.user_id, claim.key) in seen:
                continue
            seen.add((new.user_id, claim.key))
        row = (
            new.request_id,
            new.user_id,
            _json(new.payload),
            new.cache_key,
            claim.key if claim else None,
            claim.fingerprint if claim else None,
            claim.status_code if claim else None,
            _json(claim.body) if claim else None,
            claim.ttl.total_seconds() if claim else None,
            "succeeded" if done else "queued",
            100 if done else 0,
            None if new.cached_route is None else _json(route_to_json(new.cached_route)),
            len(columns[0]),
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def _stored_route(value: Any) -> Route:
    """The stored route; one that is not a route is the store's fault (500), not the caller's."""
    try:
        return route_from_json(value)
    except InvalidInput as exc:
        raise DomainError(f"stored route is malformed: {exc.message}") from exc


class PostgresRecording:
    def __init__(
        self, conn: asyncpg.Connection, recorded: frozenset[str], unknown_user: frozenset[str]
    ) -> None:
        self.conn = conn
        self._recorded = recorded
        self.unknown_user = unknown_user

    @property
    def recorded(self) -> frozenset[str]:
        return self._recorded

    async def discard(self, request_ids: Collection[str]) -> None:
        await self.conn.execute(DISCARD, list(request_ids))
        self._recorded = self._recorded - frozenset(request_ids)


class PostgresRouteRequests:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    @asynccontextmanager
    async def recording(self, batch: Sequence[NewRouteRequest]) -> AsyncIterator[PostgresRecording]:
        with translated():
            conn = await self.pool.acquire()
        try:
            with translated():
                async with conn.transaction():
                    rows = await conn.fetch(RECORD, *record_arguments(batch))
                    yield PostgresRecording(
                        conn,
                        frozenset(str(row["id"]) for row in rows if not row["unknown_user"]),
                        frozenset(str(row["id"]) for row in rows if row["unknown_user"]),
                    )
        finally:
            await self.pool.release(conn)

    async def get(self, request_id: str) -> RouteState | None:
        row = await guarded(
            lambda: self.pool.fetchrow(
                "SELECT r.id, r.user_id, r.status, r.progress, r.error, s.route, "
                "r.payload->>'rerouted_from' AS rerouted_from "
                "FROM route_requests r LEFT JOIN route_results s ON s.request_id = r.id "
                "WHERE r.id = $1 AND r.expires_at > now()",
                request_id,
            )
        )
        if row is None:
            return None
        return RouteState(
            str(row["id"]),
            str(row["user_id"]),
            RouteStatus(row["status"]),
            int(row["progress"]),
            row["error"],
            None if row["route"] is None else _stored_route(row["route"]),
            row["rerouted_from"],
        )

    async def page(self, user_id: str, params: PageParams) -> Window[RequestSummary]:
        stamp, last_id = time_id_position(params) or (None, None)
        query = NEWER if params.direction is Direction.PREV and stamp is not None else OLDER
        arguments = (user_id, stamp, last_id, params.limit + 1)
        rows = await guarded(lambda: self.pool.fetch(query, *arguments))
        return assemble([request_summary(row) for row in rows], params, request_key)

    async def stored_responses(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredResponse]:
        if not keys:
            return {}
        users, names = [user for user, _ in keys], [key for _, key in keys]
        rows = await guarded(lambda: self.pool.fetch(STORED, users, names))
        return {
            (str(row["user_id"]), str(row["key"])): StoredResponse(
                row["payload_sha256"],
                str(row["request_id"]),
                int(row["response_status"]),
                dict(row["response_body"]),
                row["created_at"],
            )
            for row in rows
        }

    async def cancel(self, request_id: str, user_id: str) -> Cancellation:
        row = await guarded(lambda: self.pool.fetchrow(CANCEL, request_id, user_id))
        if row is None or str(row["user_id"]) != user_id:
            return Cancellation(found=False)
        if row["previous"] is None:
            return Cancellation(True, RouteStatus(row["status"]))
        return Cancellation(True, RouteStatus.CANCELLED, RouteStatus(row["previous"]))


class PostgresMaintenance:
    """Scheduled clean-up of expired rows; one replica at a time (advisory lock)."""

    LOCK_ID = 7_310_001

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def purge_expired(self) -> dict[str, int]:
        async with self.pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self.LOCK_ID):
                return {}
            try:
                keys = await conn.execute("DELETE FROM idempotency_keys WHERE expires_at <= now()")
                routes = await conn.execute("DELETE FROM route_requests WHERE expires_at <= now()")
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", self.LOCK_ID)
        return {
            "idempotency_keys": int(keys.split()[-1]),
            "route_requests": int(routes.split()[-1]),
        }


class PostgresThemeCatalogue:
    """Theme ids from `interest_themes`, cached for a minute."""

    def __init__(self, pool: asyncpg.Pool, ttl: float = 60.0) -> None:
        self.pool = pool
        self.ttl = ttl
        self._cached: tuple[float, frozenset[str]] | None = None

    async def theme_ids(self) -> frozenset[str]:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < self.ttl:
            return self._cached[1]
        rows = await guarded(lambda: self.pool.fetch("SELECT id FROM interest_themes"))
        ids = frozenset(str(row["id"]) for row in rows)
        self._cached = (now, ids)
        return ids


async def ping(pool: asyncpg.Pool) -> None:
    await pool.fetchval("SELECT 1")
