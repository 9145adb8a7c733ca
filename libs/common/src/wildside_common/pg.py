"""asyncpg helpers shared by the services' PostgreSQL adapters.

`guarded` (or `translated`, around a block) turns asyncpg's errors into the error tree, so
use cases never catch them:

    lost, refused, ended or overloaded database       -> Unavailable (try later)
      (`errors`)
    SQLSTATE class 22 (DataError) and asyncpg's own   -> InvalidInput: the same values
      refusal of an argument (out of the column's        fail the same way every time
      range, malformed text, a NUL, a surrogate)         (HTTP 400; a worker dead-letters
    class 23 not-null, foreign-key, check, restrict      the message at once)
    class 54 (a value too large for an index row)
    anything else (unique violations included)        -> unchanged

Unique and exclusion violations stay asyncpg's: the adapter that expects one maps it to
`Conflict` (or reads it as a replay); an unexpected one is a bug, not the caller's input.
`create_pool` makes pools that read and write `jsonb` as Python objects (orjson); every
service's pool is one of these (its options say how it differs), and a database it cannot
reach, or that does not exist, is `Unavailable` there too. Its statements are timed, counted
and traced and its connections gauged (`pg_metrics`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import asyncpg
import orjson

from wildside_common import pg_metrics
from wildside_common.errors import InvalidInput, Unavailable

T = TypeVar("T")
DB_ERRORS = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    # The server ended the connection (a restart, `pg_ctl stop -m fast`, a failover,
    # pg_terminate_backend) or crashed.
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    # asyncpg's own, for a pooled connection the server ended while it sat idle, used
    # before asyncpg saw the socket close ("cannot switch to state 12; another operation
    # (2) is in progress"); the pool replaces the connection. Found by the fault suite's
    # PostgreSQL restart (tests/faults/test_postgres_restart.py), where it was a 500.
    asyncpg.InternalClientError,
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
UNKNOWN_REFERENCE = (asyncpg.ForeignKeyViolationError, asyncpg.RestrictViolationError)
BROKEN_RULE = (asyncpg.NotNullViolationError, asyncpg.CheckViolationError)
# Every error the statement's input caused (see the module docstring).
INPUT_ERRORS = (
    asyncpg.DataError,
    *UNKNOWN_REFERENCE,
    *BROKEN_RULE,
    asyncpg.ProgramLimitExceededError,
)


def input_error(exc: BaseException) -> InvalidInput:
    """The `InvalidInput` for one of `INPUT_ERRORS`; the database's own text (SQL,
    constraint names) stays out of it and travels only as the `__cause__`."""
    if isinstance(exc, UNSTORABLE_TEXT):
        message, reason = "the input contains characters that cannot be stored", "text"
    elif isinstance(exc, UNKNOWN_REFERENCE):
        message, reason = "the input refers to a record that does not exist", "reference"
    elif isinstance(exc, BROKEN_RULE):
        message, reason = "the input breaks a rule of the stored data", "constraint"
    elif isinstance(exc, asyncpg.ProgramLimitExceededError):
        message, reason = "a value in the input is too large to store", "size"
    else:
        message, reason = "a value in the input is malformed or out of range", "value"
    return InvalidInput(message, {"reason": reason})


@contextmanager
def translated(
    errors: tuple[type[BaseException], ...] = DB_ERRORS, retry_after: float = 5.0
) -> Iterator[None]:
    """Around a block of statements: `errors` become Unavailable (try again in
    `retry_after` seconds), `INPUT_ERRORS` InvalidInput; anything else passes."""
    try:
        yield
    except errors as exc:
        raise Unavailable("the database is unavailable", retry_after) from exc
    except INPUT_ERRORS as exc:
        raise input_error(exc) from exc


async def guarded(
    call: Callable[[], Awaitable[T]],
    errors: tuple[type[BaseException], ...] = DB_ERRORS,
    retry_after: float = 5.0,
) -> T:
    """Runs `call` with its errors `translated`."""
    with translated(errors, retry_after):
        return await call()


async def _init(conn: asyncpg.Connection) -> None:
    conn.add_query_logger(pg_metrics.observe_query)
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
    name: str = "main",
) -> asyncpg.Pool:
    """A pool with the jsonb codec; `stateless` skips the per-release reset query.

    Every statement is timed and traced, and the pool's connections are gauged, under
    `name` (`wildside_common.pg_metrics`).

    `command_timeout`: seconds a statement may take (a worker writing a large batch
    allows more than a request handler).

    `custom_plans` plans every execution of a prepared statement with its parameters and
    the table's current size. asyncpg prepares (and PostgreSQL caches) each statement;
    after five executions PostgreSQL may keep a generic plan made while a table was
    still small or empty, and keep it: a key lookup planned as a sequential scan on an
    empty `idempotency_keys` went on scanning it whole once it held 50,000 rows (7,412
    scans of 134 M rows in a ten-second benchmark).
    """
    settings = {"plan_cache_mode": "force_custom_plan"} if custom_plans else None
    with translated((*DB_ERRORS, asyncpg.InvalidCatalogNameError)):
        pool = await asyncpg.create_pool(
            url,
            min_size=1,
            max_size=size,
            init=_init,
            command_timeout=command_timeout,
            reset=_rollback_only if stateless else None,
            server_settings=settings,
        )
    assert pool is not None
    pg_metrics.POOLS.track(name, pool)
    return pool
