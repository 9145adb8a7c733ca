"""The ingest CLI against a real PostGIS database, on PBF files the tests write.

The test world (grid units of 0.001 degree from lon 20, lat 40; fence = 0..10 x 0..10):

    POIs      1 cafe (2,2), 2 artwork ON the west edge (0,5), 3 museum outside (-1,5),
              4 bench (not a POI), 5 wiki-only "Old Hall", way 100 a U-shaped museum
              (centroid in its notch), relation 300 a park with a hole
    network   200 footway 20-21-22, 201 footway 23-21-24 (crosses 200 at 21),
              202 residential 22-25-26, 203 motorway, 204 footway foot=no,
              205 footway 26-28 crossing the east edge, 206 footway wholly outside

These tests use their own scratch database: a run removes what its geofence no longer
holds, so sharing the session database would let runs delete other suites' rows.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from ingest_pbf import BBOX, at, base_extract, changed_extract

from wildside_common.testing import servers
from wildside_ingest.__main__ import run
from wildside_ingest.adapters.outbound.pbf import PbfFeatureSource
from wildside_ingest.adapters.outbound.postgres import PostgresIngestStore
from wildside_ingest.bootstrap import ingest_service
from wildside_ingest.domain.geofence import BoundingBox, Geofence
from wildside_ingest.domain.run import Provenance

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def db() -> Iterator[str]:
    with servers.scratch_database() as url:
        yield url


@pytest.fixture
def clean_db(db: str) -> str:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("TRUNCATE pois, street_edges, street_nodes, ingestion_runs")
    return db


def ingest(db: str | None, *args: str) -> tuple[int, str, str]:
    """Run the CLI in-process; returns (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    argv = [*args, "--no-progress"] + (["--database-url", db] if db else [])
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = run(argv)
    return status, out.getvalue(), err.getvalue()


def ingest_json(db: str, *args: str) -> dict[str, Any]:
    status, out, err = ingest(db, *args, "--json")
    assert status == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


def rows(db: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db) as conn:
        return conn.execute(query).fetchall()


def snapshot(db: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every data row, with its timestamps: equal snapshots mean nothing was written."""
    return {
        "pois": rows(
            db,
            "SELECT element_type, id, ST_AsText(location), name, tags::text, themes,"
            " popularity, source, content_hash, created_at, updated_at FROM pois"
            " ORDER BY 1, 2",
        ),
        "edges": rows(
            db,
            "SELECT way_id, seq, source, target, length_m, highway, name,"
            " ST_AsText(geom) FROM street_edges ORDER BY 1, 2",
        ),
        "nodes": rows(db, "SELECT id, ST_AsText(location) FROM street_nodes ORDER BY 1"),
    }


def point(x: float, y: float) -> str:
    lon, lat = at(x, y)
    return f"POINT({lon:g} {lat:g})"


@pytest.fixture
def base_pbf(tmp_path: Path) -> Path:
    return base_extract().write(tmp_path / "world.osm.pbf", bbox=(20.0, 40.0, 20.01, 40.01))


def test_first_run_loads_exact_rows(clean_db: str, base_pbf: Path) -> None:
    report = ingest_json(clean_db, str(base_pbf), "--bbox", BBOX, "--geofence-name", "world")
    pois = rows(clean_db, "SELECT element_type, id, name, themes FROM pois ORDER BY 1, 2")
    assert pois == [
        ("node", 1, "Cafe One", ["food"]),
        ("node", 2, "Edge Statue", ["art"]),
        ("node", 5, "Old Hall", []),
        ("relation", 300, "Ring Park", ["nature"]),
        ("way", 100, "U Museum", ["culture"]),
    ]
    assert rows(
        clean_db, "SELECT ST_AsText(location) FROM pois WHERE id IN (1, 2) ORDER BY id"
    ) == [(point(2, 2),), (point(0, 5),)]
    edges = rows(
        clean_db,
        "SELECT way_id, seq, source, target, highway, name,"
        " ST_NPoints(geom::geometry) FROM street_edges ORDER BY 1, 2",
    )
    assert edges == [
        (200, 0, 20, 21, "footway", "Long Walk", 2),
        (200, 1, 21, 22, "footway", "Long Walk", 2),
        (201, 0, 23, 21, "footway", None, 2),
        (201, 1, 21, 24, "footway", None, 2),
        (202, 0, 22, 26, "residential", "Main Street", 3),
        (205, 0, 26, 28, "footway", None, 2),
    ]
    nodes = rows(clean_db, "SELECT id, ST_AsText(location) FROM street_nodes ORDER BY id")
    expected_nodes = {
        20: (1, 1),
        21: (3, 1),
        22: (5, 1),
        23: (3, 0),
        24: (3, 3),
        26: (9, 1),
        28: (11, 1),
    }
    assert nodes == [(i, point(*xy)) for i, xy in expected_nodes.items()]
    counts = report["counts"]
    assert counts["pois"] == {"kept": 5, "inserted": 5, "updated": 0, "unchanged": 0, "removed": 0}
    assert counts["street_edges"]["inserted"] == 6
    assert counts["street_nodes"] == {
        "kept": 7,
        "inserted": 7,
        "updated": 0,
        "unchanged": 0,
        "removed": 0,
    }


def test_points_on_surface_lie_inside_their_shapes(clean_db: str, base_pbf: Path) -> None:
    ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    inside = rows(
        clean_db,
        f"""
        SELECT id, ST_Covers(ST_GeomFromText(CASE id
            WHEN 100 THEN 'POLYGON(({
            _ring([(6, 6), (9, 6), (9, 9), (8, 9), (8, 7), (7, 7), (7, 9), (6, 9)])
        }))'
            ELSE 'POLYGON(({_ring([(1, 6), (4, 6), (4, 9), (1, 9)])}),
                          ({_ring([(2, 7), (3, 7), (3, 8), (2, 8)])}))' END, 4326),
            location::geometry)
        FROM pois WHERE element_type <> 'node' ORDER BY id""",
    )
    assert inside == [(100, True), (300, True)]


def _ring(points: list[tuple[int, int]]) -> str:
    coords = [at(x, y) for x, y in [*points, points[0]]]
    return ", ".join(f"{lon} {lat}" for lon, lat in coords)


def test_edge_lengths_are_metres(clean_db: str, base_pbf: Path) -> None:
    ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    ((ours, postgis),) = rows(
        clean_db, "SELECT length_m, ST_Length(geom) FROM street_edges WHERE way_id = 202"
    )
    assert ours == pytest.approx(postgis, rel=0.005)  # sphere vs spheroid
    assert 300 < ours < 400  # 4 units of 0.001 degree of longitude at 40 N is ~341 m


def test_rerun_changes_nothing_and_says_so(clean_db: str, base_pbf: Path) -> None:
    ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    before = snapshot(clean_db)
    status, out, _ = ingest(clean_db, str(base_pbf), "--bbox", BBOX)
    assert status == 0
    assert "unchanged: nothing to do" in out
    assert "pois kept 5 (inserted 0, updated 0, unchanged 5, removed 0)" in out
    assert snapshot(clean_db) == before
    assert rows(clean_db, "SELECT status, count(*) FROM ingestion_runs GROUP BY 1") == [
        ("succeeded", 2)
    ]


def test_changed_and_deleted_elements(clean_db: str, base_pbf: Path, tmp_path: Path) -> None:
    ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    newer = changed_extract().write(tmp_path / "newer.osm.pbf")
    counts = ingest_json(clean_db, str(newer), "--bbox", BBOX)["counts"]
    assert counts["pois"] == {"kept": 5, "inserted": 1, "updated": 1, "unchanged": 3, "removed": 1}
    assert counts["street_edges"] == {
        "kept": 3,
        "inserted": 0,
        "updated": 2,
        "unchanged": 1,
        "removed": 3,
    }
    assert counts["street_nodes"] == {
        "kept": 4,
        "inserted": 0,
        "updated": 0,
        "unchanged": 4,
        "removed": 3,
    }
    assert rows(clean_db, "SELECT element_type, id, name FROM pois ORDER BY 1, 2") == [
        ("node", 1, "Cafe Two"),
        ("node", 2, "Edge Statue"),
        ("node", 6, "New Cafe"),
        ("relation", 300, "Ring Park"),
        ("way", 100, "U Museum"),
    ]
    assert rows(
        clean_db,
        "SELECT way_id, seq, source, target, ST_NPoints(geom::geometry)"
        " FROM street_edges ORDER BY 1, 2",
    ) == [
        (200, 0, 20, 22, 3),
        (202, 0, 22, 26, 3),
        (205, 0, 26, 28, 2),
    ]
    assert rows(
        clean_db,
        "SELECT ST_AsText(ST_PointN(geom::geometry, 2)) FROM street_edges WHERE way_id = 202",
    ) == [(point(7, 2),)]
    assert [r[0] for r in rows(clean_db, "SELECT id FROM street_nodes ORDER BY id")] == [
        20,
        22,
        26,
        28,
    ]


def test_outside_rows_are_left_alone(clean_db: str, base_pbf: Path) -> None:
    with psycopg.connect(clean_db) as conn:
        conn.execute(
            "INSERT INTO pois (element_type, id, location, name, source) VALUES"
            " ('node', 777, 'SRID=4326;POINT(30 30)', 'Far Away', 'osm_ingest'),"
            " ('node', 778, %s, 'From Overpass', 'overpass')",
            (f"SRID=4326;{point(8, 2)}",),
        )
    ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    names = [r[0] for r in rows(clean_db, "SELECT name FROM pois WHERE id IN (777, 778)")]
    assert sorted(names) == ["Far Away", "From Overpass"]


def test_default_geofence_is_the_header_bbox(clean_db: str, base_pbf: Path) -> None:
    report = ingest_json(clean_db, str(base_pbf), "--source-url", "https://example.org/w.pbf")
    assert report["geofence"] == "world"
    (run,) = rows(
        clean_db,
        "SELECT geofence_name,"
        " ST_Equals(geofence, ST_Multi(ST_MakeEnvelope(20, 40, 20.01, 40.01,"
        " 4326))), ST_Equals(bounds, ST_MakeEnvelope(20, 40, 20.01, 40.01,"
        " 4326)), source_url, file_sha256, filters, status,"
        " finished_at > started_at, counts->'pois'->>'kept'"
        " FROM ingestion_runs",
    )
    assert run[:3] == ("world", True, True)
    assert run[3:] == (
        "https://example.org/w.pbf",
        report["file_sha256"],
        "architecture,art,culture,entertainment,food,history,nature,shopping,wiki,network",
        "succeeded",
        True,
        "5",
    )


def test_geojson_geofence(clean_db: str, base_pbf: Path, tmp_path: Path) -> None:
    # The west half only: x in 0..4.5.
    ring = [list(at(0, 0)), list(at(4.5, 0)), list(at(4.5, 10)), list(at(0, 10)), list(at(0, 0))]
    fence = tmp_path / "west.geojson"
    fence.write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    )
    ingest_json(clean_db, str(base_pbf), "--geojson", str(fence))
    assert [r[0] for r in rows(clean_db, "SELECT id FROM pois ORDER BY id")] == [1, 2, 300]
    # 200/1 ends at x=5, outside, but touches the fence: loaded whole; 202 starts at x=5.
    assert rows(clean_db, "SELECT way_id, seq FROM street_edges ORDER BY 1, 2") == [
        (200, 0),
        (200, 1),
        (201, 0),
        (201, 1),
    ]


def test_filters_select_themes(clean_db: str, base_pbf: Path) -> None:
    ingest_json(clean_db, str(base_pbf), "--bbox", BBOX, "--filters", "food,art")
    assert [r[0] for r in rows(clean_db, "SELECT id FROM pois ORDER BY id")] == [1, 2]
    assert rows(clean_db, "SELECT count(*) FROM street_edges") == [(0,)]


def test_dry_run_writes_nothing(clean_db: str, base_pbf: Path) -> None:
    before = snapshot(clean_db)
    report = ingest_json(clean_db, str(base_pbf), "--bbox", BBOX, "--dry-run")
    assert report["status"] == "dry_run"
    assert report["counts"]["pois"]["inserted"] == 5
    assert snapshot(clean_db) == before
    assert rows(clean_db, "SELECT status FROM ingestion_runs") == [("dry_run",)]


def test_batches_smaller_than_the_file_give_the_same_rows(
    clean_db: str, base_pbf: Path, db: str
) -> None:
    ingest_json(clean_db, str(base_pbf), "--bbox", BBOX, "--batch-size", "10000")
    whole = snapshot(clean_db)
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("TRUNCATE pois, street_edges, street_nodes, ingestion_runs")
    ingest_json(clean_db, str(base_pbf), "--bbox", BBOX, "--batch-size", "1")
    batched = snapshot(clean_db)
    strip = lambda snap: {k: [r[:9] for r in v] for k, v in snap.items()}  # noqa: E731
    assert strip(batched) == strip(whole)


def schema(db: str) -> list[tuple[Any, ...]]:
    """Every index and constraint of the loaded tables, with their definitions."""
    return rows(
        db,
        "SELECT tablename, indexname, indexdef FROM pg_indexes"
        " WHERE tablename IN ('pois', 'street_edges', 'street_nodes')"
        " UNION ALL SELECT conrelid::regclass::text, conname,"
        " pg_get_constraintdef(oid) || ' valid=' || convalidated FROM pg_constraint"
        " WHERE conrelid IN ('pois'::regclass, 'street_edges'::regclass,"
        " 'street_nodes'::regclass) ORDER BY 1, 2, 3",
    )


def test_first_load_into_empty_tables_restores_indexes_and_keys(
    clean_db: str, base_pbf: Path, tmp_path: Path
) -> None:
    before = schema(clean_db)
    assert any("gist" in r[2] for r in before) and any("FOREIGN KEY" in r[2] for r in before)
    ingest_json(clean_db, str(base_pbf), "--bbox", BBOX, "--dry-run")
    assert schema(clean_db) == before
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(base_pbf.read_bytes()[:-40])
    assert ingest(clean_db, str(cut), "--bbox", BBOX)[0] != 0
    assert schema(clean_db) == before
    report = ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    assert report["counts"]["street_nodes"]["kept"] == 7
    assert schema(clean_db) == before
    with pytest.raises(psycopg.errors.ForeignKeyViolation):  # the keys hold again
        rows(clean_db, "UPDATE street_edges SET source = 999999 WHERE way_id = 200")


def test_bulk_load_and_upsert_give_the_same_rows(clean_db: str, base_pbf: Path) -> None:
    with psycopg.connect(clean_db, autocommit=True) as conn:  # not empty: the upsert path
        conn.execute("INSERT INTO street_nodes VALUES (999999, 'SRID=4326;POINT(30 30)')")
        conn.execute(
            "INSERT INTO pois (element_type, id, location, source)"
            " VALUES ('node', 999999, 'SRID=4326;POINT(30 30)', 'overpass')"
        )
    upserted = ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)["counts"]
    via_upsert = snapshot(clean_db)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute("TRUNCATE pois, street_edges, street_nodes, ingestion_runs")
    bulk = ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)["counts"]

    def strip(snap: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
        key = {"pois": 1, "edges": 0, "nodes": 0}
        return {k: [r[:9] for r in v if r[key[k]] != 999999] for k, v in snap.items()}

    assert strip(snapshot(clean_db)) == strip(via_upsert)
    assert bulk == upserted
    assert bulk["read"] == {"nodes": 5, "ways": 8, "relations": 1}


async def test_bootstrap_has_the_reader_write_a_first_load_as_the_stores_copy_rows(
    clean_db: str,
) -> None:
    # The COPY row format is between two adapters: the composition root lets the source
    # ask the store, which knows once the run has started on empty tables.
    fence = Geofence.from_bbox("wire", BoundingBox(20.0, 40.0, 20.01, 40.01))
    provenance = Provenance(fence, "file:///wire.osm.pbf", "0" * 64, "network")
    async with ingest_service(clean_db, "flex_mem", False) as service:
        source, store = service.source, service.store
        assert isinstance(source, PbfFeatureSource) and isinstance(store, PostgresIngestStore)
        assert source.wire_rows() is False  # no run yet
        assert source.poi_rows() is False
        run_id = await store.start_run(provenance, pois=False, network=True)
        assert source.wire_rows() is True
        assert source.poi_rows() is False  # the run loads no POIs
        await store.fail(run_id, "test: nothing to load")
    provenance = Provenance(fence, "file:///wire.osm.pbf", "0" * 64, "all")
    async with ingest_service(clean_db, "flex_mem", False) as service:
        source, store = service.source, service.store
        assert isinstance(source, PbfFeatureSource) and isinstance(store, PostgresIngestStore)
        run_id = await store.start_run(provenance, pois=True, network=True)
        assert source.wire_rows() is True and source.poi_rows() is True
        await store.fail(run_id, "test: nothing to load")


# A rerun with nothing changed (migration 0009): the same inputs as the latest
# succeeded run, and no write to the tables since, need not read the file.


def _no_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> Iterator[object]:
        raise AssertionError("the file was read")

    monkeypatch.setattr(PbfFeatureSource, "batches", refuse)


def test_rerun_with_the_same_inputs_does_not_read_the_file(
    clean_db: str, base_pbf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    before = snapshot(clean_db)
    _no_read(monkeypatch)
    again = ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    assert again["changed"] is False
    assert again["counts"]["same_as"] == first["run_id"]
    assert again["counts"]["pois"] == {
        "kept": 5,
        "inserted": 0,
        "updated": 0,
        "unchanged": 5,
        "removed": 0,
    }
    assert again["counts"]["street_edges"]["unchanged"] == first["counts"]["street_edges"]["kept"]
    assert again["counts"]["read"] == first["counts"]["read"]
    assert snapshot(clean_db) == before
    third = ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)  # still nothing to do
    assert third["counts"]["same_as"] == again["run_id"]
    assert rows(clean_db, "SELECT count(*) FROM ingest_table_changes") == [(0,)]


@pytest.mark.parametrize(
    "write",
    [
        # the full path compares POIs by content hash: a writer changes it with the content
        "UPDATE pois SET name = 'Vandal', content_hash = 'other' WHERE id = 1",
        "DELETE FROM street_edges WHERE way_id = 202",
        "INSERT INTO pois (element_type, id, location, source)"
        " VALUES ('node', 4242, 'SRID=4326;POINT(20.005 40.005)', 'overpass')",
    ],
)
def test_a_write_to_the_tables_since_makes_the_rerun_read_the_file(
    clean_db: str, base_pbf: Path, write: str
) -> None:
    ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    loaded = snapshot(clean_db)
    with psycopg.connect(clean_db, autocommit=True) as conn:
        conn.execute(write)
    again = ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    assert "same_as" not in again["counts"]
    after = snapshot(clean_db)
    # the file's rows are back as they were (the overpass POI is not the ingest's)
    assert [r[:9] for r in after["pois"] if r[1] != 4242] == [r[:9] for r in loaded["pois"]]
    assert after["edges"] == loaded["edges"] and after["nodes"] == loaded["nodes"]
    if "Vandal" in write:
        assert again["counts"]["pois"]["updated"] == 1
    if "DELETE" in write:
        assert again["counts"]["street_edges"]["inserted"] == 1
    # read again, the tables match the file: the next rerun has nothing to do
    assert ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)["counts"]["same_as"]


def test_another_file_in_between_makes_the_rerun_read_the_file(
    clean_db: str, base_pbf: Path, tmp_path: Path
) -> None:
    ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    loaded = snapshot(clean_db)
    newer = changed_extract().write(tmp_path / "newer.osm.pbf")
    assert ingest_json(clean_db, str(newer), "--bbox", BBOX)["changed"] is True
    back = ingest_json(clean_db, str(base_pbf), "--bbox", BBOX)
    assert "same_as" not in back["counts"] and back["changed"] is True
    strip = {k: [r[:9] for r in v] for k, v in loaded.items()}
    assert {k: [r[:9] for r in v] for k, v in snapshot(clean_db).items()} == strip


@pytest.mark.parametrize("what", ["geofence", "filters", "recipe", "dry_run"])
def test_other_inputs_make_the_rerun_read_the_file(
    clean_db: str, base_pbf: Path, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    args = [str(base_pbf), "--bbox", BBOX]
    if what == "dry_run":  # a dry run's rollback is no succeeded run to compare with
        ingest_json(clean_db, *args, "--dry-run")
    ingest_json(clean_db, *args)
    if what == "geofence":
        args = [str(base_pbf), "--bbox", "20.0,40.0,20.009,40.01"]
    elif what == "filters":
        args += ["--filters", "pois"]
    elif what == "recipe":  # e.g. an upgraded reader or an edited rules file
        monkeypatch.setattr(PbfFeatureSource, "recipe", lambda self: "another")
    again = ingest_json(clean_db, *args)
    assert ("same_as" in again["counts"]) is (what == "dry_run")
