"""The engine on the Helsinki demo data, through the gateway: a route request returns
real named places along real streets, within the walk's budget.

The module ingests data/helsinki-centre.osm.pbf ((c) OpenStreetMap contributors, ODbL)
into the session's e2e database with `ingest-osm`, then drives gateway + router.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e import stack
from wildside_common.testing.demo_data import load_demo_extract

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SENATE_SQUARE = {"lat": 60.16952, "lng": 24.95224}
RAILWAY_SQUARE = {"lat": 60.17107, "lng": 24.94328}
# Every vertex between the start's and the end's snap lies on a street of the network.
OFF_NETWORK = """
SELECT count(*) FROM unnest(%s::float8[], %s::float8[]) AS v(lng, lat)
 WHERE NOT EXISTS (SELECT 1 FROM street_edges e WHERE ST_DWithin(e.geom,
        ST_SetSRID(ST_MakePoint(v.lng, v.lat), 4326)::geography, 1.0))
"""


@pytest.fixture(scope="module")
def stack_env(stack_env: dict[str, str]) -> dict[str, str]:
    """The router with a 1 s solver limit (the default before issue 19; 0.1 s now): the
    proofs asserted below need CP-SAT to get time even on a busy machine."""
    return {**stack_env, "ROUTER_SOLVER_TIME_LIMIT_SECONDS": "1"}


@pytest.fixture(scope="module")
def helsinki(database_url: str) -> Iterator[str]:
    yield load_demo_extract(database_url)


def route_for(gateway: stack.Service, body: dict[str, Any]) -> dict[str, Any]:
    base = gateway.health_url.removesuffix("/health/ready")
    headers = stack.auth(gateway)
    response = httpx.post(f"{base}/api/v1/routes", json=body, timeout=10, headers=headers)
    assert response.status_code == 202, response.text
    url = f"{base}/api/v1/routes/{response.json()['request_id']}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = httpx.get(url, timeout=5, headers=headers)
        if done.status_code == 200:
            assert done.json()["status"] == "succeeded", done.text
            return dict(done.json()["route"])
        time.sleep(0.1)
    raise AssertionError("the route did not finish in 30 s")


def check_on_streets(database_url: str, route: dict[str, Any]) -> None:
    inner = route["geometry"]["coordinates"][2:-2]  # start -> its snap ... snap -> end
    assert len(inner) > 10
    with psycopg.connect(database_url) as conn:
        row = conn.execute(OFF_NETWORK, ([p[0] for p in inner], [p[1] for p in inner]))
        off = row.fetchone()
    assert off is not None
    # POIs are vertices of the line too (they lie off the street, by their snap distance).
    assert off[0] <= 2 * (len(route["points"]) - 2)


def test_a_round_trip_visits_named_places_along_real_streets(
    helsinki: str, gateway: stack.Service, router: stack.Service
) -> None:
    body = {"start": SENATE_SQUARE, "duration_minutes": 60, "preferences": ["history", "art"],
            "seed": 42}  # fmt: skip
    route = route_for(gateway, body)
    visits = route["points"][1:-1]
    assert len(visits) >= 3, route["points"]
    assert all(p["name"] and p["osm"].split("/")[0] in ("node", "way", "relation")
               for p in visits)  # fmt: skip
    assert len({p["osm"] for p in visits}) == len(visits)
    matching = sum(bool({"history", "art"} & set(p["themes"])) for p in visits)
    assert matching >= 2 and matching * 2 >= len(visits)
    assert route["straight_line"] is False and route["engine"] == "engine-1"
    assert route["duration_minutes"] <= 60
    dwell = sum(p["dwell_minutes"] for p in visits)
    assert route["distance_m"] / 80 + dwell == pytest.approx(route["duration_minutes"], abs=0.2)
    assert route["distance_m"] > 500
    first, last = route["geometry"]["coordinates"][0], route["geometry"]["coordinates"][-1]
    assert first == last == [SENATE_SQUARE["lng"], SENATE_SQUARE["lat"]]
    assert "history" in route["themes_matched"] and "OpenStreetMap" in route["attribution"]
    gap = route["optimality_gap"]
    if route["pois_considered"] + 1 > 30:  # places + start above ROUTER_CPSAT_MAX_NODES
        assert route["proven_optimal"] is False and gap is None  # no CP-SAT, no bound
    else:  # a bound from CP-SAT whether or not it proved the walk
        assert isinstance(route["proven_optimal"], bool) and 0.0 <= gap < 1.0
    check_on_streets(helsinki, route)


def test_a_short_walk_comes_back_proven_optimal(
    helsinki: str, gateway: stack.Service, router: stack.Service
) -> None:
    # CP-SAT proves every 30-minute Helsinki walk of the engine bench within a 1 s limit.
    body = {"start": SENATE_SQUARE, "duration_minutes": 30, "preferences": ["history"],
            "seed": 7}  # fmt: skip
    route = route_for(gateway, body)
    assert route["proven_optimal"] is True and route["optimality_gap"] == 0.0
    assert len(route["points"]) >= 3 and route["duration_minutes"] <= 30


def test_a_one_way_walk_ends_at_the_asked_place(
    helsinki: str, gateway: stack.Service, router: stack.Service
) -> None:
    body = {"start": RAILWAY_SQUARE, "end": SENATE_SQUARE, "duration_minutes": 45,
            "preferences": ["architecture", "culture"]}  # fmt: skip
    route = route_for(gateway, body)
    assert route["points"][-1] == {**SENATE_SQUARE, "name": "End"}
    assert route["geometry"]["coordinates"][-1] == [SENATE_SQUARE["lng"], SENATE_SQUARE["lat"]]
    assert len(route["points"]) >= 3 and route["duration_minutes"] <= 45
    assert route["straight_line"] is False
    check_on_streets(helsinki, route)
