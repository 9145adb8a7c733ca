"""Query timings, pool gauges and database spans for every pool `pg.create_pool` makes.

wildside_db_query_duration_seconds{query}        time of each statement, by query name
wildside_db_query_errors_total{query}            statements that raised
wildside_db_pool_connections{pool, state}        open connections, `in_use` or `idle`
wildside_db_pool_max_connections{pool}           the pool's ceiling

A query's name is its operation and the schema object it works on (`select pois`,
`insert route_requests`, `select get_route_tile`): the object is one the migrations create
(tables and functions), so the set of names is small and fixed by the schema; anything
else is `<operation>` alone, and an unknown statement `other`. A `WITH` statement is named
by its first write (`insert idempotency_keys` for the gateway's one statement that records
a request and its idempotency key), or is a `select`. SQL text never becomes a
label or a span attribute (it may carry inlined values).

Each statement also becomes a CLIENT span `<query name>` (attributes `db.system`,
`db.operation`, `db.sql.table`) under the span that was current when it ran, when there
is one and it is recorded (a trace that is not sampled gets no statement spans): the
same spans OpenTelemetry's asyncpg instrumentation makes, without the SQL.
asyncpg's query logger reports a statement once it has finished (timing it itself), so
the span is recorded afterwards with the statement's own start and end times.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterable
from importlib import resources

import asyncpg
from asyncpg.connection import LoggedQuery
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

QUERY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10)
QUERY_DURATION = Histogram(
    "wildside_db_query_duration_seconds",
    "Time of one database statement, by query name",
    ["query"],
    buckets=QUERY_BUCKETS,
)
QUERY_ERRORS = Counter(
    "wildside_db_query_errors_total", "Database statements that raised, by query name", ["query"]
)

OPERATIONS = frozenset(
    [
        "select",
        "insert",
        "update",
        "delete",
        "copy",
        "begin",
        "commit",
        "rollback",
        "savepoint",
        "release",
        "set",
        "reset",
        "show",
        "create",
        "drop",
        "alter",
        "truncate",
        "analyze",
        "vacuum",
        "lock",
        "listen",
        "notify",
        "call",
        "do",
    ]
)
_WORD = re.compile(r"\s*(?:--[^\n]*\n\s*)*(\w+)")
_WRITE = re.compile(
    r"\b(insert\s+into|update|delete\s+from)\s+(?:only\s+)?(?:public\.)?\"?(\w+)", re.I
)
_TARGET = re.compile(
    r"\b(?:from|into|update|join|copy|table)\s+(?:only\s+)?(?:public\.)?\"?(\w+)", re.I
)
_CALLED = re.compile(r"(\w+)\"?\s*\(")
_CREATED = re.compile(
    r"\bcreate\s+(?:or\s+replace\s+)?(?:unlogged\s+)?(?:table|function|view|materialized\s+view)"
    r"\s+(?:if\s+not\s+exists\s+)?(?:public\.)?(\w+)",
    re.I,
)
_tracer = trace.get_tracer(__name__)


@functools.cache
def schema_objects() -> frozenset[str]:
    """The tables, views and functions the migrations create (lowercase)."""
    migrations = resources.files("wildside_common.db") / "migrations"
    names: set[str] = set()
    for entry in migrations.iterdir():
        if entry.name.endswith(".sql") and not entry.name.endswith(".rollback.sql"):
            names.update(name.lower() for name in _CREATED.findall(entry.read_text()))
    return frozenset(names)


@functools.lru_cache(maxsize=1024)
def query_name(sql: str) -> tuple[str, str | None]:
    """(name, object) of a statement: `("select pois", "pois")`, `("commit", None)`."""
    match = _WORD.match(sql)
    operation = match.group(1).lower() if match else "other"
    known = schema_objects()
    if operation in ("with", "insert", "update", "delete"):
        for write in _WRITE.finditer(sql):
            verb, table = write.group(1).split()[0].lower(), write.group(2).lower()
            if table in known and (operation == "with" or verb == operation):
                return f"{verb} {table}", table
        if operation != "with":
            return operation, None  # a write to a table of no migration (a temporary one)
        operation = "select"
    if operation not in OPERATIONS:
        return "other", None
    candidates = [*_TARGET.findall(sql), *_CALLED.findall(sql)]
    target = next((name.lower() for name in candidates if name.lower() in known), None)
    return (f"{operation} {target}" if target else operation), target


def observe_query(record: LoggedQuery) -> None:
    """asyncpg query logger: the histogram, the error counter and the span."""
    end = time.time_ns()
    name, target = query_name(record.query)
    QUERY_DURATION.labels(name).observe(record.elapsed)
    if record.exception is not None:
        QUERY_ERRORS.labels(name).inc()
    if not trace.get_current_span().is_recording():
        # No trace to join (a background loop: no root span per statement), or one that
        # is not sampled (`telemetry.sampler_for`): its children would not be either.
        return
    attributes = {"db.system": "postgresql", "db.operation": name.split()[0]}
    if target:
        attributes["db.sql.table"] = target
    span = _tracer.start_span(
        name,
        kind=SpanKind.CLIENT,
        start_time=end - int(record.elapsed * 1e9),
        attributes=attributes,
    )
    if record.exception is not None:
        span.set_status(Status(StatusCode.ERROR, type(record.exception).__name__))
    span.end(end_time=end)


class PoolCollector(Collector):
    """Connections of every open pool, summed per pool name, read at scrape time.

    asyncpg's pools take no weak references: a closed pool is dropped at the next
    `track` or scrape."""

    def __init__(self) -> None:
        self._pools: list[tuple[str, asyncpg.Pool]] = []

    def track(self, name: str, pool: asyncpg.Pool) -> None:
        self._pools = [*self._open(), (name, pool)]

    def _open(self) -> list[tuple[str, asyncpg.Pool]]:
        return [(name, pool) for name, pool in self._pools if not pool.is_closing()]

    def collect(self) -> Iterable[Metric]:
        connections = GaugeMetricFamily(
            "wildside_db_pool_connections",
            "Open database connections by state (in_use, idle)",
            labels=["pool", "state"],
        )
        ceiling = GaugeMetricFamily(
            "wildside_db_pool_max_connections", "Most connections the pool opens", labels=["pool"]
        )
        totals: dict[str, list[int]] = {}
        self._pools = self._open()
        for name, pool in self._pools:
            size, idle = pool.get_size(), pool.get_idle_size()
            total = totals.setdefault(name, [0, 0, 0])
            total[0] += size - idle
            total[1] += idle
            total[2] += pool.get_max_size()
        for name, (in_use, idle, most) in sorted(totals.items()):
            connections.add_metric([name, "in_use"], in_use)
            connections.add_metric([name, "idle"], idle)
            ceiling.add_metric([name], most)
        yield connections
        yield ceiling


POOLS = PoolCollector()
REGISTRY.register(POOLS)
