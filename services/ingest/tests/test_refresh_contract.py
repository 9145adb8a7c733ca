"""The refresh's query of changed places, against PostGIS after real ingest runs."""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from ingest_pbf import BBOX, at, base_extract, changed_extract

from wildside_common.testing import servers
from wildside_ingest.__main__ import run
from wildside_ingest.adapters.outbound import refresh

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def db() -> Iterator[str]:
    with servers.scratch_database() as url:
        yield url


def ingest(db: str, pbf: Path) -> None:
    argv = [str(pbf), "--bbox", BBOX, "--geofence-name", "world", "--no-progress"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert run([*argv, "--database-url", db]) == 0


def changed(db: str) -> tuple[str | None, list[tuple[float, float, list[str]]]]:
    return asyncio.run(refresh.changed_pois(db, "world"))


def test_the_latest_run_names_exactly_the_places_it_inserted_or_updated(
    db: str, tmp_path: Path
) -> None:
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("TRUNCATE pois, street_edges, street_nodes, ingestion_runs")
    bbox = (20.0, 40.0, 20.01, 40.01)
    ingest(db, base_extract().write(tmp_path / "v1.osm.pbf", bbox=bbox))
    first_run, first = changed(db)
    assert first_run is not None and len(first) == 5  # a first load: every place is new

    ingest(db, changed_extract().write(tmp_path / "v2.osm.pbf", bbox=bbox))
    run_id, places = changed(db)
    with psycopg.connect(db) as conn:
        latest = conn.execute(
            "SELECT id::text FROM ingestion_runs ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    assert latest is not None and run_id == latest[0] != first_run
    # The renamed cafe (node 1 at 2,2) and the new one (node 6 at 6,4); the deleted POI
    # is gone and the unchanged ones are not named.
    expected = {(at(2, 2)[1], at(2, 2)[0]), (at(6, 4)[1], at(6, 4)[0])}
    assert {(round(lat, 7), round(lng, 7)) for lat, lng, _ in places} == expected
    assert all(themes == ["food"] for _, _, themes in places)

    ingest(db, changed_extract().write(tmp_path / "v3.osm.pbf", bbox=bbox))
    assert changed(db) == (None, [])  # the same file again: nothing changed
