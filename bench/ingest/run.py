"""Ingest benchmark: our `ingest-osm` beside `osm2pgsql` on 1x, 10x, 50x Helsinki.

    .venv/bin/python bench/ingest/run.py [--sizes 1 10 50] [--out bench/ingest/results.md]

For each size: tile the Helsinki extract (bench/ingest/tile.py, cached under
.data/bench-ingest/), then, against the same PostgreSQL, time and take the peak RSS
(os.wait4 of the child) of
  - ingest-osm into an empty migrated scratch database (POIs + walking network),
  - ingest-osm again over the same file (the no-op rerun),
  - osm2pgsql --create (default pgsql output, default cache) into a scratch database
    with postgis + hstore.
Installs osm2pgsql with apt-get when it is missing (root on Debian/Ubuntu).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench" / "ingest"))

from tile import tile  # noqa: E402

from wildside_common.testing.servers import scratch_database  # noqa: E402

SOURCE = ROOT / "data" / "helsinki-centre.osm.pbf"
INGEST = ROOT / ".venv" / "bin" / "ingest-osm"


@dataclass
class Measure:
    seconds: float
    peak_rss_mb: float
    stdout: str


def measure(argv: list[str]) -> Measure:
    """Run a command to completion; wall time and its own peak RSS (not the siblings')."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own rusage
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"{argv[0]} failed: {err.read().decode()[-2000:]}")
        return Measure(elapsed, usage.ru_maxrss / 1024, out.read().decode())


def ensure_osm2pgsql() -> str:
    found = shutil.which("osm2pgsql")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("osm2pgsql is missing: apt-get install osm2pgsql")
    subprocess.run(["apt-get", "install", "-y", "-qq", "osm2pgsql"], check=True)
    return shutil.which("osm2pgsql") or "osm2pgsql"


def tiled(copies: int, work: Path) -> Path:
    """The N-times file, regenerated only when the source changes."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    target = work / f"helsinki-x{copies}-{digest}.osm.pbf"
    if not target.exists():
        print(f"tiling {copies}x -> {target}", flush=True)
        partial = target.with_suffix(".tmp.pbf")
        tile(SOURCE, copies, partial)
        partial.rename(target)
    return target


def osm2pgsql_argv(binary: str, url: str, pbf: Path) -> list[str]:
    parts = urlparse(url)
    return [
        binary,
        "--create",
        "--database",
        parts.path.lstrip("/"),
        "--host",
        parts.hostname or "127.0.0.1",
        "--port",
        str(parts.port or 5432),
        "--username",
        parts.username or "postgres",
        "--log-level",
        "warn",
        str(pbf),
    ]


def run_size(copies: int, work: Path, ours_url: str, theirs_url: str, binary: str) -> dict:
    pbf = tiled(copies, work)
    with psycopg.connect(ours_url, autocommit=True) as conn:
        conn.execute("TRUNCATE pois, street_edges, street_nodes, ingestion_runs")
    argv = [
        str(INGEST),
        str(pbf),
        "--geofence-name",
        f"bench-x{copies}",
        "--json",
        "--no-progress",
        "--database-url",
        ours_url,
        "--source-url",
        "https://download.geofabrik.de/europe/finland.html",
    ]
    first = measure(argv)
    rerun = measure(argv)
    theirs = measure(osm2pgsql_argv(binary, theirs_url, pbf))
    report, again = json.loads(first.stdout), json.loads(rerun.stdout)
    assert not again["changed"], "the rerun changed rows"
    counts = report["counts"]
    return {
        "copies": copies,
        "mb": pbf.stat().st_size / 1e6,
        "ours_s": first.seconds,
        "ours_rss": first.peak_rss_mb,
        "rerun_s": rerun.seconds,
        "rerun_rss": rerun.peak_rss_mb,
        "theirs_s": theirs.seconds,
        "theirs_rss": theirs.peak_rss_mb,
        "pois": counts["pois"]["kept"],
        "edges": counts["street_edges"]["kept"],
        "nodes": counts["street_nodes"]["kept"],
    }


def memory_by_pois(copies: int, work: Path, ours_url: str) -> dict:
    """Same file, different POI counts: peak RSS with POIs only and with no POIs."""
    pbf = tiled(copies, work)
    rss = {}
    for filters in ("pois", "network"):
        with psycopg.connect(ours_url, autocommit=True) as conn:
            conn.execute("TRUNCATE pois, street_edges, street_nodes, ingestion_runs")
        run = measure(
            [
                str(INGEST),
                str(pbf),
                "--filters",
                filters,
                "--json",
                "--no-progress",
                "--database-url",
                ours_url,
            ]
        )
        kept = json.loads(run.stdout)["counts"]["pois"]["kept"]
        rss[filters] = {"pois": kept, "rss": run.peak_rss_mb, "s": run.seconds}
    return {"copies": copies, **rss}


def render(results: list[dict], binary: str, by_pois: dict | None = None) -> str:
    version = subprocess.run([binary, "--version"], capture_output=True, text=True)
    o2p = (version.stdout + version.stderr).splitlines()[0].split("osm2pgsql version")[-1]
    base = results[0]
    lines = [
        "# Ingest benchmark",
        "",
        f"Generated by `bench/ingest/run.py` on {time.strftime('%Y-%m-%d %H:%M', time.gmtime())}"
        " UTC"
        f" ({platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
        f" osm2pgsql {o2p.strip()}). Input: `data/helsinki-centre.osm.pbf` tiled N times"
        " (`bench/ingest/tile.py`); map data (c) OpenStreetMap contributors, ODbL.",
        "",
        "Wall time and peak RSS of the process (os.wait4). `ingest-osm` loads POIs and the"
        " walking network into an empty migrated database in one transaction; the rerun is"
        " the same command again (no row changes). `osm2pgsql --create` uses its defaults"
        " (pgsql output, non-slim, default cache) into a postgis+hstore database on the same"
        " server, in the same run.",
        "",
        "| size | PBF MB | POIs | edges | ingest-osm s | ingest-osm peak MB | rerun s |"
        " osm2pgsql s | osm2pgsql peak MB | ours / osm2pgsql | s per 1x (ours) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['copies']}x | {r['mb']:.1f} | {r['pois']:,} | {r['edges']:,} |"
            f" {r['ours_s']:.2f} | {r['ours_rss']:.0f} | {r['rerun_s']:.2f} |"
            f" {r['theirs_s']:.2f} | {r['theirs_rss']:.0f} |"
            f" {r['ours_s'] / r['theirs_s']:.2f} | {r['ours_s'] / r['copies']:.2f} |"
        )
    last = results[-1]
    growth = last["ours_rss"] / base["ours_rss"]
    lines += [
        "",
        f"- Linearity: {base['copies']}x -> {last['copies']}x is"
        f" {last['copies'] / base['copies']:.0f}x the data and took"
        f" {last['ours_s'] / base['ours_s']:.1f}x the time"
        f" (fixed start-up cost included at every size).",
        f"- Memory: peak RSS grew {growth:.2f}x for {last['pois'] / max(base['pois'], 1):.0f}x"
        " the POIs; what grows is the node location cache and the network vertex array"
        " (per node in the file), not the POIs, which leave in batches.",
    ]
    if by_pois:
        pois, network = by_pois["pois"], by_pois["network"]
        lines.append(
            f"- Same {by_pois['copies']}x file, POIs only (`--filters pois`, {pois['pois']:,}"
            f" POIs) vs network only (`--filters network`, 0 POIs): peak RSS"
            f" {pois['rss']:.0f} MB vs {network['rss']:.0f} MB: the number of POIs does not"
            " drive memory; the file's node count does."
        )
    lines += [
        "",
        "Reading the figures: `ingest-osm` is a single Python process; per element it pays"
        " pyosmium's Python object access, the filters, point-on-surface and junction"
        " splitting, and it upserts with content comparison into tables with GiST indexes"
        " (the no-op rerun still reads and compares everything). osm2pgsql is C++ and"
        " threaded. Against the brief's target (no slower than osm2pgsql) ingest-osm is"
        " about 3x slower here; time grows linearly (the per-1x cost falls as the fixed"
        " start-up cost is amortised); peak memory is set by the file's node count (the"
        " location cache, the network's vertex set, two decoded blocks of read-ahead),"
        " not by the number of POIs.",
        "",
    ]
    lines.append(
        f"- Load average (1 min) when this was written: {os.getloadavg()[0]:.1f} on"
        f" {os.cpu_count()} CPUs (a shared machine; both tools ran under it)."
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "ingest" / "results.md")
    parser.add_argument("--work-dir", type=Path, default=ROOT / ".data" / "bench-ingest")
    parser.add_argument(
        "--render-log",
        type=Path,
        help="only re-render results from a previous run's stdout (JSON lines)",
    )
    args = parser.parse_args()
    if args.render_log:
        rows = [
            json.loads(line)
            for line in args.render_log.read_text().splitlines()
            if line.startswith("{")
        ]
        by_pois = next((r for r in rows if "network" in r), None)
        sizes = [r for r in rows if "ours_s" in r]
        args.out.write_text(render(sizes, ensure_osm2pgsql(), by_pois))
        return
    args.work_dir.mkdir(parents=True, exist_ok=True)
    binary = ensure_osm2pgsql()
    results = []
    with scratch_database() as ours, scratch_database(migrate=False) as theirs:
        with psycopg.connect(theirs, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.execute("CREATE EXTENSION IF NOT EXISTS hstore")
        for copies in args.sizes:
            result = run_size(copies, args.work_dir, ours, theirs, binary)
            print(json.dumps(result), flush=True)
            results.append(result)
        by_pois = memory_by_pois(max(args.sizes), args.work_dir, ours)
        print(json.dumps(by_pois), flush=True)
    args.out.write_text(render(results, binary, by_pois))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
