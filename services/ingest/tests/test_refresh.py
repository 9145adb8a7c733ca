"""The nightly refresh's steps: conditional download, changed areas, enrichment jobs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from wildside_ingest import refresh as cli
from wildside_ingest.adapters.outbound import refresh
from wildside_ingest.domain.changed_areas import ChangedArea, changed_areas

pytestmark = pytest.mark.unit


class Extract:
    """A tiny HTTP server for one file, with or without an ETag, counting full downloads."""

    def __init__(self) -> None:
        self.body = b"first extract"
        self.etag: str | None = '"v1"'
        self.downloads = 0
        self.conditional: list[str | None] = []


@pytest.fixture
def extract() -> Iterator[tuple[Extract, str]]:
    state = Extract()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen = self.headers.get("If-None-Match")
            state.conditional.append(seen)
            if state.etag is not None and seen == state.etag:
                self.send_response(304)
                self.end_headers()
                return
            state.downloads += 1
            self.send_response(200)
            if state.etag is not None:
                self.send_header("ETag", state.etag)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/region.osm.pbf"
    finally:
        server.shutdown()
        server.server_close()


def test_an_extract_is_downloaded_once_and_then_answered_by_its_etag(
    extract: tuple[Extract, str], tmp_path: Path
) -> None:
    server, url = extract
    dest = tmp_path / "extract.osm.pbf"
    first = refresh.fetch_if_changed(url, dest)
    assert first.changed and dest.read_bytes() == b"first extract"
    assert refresh.commit(dest) is True
    again = refresh.fetch_if_changed(url, dest)
    assert not again.changed and again.sha256 == first.sha256
    assert server.conditional == [None, '"v1"'] and server.downloads == 1
    server.body, server.etag = b"second extract", '"v2"'
    assert refresh.fetch_if_changed(url, dest).changed
    assert dest.read_bytes() == b"second extract"


def test_without_validators_an_unchanged_file_is_recognised_by_its_checksum(
    extract: tuple[Extract, str], tmp_path: Path
) -> None:
    server, url = extract
    server.etag = None
    dest = tmp_path / "extract.osm.pbf"
    assert refresh.fetch_if_changed(url, dest).changed
    refresh.commit(dest)
    assert not refresh.fetch_if_changed(url, dest).changed
    assert server.downloads == 2
    assert not list(tmp_path.glob("*.part"))


def test_an_extract_whose_ingest_failed_is_fetched_and_ingested_again(
    extract: tuple[Extract, str], tmp_path: Path
) -> None:
    """No commit (the ingest failed): the stored state still names no ingested file."""
    _, url = extract
    dest = tmp_path / "extract.osm.pbf"
    assert refresh.fetch_if_changed(url, dest).changed
    assert refresh.fetch_if_changed(url, dest).changed
    assert refresh.commit(dest) and not refresh.commit(dest)
    assert not refresh.fetch_if_changed(url, dest).changed


def test_fetch_exit_status_says_whether_there_is_anything_to_ingest(
    extract: tuple[Extract, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = extract
    dest = str(tmp_path / "extract.osm.pbf")
    assert cli.main(["fetch", url, dest]) == 0
    assert cli.main(["commit", dest]) == 0
    assert cli.main(["fetch", url, dest]) == cli.UNCHANGED
    assert "unchanged" in capsys.readouterr().out
    unreachable = "http://127.0.0.1:9/region.osm.pbf"  # the discard port: refused
    assert cli.main(["fetch", unreachable, str(tmp_path / "other.osm.pbf")]) == 3
    assert "ingest-osm-refresh: error:" in capsys.readouterr().err


def test_changed_pois_are_grouped_into_grid_cells_most_changed_first() -> None:
    pois = [
        (60.1701, 24.9401, ["history"]),
        (60.1709, 24.9499, ["art"]),
        (60.1650, 24.9300, []),
        (60.1750, 24.9450, ["food"]),
        (60.1755, 24.9455, ["food", "shopping"]),
    ]
    areas = changed_areas(pois, grid=0.01, limit=10)
    assert areas[0] == ChangedArea(
        60.17, 24.94, 60.18, 24.95, ("art", "food", "history", "shopping"), 4
    )
    assert areas[1] == ChangedArea(60.16, 24.93, 60.17, 24.94, (), 1)
    assert len(changed_areas(pois, grid=0.005, limit=1)) == 1
    with pytest.raises(ValueError, match="grid"):
        changed_areas(pois, grid=0)
    with pytest.raises(ValueError, match="limit"):
        changed_areas(pois, limit=0)


def test_a_run_and_cell_always_give_the_same_job_id() -> None:
    area = ChangedArea(60.17, 24.94, 60.18, 24.95, ("art",), 3)
    run = "8f7c8d7e-1111-4a4a-9b9b-0123456789ab"
    first, second = refresh.job_for(run, area), refresh.job_for(run, area)
    assert first.job_id == second.job_id
    assert refresh.job_for("8f7c8d7e-1111-4a4a-9b9b-0123456789ac", area).job_id != first.job_id
    assert (first.bbox.min_lat, first.bbox.max_lng, first.themes) == (60.17, 24.95, ("art",))


def test_enrich_dry_run_lists_the_areas_and_publishes_nothing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def changed(database_url: str, geofence: str) -> tuple[str, list[Any]]:
        assert (database_url, geofence) == ("postgresql://db/x", "helsinki-centre")
        return "8f7c8d7e-1111-4a4a-9b9b-0123456789ab", [(60.171, 24.941, ["art"])]

    async def never(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a dry run connects to no bus")

    monkeypatch.setattr(refresh, "changed_pois", changed)
    monkeypatch.setattr(cli, "connect", never)
    argv = ["enrich", "--geofence-name", "helsinki-centre", "--dry-run"]
    assert cli.main(argv, env={"DATABASE_URL": "postgresql://db/x"}) == 0
    out = capsys.readouterr().out
    assert "60.17" in out and "art" in out


def test_enrich_needs_its_servers(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["enrich", "--geofence-name", "x"], env={}) == 2
    assert "DATABASE_URL" in capsys.readouterr().err
    assert cli.main(["enrich", "--geofence-name", "x", "--max-jobs", "0"], env={}) == 2


class FakeBus:
    def jetstream(self) -> str:
        return "js"

    async def drain(self) -> None:
        pass


def test_run_ingests_a_changed_extract_once_and_enriches_what_changed(
    extract: tuple[Extract, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, url = extract
    dest = tmp_path / "extract.osm.pbf"
    ingested: list[list[str]] = []
    published: list[Any] = []
    outcome = {"status": 1}

    def ingest_osm(argv: list[str]) -> int:
        ingested.append(argv)
        return outcome["status"]

    async def changed(database_url: str, geofence: str) -> tuple[str, list[Any]]:
        return "8f7c8d7e-1111-4a4a-9b9b-0123456789ab", [(60.171, 24.941, ["art"])]

    async def connect(url: str, name: str, **kwargs: Any) -> FakeBus:
        assert url == "nats://bus:4222"
        return FakeBus()

    async def publish_jobs(js: Any, jobs: list[Any]) -> int:
        published.extend(jobs)
        return len(jobs)

    monkeypatch.setattr(cli, "ingest_osm", ingest_osm)
    monkeypatch.setattr(cli, "connect", connect)
    monkeypatch.setattr(refresh, "changed_pois", changed)
    monkeypatch.setattr(refresh, "publish_jobs", publish_jobs)
    env = {"DATABASE_URL": "postgresql://db/x", "NATS_URL": "nats://bus:4222"}
    argv = ["run", url, str(dest), "--geofence-name", "hki", "--source-url", "https://src"]

    assert cli.main(argv, env) == 1  # the ingest failed: not committed, nothing published
    assert ingested == [[str(dest), "--geofence-name", "hki", "--source-url", "https://src"]]
    assert published == [] and not refresh.state_path(dest).exists()

    outcome["status"] = 0
    assert cli.main(argv, env) == 0  # fetched again, ingested, committed, enriched
    assert len(ingested) == 2 and refresh.state_path(dest).exists()
    assert [job.themes for job in published] == [("art",)]

    assert cli.main(argv, env) == 0  # unchanged: no ingest, no jobs
    assert len(ingested) == 2 and len(published) == 1
