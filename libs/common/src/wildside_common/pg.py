"""asyncpg helpers shared by the services' PostgreSQL adapters.

`guarded` translates a lost or refused database into `Unavailable` (the error tree's
"try later"), so use cases never catch asyncpg's errors. `create_pool` makes pools that
read and write `jsonb` as Python objects (orjson).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
import orjson

from wildside_common.errors import InvalidInput, Unavailable

T = TypeVar("T")
DB_ERRORS = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    OSError,
)
# Also worth a retry for a worker, whose message is redelivered: the statement lost a
# deadlock or serialization race, waited too long for a lock, or timed out.
TRANSIENT_DB_ERRORS = (
    *DB_ERRORS,
    asyncpg.DeadlockDetectedError,
    asyncpg.SerializationError,
    asyncpg.LockNotAvailableError,
    TimeoutError,
)


# Text PostgreSQL cannot hold (a NUL character): the caller's input, not our failure.
UNSTORABLE_TEXT = (asyncpg.CharacterNotInRepertoireError, asyncpg.UntranslatableCharacterError)


async def guarded(
    call: Callable[[], Awaitable[T]],
    errors: tuple[type[BaseException], ...] = DB_ERRORS,
    retry_after: float = 5.0,
) -> T:
    """Runs `call`; `errors` become Unavailable (try again in `retry_after` seconds)."""
    try:
        return await call()
    except errors as exc:
        raise Unavailable("the database is unavailable", retry_after) from exc
    except UNSTORABLE_TEXT as exc:
        raise InvalidInput("the input contains characters that cannot be stored") from exc


async def _json_codec(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


async def _rollback_only(conn: asyncpg.Connection) -> None:
    # For services that keep no session state (no SET, LISTEN, temp tables): asyncpg's
    # default reset costs a round trip on every release; only an interrupted
    # transaction needs undoing.
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def create_pool(
    url: str,
    size: int,
    *,
    stateless: bool = False,
    command_timeout: float = 10,
    custom_plans: bool = False,
) -> asyncpg.Pool:
    """A pool with the jsonb codec; `stateless` skips the per-release reset query.

    `custom_plans` plans every execution of a prepared statement with its parameters and
    the table's current size. asyncpg prepares (and PostgreSQL caches) each statement;
    after five executions PostgreSQL may keep a generic plan made while a table was
    still small or empty, and keep it: a key lookup planned as a sequential scan on an
    empty `idempotency_keys` went on scanning it whole once it held 50,000 rows (7,412
    scans of 134 M rows in a ten-second benchmark).
    """
    settings = {"plan_cache_mode": "force_custom_plan"} if custom_plans else None
    pool = await asyncpg.create_pool(
        url,
        min_size=1,
        max_size=size,
        init=_json_codec,
        command_timeout=command_timeout,
        reset=_rollback_only if stateless else None,
        server_settings=settings,
    )
    assert pool is not None
    return pool
