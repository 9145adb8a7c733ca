"""The tile roles of migration 0005 against real PostgreSQL, connecting as each role.

Martin's role (martin_ro) draws route tiles and reads no table: every table, view and
sequence of the schema is enumerated from the catalog, so a table added later is covered
without touching this file. tiles-auth's role (tiles_auth_ro) reads route owners only.
Local trust auth lets any role connect to 127.0.0.1 without a password.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator

import asyncpg
import psycopg
import pytest
from test_route_tiles_contract import ROUTE, layers, stored_route, tile_of
from yoyo import get_backend, read_migrations

from wildside_common.migrate import MIGRATIONS, apply, yoyo_url
from wildside_common.testing.demo_data import as_role
from wildside_common.testing.servers import scratch_database

pytestmark = pytest.mark.contract

# Every relation of the schema but those an extension owns (PostGIS's spatial_ref_sys,
# geometry_columns, geography_columns: reference data its own script grants to PUBLIC).
RELATIONS = """
SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                  AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 1"""
EXTENSION_RELATIONS = RELATIONS.replace("NOT EXISTS", "EXISTS")
OWN_FUNCTIONS = """
SELECT p.oid::regprocedure::text, p.proname, p.prosecdef, p.proconfig,
       pg_get_userbyid(p.proowner), has_function_privilege('martin_ro', p.oid, 'EXECUTE'),
       coalesce(p.proacl::text[], '{}')
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = 'public'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                  AND d.objid = p.oid AND d.deptype = 'e')"""
TILE_FUNCTIONS = {"get_route_tile", "get_poi_tile", "get_base_tile"}


def relations(url: str, sql: str = RELATIONS) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [(name, kind) for name, kind in conn.execute(sql).fetchall()]


HELD = """
SELECT CASE WHEN $3 = 'S' THEN has_sequence_privilege($1, $2, 'SELECT, USAGE, UPDATE')
            ELSE has_table_privilege($1, $2, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE')
                 OR has_any_column_privilege($1, $2, 'SELECT, INSERT, UPDATE') END"""


async def refused_everywhere(
    url: str, role: str, allowed: frozenset[str] = frozenset()
) -> list[str]:
    """The relations `role` may touch (beyond `allowed`): it reads each as that role, and
    asks the catalog about every other privilege."""
    touched = []
    conn = await asyncpg.connect(as_role(url, role))
    try:
        for name, kind in relations(url):
            if name in allowed:
                continue
            qualified = f"public.{json.dumps(name)}"
            try:
                await conn.fetch(f"SELECT 1 FROM {qualified} LIMIT 1")
                touched.append(f"{name}: read")
            except asyncpg.InsufficientPrivilegeError:
                pass
            if await conn.fetchval(HELD, role, qualified, kind):
                touched.append(f"{name}: granted")
    finally:
        await conn.close()
    return touched


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(database_url)
    yield connection
    await connection.close()


async def test_martins_role_is_refused_on_every_table(database_url: str) -> None:
    names = {name for name, _ in relations(database_url)}
    assert {"users", "idempotency_keys", "enrichment_provenance", "route_results"} <= names
    assert await refused_everywhere(database_url, "martin_ro") == []
    extension = {name for name, _ in relations(database_url, EXTENSION_RELATIONS)}
    assert extension <= {"spatial_ref_sys", "geometry_columns", "geography_columns"}


async def test_martins_role_draws_a_stored_route(database_url: str, conn) -> None:
    request_id = await stored_route(conn, ROUTE)
    martin = await asyncpg.connect(as_role(database_url, "martin_ro"))
    try:
        tile = await martin.fetchval(
            "SELECT public.get_route_tile($1, $2, $3, $4::json)",
            *tile_of(60.1692, 24.945, 13),
            json.dumps({"request_id": request_id}),
        )
    finally:
        await martin.close()
    decoded = layers(bytes(tile))
    assert decoded["route"]["features"] == 1 and decoded["stops"]["features"] == 3


async def test_martin_may_execute_the_tile_functions_and_no_other(conn) -> None:
    functions = await conn.fetch(OWN_FUNCTIONS)
    # A new function in public is executable by PUBLIC, so by Martin's role, unless its
    # migration revokes that (or it is a tile function: then list it here and in
    # TILES_SOURCES, and make it as 0005.tile_roles says).
    assert {row[1] for row in functions if row[5]} == TILE_FUNCTIONS
    for signature, name, definer, config, owner, _, acl in functions:
        if name not in TILE_FUNCTIONS:
            continue
        assert definer and owner == "wildside_tiles", signature
        assert config == ["search_path=pg_catalog, public, pg_temp"], signature
        assert not any(entry.startswith("=") for entry in acl), f"PUBLIC executes {signature}"
    comment = await conn.fetchval(
        "SELECT obj_description('get_route_tile(integer, integer, integer, json)'::regprocedure)"
    )
    assert json.loads(comment)["vector_layers"]  # Martin's TileJSON is still there


async def test_the_tile_functions_owner_reads_what_the_tiles_draw_only(database_url: str) -> None:
    with psycopg.connect(database_url) as db:
        readable = db.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'p', 'f') "
            "AND has_any_column_privilege('wildside_tiles', c.oid, 'SELECT, INSERT, UPDATE')"
        ).fetchall()
        login = db.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'wildside_tiles'")
        assert login.fetchone() == (False,)
    extension = {name for name, _ in relations(database_url, EXTENSION_RELATIONS)}
    assert {name for (name,) in readable} - extension == {"route_results", "pois", "street_edges"}


async def test_tiles_auths_role_reads_route_owners_and_nothing_else(
    database_url: str, conn
) -> None:
    request_id = await stored_route(conn, ROUTE)
    tiles_auth = await asyncpg.connect(as_role(database_url, "tiles_auth_ro"))
    try:
        owner = await tiles_auth.fetchval(
            "SELECT user_id FROM route_requests WHERE id = $1 AND expires_at > now()",
            request_id,
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await tiles_auth.fetch("SELECT payload FROM route_requests LIMIT 1")
    finally:
        await tiles_auth.close()
    assert owner is not None
    assert (
        await refused_everywhere(database_url, "tiles_auth_ro", frozenset({"route_requests"})) == []
    )


@pytest.fixture(scope="module")
def upgraded() -> Iterator[str]:
    """A database that had the old compose grants (martin_ro reads every table, now and
    by default) before 0005 ran."""
    with scratch_database(migrate=False) as url:
        backend = get_backend(yoyo_url(url))
        try:
            migrations = read_migrations(str(MIGRATIONS))
            with backend.lock():
                backend.apply_migrations(
                    backend.to_apply(migrations.filter(lambda m: m.id < "0005"))
                )
        finally:
            backend.connection.close()
        with psycopg.connect(url, autocommit=True) as db:
            db.execute(
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'martin_ro')"
                " THEN CREATE ROLE martin_ro LOGIN; END IF; END $$"
            )
            db.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO martin_ro")
            db.execute(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO martin_ro"
            )
            db.execute(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT EXECUTE ON FUNCTIONS TO martin_ro"
            )
        assert apply(url) >= 1
        yield url


async def test_the_migration_takes_back_what_earlier_set_ups_granted(upgraded: str) -> None:
    with psycopg.connect(upgraded, autocommit=True) as db:
        leftovers = db.execute(
            "SELECT count(*) FROM pg_default_acl d, aclexplode(d.defaclacl) a "
            "WHERE a.grantee = 'martin_ro'::regrole"
        ).fetchone()
        db.execute("CREATE TABLE later_table (secret text)")  # created after the migration
    assert leftovers == (0,)
    assert "later_table" in {name for name, _ in relations(upgraded)}
    assert await refused_everywhere(upgraded, "martin_ro") == []
