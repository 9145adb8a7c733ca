"""Bad input: a one-line error, a non-zero exit, and the database exactly as it was."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from ingest_pbf import BBOX, base_extract
from test_ingest_contract import ingest, ingest_json, rows, snapshot

from wildside_common.testing import servers

pytestmark = pytest.mark.contract


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A database holding the test world, and a directory for the bad files."""
    folder = tmp_path_factory.mktemp("bad")
    pbf = base_extract().write(folder / "world.osm.pbf", bbox=(20.0, 40.0, 20.01, 40.01))
    with servers.scratch_database() as url:
        ingest_json(url, str(pbf), "--bbox", BBOX)
        yield url, folder


def runs(db: str) -> list[tuple[str, str | None]]:
    return rows(db, "SELECT status, error FROM ingestion_runs ORDER BY started_at")


def assert_refused(
    db: str, args: list[str], status: int, message: str, use_db: bool = True
) -> None:
    before, before_runs = snapshot(db), runs(db)
    code, out, err = ingest(db if use_db else None, *args)
    assert code == status
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("ingest-osm: error: ")
    assert message in lines[0]
    assert snapshot(db) == before
    assert runs(db) == before_runs


def test_missing_file(loaded: tuple[str, Path]) -> None:
    db, folder = loaded
    assert_refused(db, [str(folder / "nope.osm.pbf"), "--bbox", BBOX], 2, "no such file")


def test_directory_instead_of_file(loaded: tuple[str, Path]) -> None:
    db, folder = loaded
    assert_refused(db, [str(folder), "--bbox", BBOX], 2, "no such file")


def test_unreadable_file(loaded: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db, folder = loaded
    target = folder / "secret.osm.pbf"
    target.write_bytes(b"x")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    # Tests may run as root, for whom chmod 000 does not stop reading.
    monkeypatch.setattr("wildside_ingest.adapters.outbound.pbf.open", refuse, raising=False)
    assert_refused(db, [str(target), "--bbox", BBOX], 2, "unreadable (Permission denied)")


@pytest.mark.parametrize("content", [b"", b"hello, not a pbf\n", bytes(range(256)) * 20])
def test_corrupt_file(loaded: tuple[str, Path], content: bytes) -> None:
    db, folder = loaded
    target = folder / "corrupt.osm.pbf"
    target.write_bytes(content)
    assert_refused(db, [str(target), "--bbox", BBOX], 2, "corrupt or truncated")


@pytest.mark.parametrize(
    ("bbox", "message"),
    [
        ("200,40,201,41", "longitudes must lie in [-180, 180]"),
        ("20,95,21,96", "latitudes must lie in [-90, 90]"),
        ("20.01,40,20,40.01", "inverted"),
        ("20,40.01,20.01,40", "inverted"),
        ("20,40,20,41", "inverted or empty"),
        ("a,b,c,d", "not numbers"),
        ("20,40,21", "expected min_lon,min_lat,max_lon,max_lat"),
        ("nan,40,21,41", "finite"),
    ],
)
def test_bad_bbox(loaded: tuple[str, Path], bbox: str, message: str) -> None:
    db, folder = loaded
    assert_refused(db, [str(folder / "world.osm.pbf"), f"--bbox={bbox}"], 2, message)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "not JSON"),
        (json.dumps({"type": "Point", "coordinates": [20, 40]}), "unsupported GeoJSON type"),
        (
            json.dumps({"type": "Polygon", "coordinates": [[[20, 40], [21, 40]]]}),
            "not a valid GeoJSON geometry",
        ),
        (json.dumps({"type": "FeatureCollection", "features": []}), "holds no polygon"),
    ],
)
def test_bad_geojson(loaded: tuple[str, Path], document: str, message: str) -> None:
    db, folder = loaded
    fence = folder / "fence.geojson"
    fence.write_text(document)
    assert_refused(db, [str(folder / "world.osm.pbf"), "--geojson", str(fence)], 2, message)


def test_missing_geojson(loaded: tuple[str, Path]) -> None:
    db, folder = loaded
    args = [str(folder / "world.osm.pbf"), "--geojson", str(folder / "none.geojson")]
    assert_refused(db, args, 2, "No such file")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filters", "food,golf"], "unknown filter 'golf'"),
        (["--filters", ""], "unknown filter ''"),
        (["--batch-size", "0"], "batch size"),
        (["--batch-size", "ten"], "invalid int value"),
        (["--geofence-name", "bad name!"], "geofence name"),
        (["--source-url", "not a url"], "source url"),
        (["--bbox", BBOX, "--geojson", "x.geojson"], "not allowed with argument"),
        (["--no-such-flag"], "unrecognized arguments"),
    ],
)
def test_bad_flags(loaded: tuple[str, Path], args: list[str], message: str) -> None:
    db, folder = loaded
    assert_refused(db, [str(folder / "world.osm.pbf"), *args], 2, message)


def test_unreachable_database(loaded: tuple[str, Path]) -> None:
    db, folder = loaded
    args = [str(folder / "world.osm.pbf"), "--database-url", "postgresql://postgres@127.0.0.1:1/x"]
    assert_refused(db, args, 3, "database: cannot connect", use_db=False)


def test_no_database_url(loaded: tuple[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    db, folder = loaded
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert_refused(db, [str(folder / "world.osm.pbf")], 2, "DATABASE_URL", use_db=False)


def test_truncated_file_mid_run_rolls_back(loaded: tuple[str, Path]) -> None:
    """Header fine, data cut short: batches were already upserted when the read fails."""
    db, folder = loaded
    world = base_extract()
    for k in range(30_000):  # several PBF blocks of cafes, renamed from what is loaded
        world.node(
            1_000_000 + k, (k % 100) * 0.09, (k // 100) * 0.03, amenity="cafe", name=f"Cafe {k}"
        )
    whole = world.write(folder / "big.osm.pbf", bbox=(20.0, 40.0, 20.01, 40.01))
    data = whole.read_bytes()
    cut = folder / "cut.osm.pbf"
    cut.write_bytes(data[: int(len(data) * 0.8)])
    before, before_runs = snapshot(db), runs(db)
    code, out, err = ingest(db, str(cut), "--bbox", BBOX, "--batch-size", "500")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "corrupt or truncated" in err
    assert snapshot(db) == before
    after_runs = runs(db)
    assert after_runs[:-1] == before_runs
    status, error = after_runs[-1]
    assert status == "failed" and error is not None and "corrupt or truncated" in error


def test_data_tables_untouched_by_failed_runs(loaded: tuple[str, Path]) -> None:
    db, _ = loaded
    with psycopg.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM pois").fetchone() or (0,)
    assert count == 5
