"""The real Helsinki extract: named POIs, a connected walking network, a no-op rerun."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_ingest_contract import ingest, rows

from wildside_common.testing import servers

pytestmark = pytest.mark.contract

HELSINKI = Path(__file__).resolve().parents[3] / "data" / "helsinki-centre.osm.pbf"


@pytest.fixture(scope="module")
def helsinki() -> Iterator[tuple[str, str]]:
    if not HELSINKI.is_file():
        pytest.fail(f"{HELSINKI} is missing")
    with servers.scratch_database() as url:
        status, out, err = ingest(url, str(HELSINKI), "--geofence-name", "helsinki-centre")
        assert status == 0, err
        yield url, out


def largest_component_share(edges: list[tuple[int, int]]) -> tuple[int, float]:
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for source, target in edges:
        a, b = find(source), find(target)
        if a != b:
            parent[a] = b
    sizes = Counter(find(node) for node in list(parent))
    return len(parent), sizes.most_common(1)[0][1] / len(parent)


def test_counts_are_printed(helsinki: tuple[str, str]) -> None:
    _, out = helsinki
    assert out.startswith("ingest-osm succeeded [helsinki-centre]")
    assert "pois kept" in out and "street_edges kept" in out and "street_nodes kept" in out


def test_named_pois_with_themes(helsinki: tuple[str, str]) -> None:
    db, _ = helsinki
    ((named, themed, total),) = rows(
        db, "SELECT count(name), count(*) FILTER (WHERE themes <> '{}'), count(*) FROM pois"
    )
    assert total > 1000 and named > 500 and themed > 0.9 * total
    landmarks = {
        r[0]
        for r in rows(
            db, "SELECT name FROM pois WHERE name IN ('Ateneum', 'Kiasma', 'Havis Amanda')"
        )
    }
    assert landmarks == {"Ateneum", "Kiasma", "Havis Amanda"}
    themes = {r[0] for r in rows(db, "SELECT DISTINCT unnest(themes) FROM pois")}
    assert themes == {
        "history",
        "art",
        "nature",
        "food",
        "architecture",
        "culture",
        "shopping",
        "entertainment",
    }


def test_walking_network_is_connected(helsinki: tuple[str, str]) -> None:
    db, _ = helsinki
    edges = [(s, t) for s, t in rows(db, "SELECT source, target FROM street_edges")]
    nodes, share = largest_component_share(edges)
    assert nodes > 2000
    assert share > 0.9
    assert rows(db, "SELECT count(*) FROM street_nodes") == [(nodes,)]
    assert rows(
        db, "SELECT count(*) FROM street_edges WHERE highway IN ('motorway', 'motorway_link')"
    ) == [(0,)]


def test_second_run_is_a_no_op(helsinki: tuple[str, str]) -> None:
    db, _ = helsinki
    status, out, _ = ingest(db, str(HELSINKI), "--geofence-name", "helsinki-centre")
    assert status == 0
    assert "unchanged: nothing to do" in out
    for table in ("pois", "street_edges", "street_nodes"):
        assert f"{table} kept" in out
    assert ", inserted 0, updated 0" not in out  # the format is "(inserted 0, updated 0,"
    assert out.count("(inserted 0, updated 0,") == 3
    assert out.count("removed 0)") == 3


# What a rerun with nothing changed imports, in a fresh process as `ingest-osm` runs:
# the command's start-up is most of a small rerun's time (bench/ingest), and shapely
# with numpy under it is a third of that start-up.
_RERUN_IMPORTS = """
import runpy, sys
sys.argv = ["ingest-osm", *sys.argv[1:]]
try:
    runpy.run_module("wildside_ingest", run_name="__main__")
except SystemExit as stop:
    status = stop.code
print(status, sorted(m for m in ("shapely", "numpy") if m in sys.modules))
"""


def test_a_rerun_with_nothing_changed_loads_neither_shapely_nor_numpy(
    helsinki: tuple[str, str],
) -> None:
    db, _ = helsinki
    argv = [str(HELSINKI), "--geofence-name", "helsinki-centre", "--no-progress"]
    argv += ["--database-url", db]
    done = subprocess.run(
        [sys.executable, "-c", _RERUN_IMPORTS, *argv], capture_output=True, text=True, check=True
    )
    assert "unchanged: nothing to do" in done.stdout
    assert done.stdout.splitlines()[-1] == "0 []"
