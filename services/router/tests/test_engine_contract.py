"""The engine's adapters against real PostgreSQL/PostGIS and a real nats-server: the
candidate query, the network load and refresh, a whole plan, and the sparse area's
EnrichmentJob on JetStream."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator

import asyncpg
import nats
import pytest
from engine_fakes import offset, route_job

from wildside_common.bus.topology import ENRICHMENT_JOB_SUBJECT, ensure_streams
from wildside_common.codec import decode
from wildside_common.messages import BoundingBox, EnrichmentJob, GeoPoint
from wildside_common.pg import create_pool
from wildside_common.route import route_to_json
from wildside_common.themes import load_theme_rules
from wildside_router.adapters.outbound.candidates_pg import PostgresCandidateSource
from wildside_router.adapters.outbound.enrichment_publisher import NatsEnrichmentRequester
from wildside_router.adapters.outbound.network_pg import NetworkCache, PostgresNetworkSource
from wildside_router.domain.candidates import reach_area
from wildside_router.domain.planner import PlannerSettings
from wildside_router.planning import EngineOptions, PlanRoute
from wildside_router.solver.hybrid import HybridSolver

pytestmark = pytest.mark.contract
SIZE, SPACING = 6, 100.0


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, 2)
    yield pool
    await pool.close()


@pytest.fixture
async def world(pool: asyncpg.Pool) -> AsyncIterator[tuple[GeoPoint, int]]:
    """A 6 x 6 street grid (100 m) with named places on its nodes, somewhere nobody else
    puts data (the session's database is shared); ids are unique to this test."""
    origin = GeoPoint(-45 + random.random(), 168 + random.random())
    base = random.randint(10**12, 10**13)
    nodes, edges = [], []
    for r in range(SIZE):
        for c in range(SIZE):
            p = offset(r * SPACING, c * SPACING, origin)
            nodes.append((base + r * SIZE + c, p.lng, p.lat))
    for r in range(SIZE):
        for c in range(SIZE):
            here = base + r * SIZE + c
            for there in ([here + 1] if c + 1 < SIZE else []) + (
                [here + SIZE] if r + 1 < SIZE else []
            ):
                edges.append((here, there))
    await pool.executemany(
        "INSERT INTO street_nodes (id, location) "
        "VALUES ($1, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography)",
        nodes,
    )
    await pool.execute(
        """INSERT INTO street_edges (way_id, seq, source, target, length_m, highway, geom)
           SELECT $1 + row_number() OVER (), 0, e.s, e.t,
                  ST_Distance(a.location, b.location), 'footway',
                  ST_MakeLine(a.location::geometry, b.location::geometry)::geography
             FROM unnest($2::bigint[], $3::bigint[]) AS e(s, t)
             JOIN street_nodes a ON a.id = e.s JOIN street_nodes b ON b.id = e.t""",
        base,
        [e[0] for e in edges],
        [e[1] for e in edges],
    )
    places = [
        (base + 1, 1, 1, "Old Gate", ["history"], 0.8, {"historic": "city_gate"}),
        (base + 2, 2, 3, "Town Museum", ["culture", "history"], 0.9, {"tourism": "museum"}),
        (base + 3, 4, 2, "Bronze Horse", ["art"], 0.6, {"tourism": "artwork"}),
        (base + 4, 3, 4, "Corner Cafe", ["food"], 0.3, {"amenity": "cafe"}),
        (base + 5, 5, 5, None, ["nature"], 0.0, {"natural": "tree"}),
        (base + 6, 40, 40, "Far Away Tower", ["history"], 0.9, {"historic": "tower"}),
    ]
    await pool.executemany(
        """INSERT INTO pois (element_type, id, location, name, tags, themes, popularity, source)
           VALUES ('node', $1, ST_SetSRID(ST_MakePoint($2, $3), 4326)::geography, $4, $5,
                   $6, $7, 'osm_ingest')""",
        [(i, offset(r * SPACING, c * SPACING, origin).lng, offset(r * SPACING, c * SPACING,
          origin).lat, name, tags, themes, pop) for i, r, c, name, themes, pop, tags in places],
    )  # fmt: skip
    yield origin, base
    await pool.execute("DELETE FROM pois WHERE id BETWEEN $1 AND $1 + 100", base)
    await pool.execute("DELETE FROM street_nodes WHERE id BETWEEN $1 AND $1 + 100", base)


async def test_candidates_come_from_the_disc_best_first(pool, world) -> None:
    origin, base = world
    source = PostgresCandidateSource(pool)
    found = await source.within(reach_area(origin, None, 2000), ["history"], 10)
    ids = [c.osm_id - base for c in found]
    assert set(ids) == {1, 2, 3, 4, 5}  # not the tower 5.6 km away
    assert ids[:2] == [2, 1]  # the wanted theme first, the more popular first
    museum = found[0]
    assert museum.name == "Town Museum" and museum.themes == ("culture", "history")
    assert museum.category == "tourism=museum" and museum.osm == f"node/{base + 2}"
    assert len(await source.within(reach_area(origin, None, 2000), [], 2)) == 2


async def test_a_one_way_walk_asks_for_the_ellipse(pool, world) -> None:
    origin, base = world
    end = offset(0, 500, origin)
    found = await PostgresCandidateSource(pool).within(reach_area(origin, end, 600), [], 10)
    # Old Gate (100 N, 100 E): 141 + 412 = 553 m, in; the museum (200 N, 300 E): 361 + 283
    # = 644 m, out, though it lies within the 300 m prefilter disc around the midpoint.
    assert {c.osm_id - base for c in found} == {1}


async def test_the_network_loads_and_reloads_when_it_changes(pool, world) -> None:
    origin, base = world
    source = PostgresNetworkSource(pool)
    cache = NetworkCache(source, refresh=0.0)
    network = await cache.current()
    assert network is not None
    node, distance = network.snap(*(lambda p: (p.lat, p.lng))(offset(205, 290, origin)))
    assert network.node_ids[node] == base + 2 * SIZE + 3 and distance < 12
    corner = int((network.node_ids == base).nonzero()[0][0])
    far = int((network.node_ids == base + SIZE * SIZE - 1).nonzero()[0][0])
    assert network.distances([corner], 5000)[0, far] == pytest.approx(1000, rel=0.01)
    before = await source.fingerprint()
    await pool.execute("DELETE FROM street_nodes WHERE id = $1", base + SIZE * SIZE - 1)
    assert await source.fingerprint() != before
    assert (await cache.current()) is not network


async def test_a_walk_planned_from_the_database_visits_named_places_on_streets(pool, world) -> None:
    origin, base = world
    planner = PlanRoute(
        PostgresCandidateSource(pool),
        NetworkCache(PostgresNetworkSource(pool), 0.0),
        HybridSolver(),
        load_theme_rules(),
        EngineOptions(PlannerSettings(time_limit=0.3), sparse_threshold=1),
    )
    job = route_job(60, ("history", "art"), start=origin)
    route = route_to_json(await planner.plan(job, lambda _: None))
    names = [p["name"] for p in route["points"][1:-1]]
    assert {"Old Gate", "Town Museum", "Bronze Horse"} <= set(names)
    assert route["straight_line"] is False and route["duration_minutes"] <= 60
    assert route["themes_matched"] == ["art", "history"]
    # Every vertex of the line (but the first and last) is a street node of the grid.
    vertices = [(lng, lat) for _, lng, lat in _grid(origin, base)]
    inner = route["geometry"]["coordinates"][1:-1]
    assert inner and all(
        min(abs(x - vx) + abs(y - vy) for vx, vy in vertices) < 1e-6 for x, y in inner
    )


def _grid(origin: GeoPoint, base: int) -> list[tuple[int, float, float]]:
    return [(base + r * SIZE + c, offset(r * SPACING, c * SPACING, origin).lng,
             offset(r * SPACING, c * SPACING, origin).lat)
            for r in range(SIZE) for c in range(SIZE)]  # fmt: skip


async def test_a_sparse_area_publishes_one_enrichment_job(pool, world, nats_url) -> None:
    origin, _ = world
    client = await nats.connect(nats_url)
    try:
        js = client.jetstream()
        await ensure_streams(js)
        sub = await js.subscribe(ENRICHMENT_JOB_SUBJECT, ordered_consumer=True)
        requester = NatsEnrichmentRequester(js)
        planner = PlanRoute(
            PostgresCandidateSource(pool),
            NetworkCache(PostgresNetworkSource(pool), 0.0),
            HybridSolver(),
            load_theme_rules(),
            EngineOptions(PlannerSettings(time_limit=0.2), sparse_threshold=5),
            requester,
        )
        jobs = [route_job(30, ("history", "food"), start=origin) for _ in range(2)]
        routes = [await planner.plan(job, lambda _: None) for job in jobs]
        assert all(r.sparse_area and len(r.stops) > 2 for r in routes)
        message = await sub.next_msg(timeout=5)
        job = decode(EnrichmentJob, message.data)
        assert job.themes == ("food", "history") and job.request_id == jobs[0].request_id
        assert _inside(origin, job.bbox) and job.reason and "3 matching" in job.reason
        # The second request for the same area and themes collapsed into the first.
        with pytest.raises(nats.errors.TimeoutError):
            await sub.next_msg(timeout=0.5)
        assert requester.published == 2
    finally:
        await client.close()


def _inside(point: GeoPoint, box: BoundingBox) -> bool:
    return box.min_lat < point.lat < box.max_lat and box.min_lng < point.lng < box.max_lng
