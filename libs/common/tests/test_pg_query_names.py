"""Query names of `wildside_common.pg_metrics`: an operation and an object the migrations
create, from a small fixed set; never the SQL text."""

from __future__ import annotations

import pytest

from wildside_common.pg_metrics import query_name, schema_objects

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM pois WHERE id = $1", "select pois"),
        (
            "\n  insert into route_requests (id) VALUES ($1) ON CONFLICT DO NOTHING",
            "insert route_requests",
        ),
        ("UPDATE public.users SET display_name = $1", "update users"),
        (
            "WITH gone AS (DELETE FROM idempotency_keys RETURNING 1) SELECT count(*) FROM gone",
            "delete idempotency_keys",
        ),
        ("WITH r AS (SELECT 1) SELECT * FROM r JOIN saved_routes s ON true", "select saved_routes"),
        ('SELECT "get_poi_tile"($1, $2, $3)', "select get_poi_tile"),
        ("-- a comment\nSELECT id FROM users", "select users"),
        ("SELECT * FROM some_temp_table_4f2a WHERE secret = 'x'", "select"),
        (
            "WITH input AS (SELECT * FROM users) INSERT INTO route_requests SELECT * FROM input"
            " ON CONFLICT (id) DO UPDATE SET status = 'x'",
            "insert route_requests",
        ),
        ("INSERT INTO pois SELECT * FROM users ON CONFLICT DO UPDATE SET x = 1", "insert pois"),
        ("INSERT INTO staging_4f2a SELECT * FROM users", "insert"),
        ("ROLLBACK", "rollback"),
        ("EXPLAIN SELECT 1", "other"),
        ("", "other"),
    ],
)
def test_query_names_are_an_operation_and_a_schema_object_never_sql(
    sql: str, expected: str
) -> None:
    assert query_name(sql)[0] == expected


def test_the_schema_objects_are_the_migrations_tables_and_functions() -> None:
    objects = schema_objects()
    assert {"users", "pois", "route_requests", "street_edges", "get_route_tile"} <= objects
    assert all(name.isidentifier() and name.islower() for name in objects)
