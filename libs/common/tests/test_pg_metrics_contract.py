"""Query timings, pool gauges and database spans of `pg.create_pool`, against a real
PostgreSQL: statements through the pool move the histogram of their query name, the pool's
gauges follow the acquired connections, and a statement run inside a span is its child."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import REGISTRY

from wildside_common import pg_metrics
from wildside_common.pg import create_pool
from wildside_common.testing.db import insert_user

pytestmark = pytest.mark.contract


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[tuple[str, asyncpg.Pool]]:
    name = f"test-{uuid.uuid4().hex[:8]}"
    created = await create_pool(database_url, 3, name=name)
    yield name, created
    await created.close()


def sample(metric: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(metric, labels) or 0.0


async def settle() -> None:
    # asyncpg reports a statement through loop.call_soon once it has finished
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_statement_through_the_pool_is_timed_under_its_query_name(
    pool: tuple[str, asyncpg.Pool],
) -> None:
    _, db = pool
    name = "select users"
    before = sample("wildside_db_query_duration_seconds_count", query=name)
    total_before = sample("wildside_db_query_duration_seconds_sum", query=name)
    await db.fetchval("SELECT count(*) FROM users WHERE username = $1", "nobody")
    await db.fetch("SELECT id FROM users, pg_sleep(0.05)")
    await settle()
    assert sample("wildside_db_query_duration_seconds_count", query=name) == before + 2
    assert sample("wildside_db_query_duration_seconds_sum", query=name) - total_before >= 0.05


async def test_a_failing_statement_counts_as_an_error_of_its_query(
    pool: tuple[str, asyncpg.Pool],
) -> None:
    _, db = pool
    user = await insert_user(db)
    before = sample("wildside_db_query_errors_total", query="update users")
    ok_before = sample("wildside_db_query_errors_total", query="insert users")
    with pytest.raises(asyncpg.DataError):
        await db.execute("UPDATE users SET display_name = $1::int::text WHERE id = $2", "x", user)
    await settle()
    assert sample("wildside_db_query_errors_total", query="update users") == before + 1
    assert sample("wildside_db_query_errors_total", query="insert users") == ok_before


async def test_pool_gauges_follow_the_acquired_connections(
    pool: tuple[str, asyncpg.Pool],
) -> None:
    name, db = pool
    assert sample("wildside_db_pool_max_connections", pool=name) == 3
    first, second = await db.acquire(), await db.acquire()
    try:
        assert sample("wildside_db_pool_connections", pool=name, state="in_use") == 2
    finally:
        await db.release(first)
    assert sample("wildside_db_pool_connections", pool=name, state="in_use") == 1
    assert sample("wildside_db_pool_connections", pool=name, state="idle") >= 1
    await db.release(second)
    assert sample("wildside_db_pool_connections", pool=name, state="in_use") == 0
    await db.close()
    assert REGISTRY.get_sample_value("wildside_db_pool_max_connections", {"pool": name}) is None


async def test_a_statement_inside_a_span_is_its_child_without_the_sql(
    pool: tuple[str, asyncpg.Pool], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, db = pool
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    monkeypatch.setattr(pg_metrics, "_tracer", tracer)
    await db.fetchval("SELECT count(*) FROM pois")  # outside any span: no span
    await settle()
    with tracer.start_as_current_span("handler") as parent:
        await db.fetchval("SELECT count(*) FROM pois WHERE name = $1", "secret place")
        with pytest.raises(asyncpg.DivisionByZeroError):
            await db.fetchval("SELECT 1 / $1::int FROM (SELECT count(*) FROM route_requests) c", 0)
        await settle()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    # (asyncpg's own type introspection, on a first use of a type, is a plain `select`)
    assert set(spans) - {"select"} == {"handler", "select pois", "select route_requests"}
    assert all(
        span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
        for span in exporter.get_finished_spans()
        if span.name != "handler"
    )  # the statement outside the handler made none
    child = spans["select pois"]
    assert child.kind is SpanKind.CLIENT
    assert child.parent is not None and child.parent.span_id == parent.get_span_context().span_id
    assert child.context.trace_id == parent.get_span_context().trace_id
    assert dict(child.attributes or {}) == {
        "db.system": "postgresql",
        "db.operation": "select",
        "db.sql.table": "pois",
    }
    assert child.start_time is not None and child.end_time is not None
    assert child.start_time < child.end_time
    failed = spans["select route_requests"]
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "DivisionByZeroError"


async def test_a_statement_of_a_trace_that_is_not_sampled_makes_no_span(
    pool: tuple[str, asyncpg.Pool], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, db = pool
    exporter = InMemorySpanExporter()
    # A statement tracer that would record anything it is asked to (not parent-based):
    # it is not asked, since the request's trace is not sampled.
    recording = TracerProvider(sampler=ALWAYS_ON)
    recording.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(pg_metrics, "_tracer", recording.get_tracer("test"))
    before = sample("wildside_db_query_duration_seconds_count", query="select pois")
    unsampled = TracerProvider(sampler=ALWAYS_OFF).get_tracer("test")
    with unsampled.start_as_current_span("handler") as parent:
        assert parent.get_span_context().is_valid and not parent.is_recording()
        await db.fetchval("SELECT count(*) FROM pois")
        await settle()
    assert exporter.get_finished_spans() == ()
    # The statement is still timed: sampling drops spans, never metrics.
    assert sample("wildside_db_query_duration_seconds_count", query="select pois") == before + 1
