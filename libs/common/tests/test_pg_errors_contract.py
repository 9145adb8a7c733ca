"""`wildside_common.pg.guarded` against a real PostgreSQL: every error the input caused
is InvalidInput, a lost or locked database Unavailable, anything else left alone."""

from __future__ import annotations

import socket
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from wildside_common.errors import InvalidInput, Unavailable
from wildside_common.pg import TRANSIENT_DB_ERRORS, create_pool, guarded, translated

pytestmark = pytest.mark.contract


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(database_url, 3)
    yield created
    await created.close()


@pytest.fixture
async def tables(pool: asyncpg.Pool) -> AsyncIterator[tuple[str, str]]:
    """A parent and a child table with every kind of constraint, unique to this test."""
    parent, child = f"p_{uuid.uuid4().hex[:10]}", f"c_{uuid.uuid4().hex[:10]}"
    await pool.execute(
        f"CREATE TABLE {parent} (id integer PRIMARY KEY);"
        f"CREATE TABLE {child} (id integer PRIMARY KEY, parent integer REFERENCES {parent},"
        " code varchar(3) NOT NULL, n smallint CHECK (n >= 0))"
    )
    await pool.execute(f"INSERT INTO {parent} VALUES (1)")
    yield parent, child
    await pool.execute(f"DROP TABLE {child}; DROP TABLE {parent}")


ARGUMENTS: dict[str, tuple[str, Any]] = {
    # asyncpg refuses these itself, before sending (client-side DataError)
    "int beyond int4": ("SELECT $1::int", 2**40),
    "int beyond int8": ("SELECT $1::bigint", 2**63),
    "timestamp of year 0 in UTC": (
        "SELECT $1::timestamptz",
        datetime.fromisoformat("0001-01-01T00:00+14:00"),
    ),
    "uuid in braces": ("SELECT $1::uuid", "{0b7e4d1c-3f6a-4c1e-9a52-6d2f0e8b9c11}"),
    "urn uuid": ("SELECT $1::uuid", "urn:uuid:0b7e4d1c-3f6a-4c1e-9a52-6d2f0e8b9c11"),
    "lone surrogate": ("SELECT $1::text", "a\ud800b"),
    "text for an int": ("SELECT $1::int", "12"),
    # the server refuses these (SQLSTATE class 22)
    "numeric value out of range": ("SELECT ($1::text)::int", "99999999999"),
    "invalid text representation": ("SELECT ($1::text)::int", "twelve"),
    "datetime field overflow": ("SELECT ($1::text)::timestamptz", "2026-13-45T99:00Z"),
    "division by zero": ("SELECT 1 / $1::int", 0),
}


@pytest.mark.parametrize(("sql", "value"), ARGUMENTS.values(), ids=ARGUMENTS.keys())
async def test_a_value_the_database_refuses_is_invalid_input(
    pool: asyncpg.Pool, sql: str, value: Any
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await guarded(lambda: pool.fetchval(sql, value))
    assert caught.value.details == {"reason": "value"}
    assert isinstance(caught.value.__cause__, asyncpg.DataError)
    assert "$1" not in caught.value.message and "SELECT" not in caught.value.message


async def test_text_postgres_cannot_hold_says_so(pool: asyncpg.Pool) -> None:
    with pytest.raises(InvalidInput) as caught:
        await guarded(lambda: pool.fetchval("SELECT $1::text", "nul\u0000"))
    assert caught.value.details == {"reason": "text"}


ROWS: dict[str, tuple[tuple[Any, ...], str, type[Exception]]] = {
    "foreign key": ((1, 999, "abc", 1), "reference", asyncpg.ForeignKeyViolationError),
    "not null": ((1, 1, None, 1), "constraint", asyncpg.NotNullViolationError),
    "check": ((1, 1, "abc", -1), "constraint", asyncpg.CheckViolationError),
    "string too long": ((1, 1, "abcd", 1), "value", asyncpg.StringDataRightTruncationError),
    "smallint out of range": ((1, 1, "abc", 40_000), "value", asyncpg.DataError),
}


@pytest.mark.parametrize(("row", "reason", "cause"), ROWS.values(), ids=ROWS.keys())
async def test_a_row_that_breaks_a_constraint_is_invalid_input(
    pool: asyncpg.Pool,
    tables: tuple[str, str],
    row: tuple[Any, ...],
    reason: str,
    cause: type[Exception],
) -> None:
    _, child = tables
    with pytest.raises(InvalidInput) as caught:
        await guarded(lambda: pool.execute(f"INSERT INTO {child} VALUES ($1, $2, $3, $4)", *row))
    assert caught.value.details == {"reason": reason}
    assert isinstance(caught.value.__cause__, cause)
    assert child not in caught.value.message  # no table or constraint names leave


async def test_a_foreign_key_violation_in_a_transaction_is_invalid_input_and_rolls_back(
    pool: asyncpg.Pool, tables: tuple[str, str]
) -> None:
    _, child = tables
    insert = f"INSERT INTO {child} VALUES ($1, $2, 'abc', 1)"
    with pytest.raises(InvalidInput) as caught, translated():
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(insert, 1, 1)
            await conn.execute(insert, 2, 999)
    assert caught.value.details == {"reason": "reference"}
    assert await pool.fetchval(f"SELECT count(*) FROM {child}") == 0


async def test_a_unique_violation_is_left_to_the_adapter(
    pool: asyncpg.Pool, tables: tuple[str, str]
) -> None:
    parent, _ = tables
    with pytest.raises(asyncpg.UniqueViolationError):
        await guarded(lambda: pool.execute(f"INSERT INTO {parent} VALUES (1)"))


async def test_a_closed_connection_is_unavailable(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    await conn.close()
    with pytest.raises(Unavailable) as caught:
        await guarded(lambda: conn.fetchval("SELECT 1"), retry_after=2.0)
    assert caught.value.retry_after == 2.0


async def test_a_pooled_connection_the_server_ended_is_unavailable_then_replaced(
    database_url: str,
) -> None:
    # What a PostgreSQL restart (`pg_ctl stop -m fast`) or failover does to every idle
    # connection of a pool: the server ends it (FATAL 57P01, as pg_terminate_backend
    # does). Used at once, before asyncpg has seen the socket close, asyncpg raises its
    # InternalClientError ("cannot switch to state 12; another operation (2) is in
    # progress"): a 500 at the gateway under the fault suite's PostgreSQL restart.
    # Which error asyncpg raises (that one, or ConnectionDoesNotExistError once it has
    # seen the socket close) is a race; either way nothing but Unavailable comes out.
    pool = await create_pool(database_url, 1)
    admin = await asyncpg.connect(database_url)
    outcomes: list[object] = []
    try:
        for _ in range(20):
            pid = await pool.fetchval("SELECT pg_backend_pid()")
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
            try:  # any other error fails the test
                outcomes.append(await guarded(lambda: pool.fetchval("SELECT 1")))
            except Unavailable as exc:
                outcomes.append(type(exc.__cause__).__name__)
        print(outcomes)
        # The pool drops the ended connection and opens another by itself.
        assert await guarded(lambda: pool.fetchval("SELECT 1")) == 1
        assert await pool.fetchval("SELECT pg_backend_pid()") != pid
    finally:
        await admin.close()
        await pool.close()


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.InternalClientError(
            "cannot switch to state 12; another operation (2) is in progress"
        ),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CrashShutdownError("terminating connection because of crash of another process"),
    ],
)
async def test_a_connection_the_server_ended_is_unavailable(error: Exception) -> None:
    async def fails() -> None:
        raise error

    with pytest.raises(Unavailable) as caught:
        await guarded(fails)
    assert caught.value.__cause__ is error


async def test_a_locked_row_is_unavailable_for_a_worker_and_not_invalid_input(
    pool: asyncpg.Pool, tables: tuple[str, str]
) -> None:
    parent, _ = tables
    nowait = f"SELECT id FROM {parent} WHERE id = 1 FOR UPDATE NOWAIT"
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute(f"SELECT id FROM {parent} WHERE id = 1 FOR UPDATE")
        with pytest.raises(Unavailable):
            await guarded(lambda: pool.fetchval(nowait), TRANSIENT_DB_ERRORS)
        with pytest.raises(asyncpg.LockNotAvailableError):
            await guarded(lambda: pool.fetchval(nowait))


async def test_a_pool_on_a_missing_database_or_a_closed_port_is_unavailable(
    database_url: str,
) -> None:
    # Every service's pool is made here: starting against no database says so in the
    # error tree (the enricher's own pool did before there was one for all).
    missing = database_url.rsplit("/", 1)[0] + f"/missing_{uuid.uuid4().hex[:8]}"
    with socket.socket() as probe:  # a port nothing listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        closed = f"postgresql://postgres@127.0.0.1:{probe.getsockname()[1]}/postgres"
        for url in (missing, closed):
            with pytest.raises(Unavailable):
                await create_pool(url, 1)
