"""The SQL migrations against a real, empty PostgreSQL + PostGIS database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest

from wildside_common.migrate import MIGRATIONS, apply
from wildside_common.testing.servers import scratch_database

pytestmark = pytest.mark.contract

SCHEMA_DUMP = {
    "columns": """
        SELECT table_name, column_name, ordinal_position, data_type, udt_name, is_nullable,
               column_default, character_maximum_length, numeric_precision
        FROM information_schema.columns WHERE table_schema = 'public'
        ORDER BY table_name, ordinal_position""",
    "indexes": """
        SELECT tablename, indexname, indexdef FROM pg_indexes
        WHERE schemaname = 'public' ORDER BY tablename, indexname""",
    "constraints": """
        SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' ORDER BY c.relname, k.conname""",
    "extensions": "SELECT extname FROM pg_extension ORDER BY extname",
}

INDEXES = """
SELECT i.relname, am.amname, ix.indisprimary, ix.indisunique,
       ARRAY(SELECT pg_get_indexdef(ix.indexrelid, k + 1, true)
             FROM generate_subscripts(ix.indkey, 1) AS k ORDER BY k)
FROM pg_index ix
JOIN pg_class i ON i.oid = ix.indexrelid
JOIN pg_class t ON t.oid = ix.indrelid
JOIN pg_am am ON am.oid = i.relam
WHERE t.relname = %s
"""
PLANAR_LOCATION = ["(location::geometry)"]


@dataclass(frozen=True)
class Migrated:
    url: str
    first: int
    second: int
    dump_after_first: dict[str, list[tuple[Any, ...]]]
    dump_after_second: dict[str, list[tuple[Any, ...]]]


def dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {name: conn.execute(sql).fetchall() for name, sql in SCHEMA_DUMP.items()}


@pytest.fixture(scope="module")
def migrated() -> Iterator[Migrated]:
    with scratch_database(migrate=False) as url:
        assert dump(url)["columns"] == [], "a scratch database starts empty"
        first = apply(url)
        after_first = dump(url)
        second = apply(url)
        yield Migrated(url, first, second, after_first, dump(url))


def indexes(url: str, table: str) -> list[tuple[str, str, bool, bool, list[str]]]:
    with psycopg.connect(url) as conn:
        return conn.execute(INDEXES, (table,)).fetchall()


def migration_files() -> list[str]:
    return sorted(
        path.name for path in MIGRATIONS.glob("*.sql") if not path.name.endswith(".rollback.sql")
    )


def test_every_migration_applies_to_an_empty_database(migrated: Migrated) -> None:
    assert migrated.first == len(migration_files()) >= 1
    tables = {row[0] for row in migrated.dump_after_first["columns"]}
    assert {"users", "pois", "street_nodes", "street_edges", "route_requests"} <= tables


def test_applying_again_changes_nothing(migrated: Migrated) -> None:
    assert migrated.second == 0
    assert migrated.dump_after_second == migrated.dump_after_first


def test_postgis_is_installed(migrated: Migrated) -> None:
    assert ("postgis",) in migrated.dump_after_first["extensions"]
    with psycopg.connect(migrated.url) as conn:
        (version,) = conn.execute("SELECT postgis_lib_version()").fetchone() or (None,)
    assert version and int(version.split(".")[0]) >= 3


def test_pois_have_gist_location_gin_tags_and_element_key(migrated: Migrated) -> None:
    found = indexes(migrated.url, "pois")
    # one spatial index, the planar one (0004 dropped the geography GiST)
    assert [columns for _, am, _, _, columns in found if am == "gist"] == [PLANAR_LOCATION]
    assert any(am == "gin" and columns == ["tags"] for _, am, _, _, columns in found)
    assert any(
        (primary or unique) and columns == ["element_type", "id"]
        for _, _, primary, unique, columns in found
    )


def test_users_have_a_keyset_index(migrated: Migrated) -> None:
    found = indexes(migrated.url, "users")
    assert any(am == "btree" and columns == ["created_at", "id"] for _, am, _, _, columns in found)


def test_street_network_has_spatial_and_join_indexes(migrated: Migrated) -> None:
    nodes = indexes(migrated.url, "street_nodes")
    edges = indexes(migrated.url, "street_edges")
    assert [columns for _, am, _, _, columns in nodes if am == "gist"] == [PLANAR_LOCATION]
    assert [columns for _, am, _, _, columns in edges if am == "gist"] == [["(geom::geometry)"]]
    for column in ("source", "target"):
        assert any(columns[:1] == [column] for *_, columns in edges), column


def test_poi_upsert_on_element_key_keeps_one_row(migrated: Migrated) -> None:
    upsert = """
        INSERT INTO pois (element_type, id, location, name, tags, themes, source)
        VALUES ('node', 42, ST_GeogFromText('POINT(24.9384 60.1699)'), %s, %s, '{art}',
                'osm_ingest')
        ON CONFLICT (element_type, id) DO UPDATE
        SET name = EXCLUDED.name, tags = EXCLUDED.tags, updated_at = now()"""
    with psycopg.connect(migrated.url) as conn:
        conn.execute(upsert, ("First", '{"tourism": "artwork"}'))
        conn.execute(upsert, ("Second", '{"tourism": "artwork", "name": "Second"}'))
        rows = conn.execute(
            "SELECT name, tags->>'name' FROM pois WHERE element_type = 'node' AND id = 42"
        ).fetchall()
        conn.rollback()
    assert rows == [("Second", "Second")]


def test_theme_ids_are_slugs(migrated: Migrated) -> None:
    with psycopg.connect(migrated.url) as conn:
        themes = [row[0] for row in conn.execute("SELECT id FROM interest_themes ORDER BY id")]
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute("INSERT INTO interest_themes VALUES ('Not A Slug', 'x', 'y', 9)")
    assert {"history", "art", "nature", "food", "architecture", "culture"} <= set(themes)


def test_route_requests_admit_every_route_status_and_nothing_else(migrated: Migrated) -> None:
    """0008: `cancelled` is a stored status; the CHECK still refuses an unknown one."""
    from wildside_common.messages import RouteStatus

    insert = (
        "INSERT INTO route_requests (id, user_id, status, payload, error) "
        "VALUES (gen_random_uuid(), %s, %s, '{}', 'x')"
    )
    with psycopg.connect(migrated.url) as conn:
        (user,) = conn.execute(
            "INSERT INTO users (username, display_name, password_hash) "
            "VALUES ('statuses', 'S', 'x') RETURNING id"
        ).fetchone() or (None,)
        for status in RouteStatus:
            conn.execute(insert, (user, status.value))
        stored = {row[0] for row in conn.execute("SELECT status FROM route_requests")}
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(insert, (user, "aborted"))
        conn.rollback()
    assert stored == {status.value for status in RouteStatus}
