"""Planning walks on hand-made networks: round trips, one-way walks, budgets, seeds,
the straight-line fallback, exactness on tiny instances, and the engine's sparse areas."""

from __future__ import annotations

import asyncio
import itertools
import math

import numpy as np
import pytest
from engine_fakes import (
    ORIGIN,
    ExactSolver,
    FakeCandidates,
    FakeEnrichment,
    FakeNetworkSource,
    grid_network,
    offset,
    place,
    route_job,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from wildside_common.errors import InvalidInput
from wildside_common.route import route_to_json
from wildside_common.testing.simulated_work import SimulatedWork
from wildside_common.themes import load_theme_rules
from wildside_router.adapters.outbound.network_pg import NetworkCache
from wildside_router.adapters.outbound.plan_metrics import PrometheusPlanMetrics
from wildside_router.domain.geometry import haversine_m
from wildside_router.domain.network import StreetNetwork
from wildside_router.domain.planner import PlannerSettings, plan_walk
from wildside_router.domain.scoring import InterestProfile, select_candidates
from wildside_router.planning import EngineOptions, PlanRoute
from wildside_router.solver.hybrid import HybridSolver
from wildside_router.solver.local_search import LocalSearchSolver

pytestmark = pytest.mark.unit
RULES = load_theme_rules()
SETTINGS = PlannerSettings(walking_speed_kmh=6.0, time_limit=0.2)  # 100 m per minute


def proving() -> HybridSolver:
    """A hybrid whose local search plans little work (a slow nominal machine), so CP-SAT
    gets most of a long limit even on a busy machine, where proofs are asserted."""
    return HybridSolver(work_per_second=4e6)


def plan(job, network, places, solver=None, settings=SETTINGS):  # type: ignore[no-untyped-def]
    """The route as the API sends it (these tests hold the wire format as clients see it)."""
    profile = InterestProfile.of(job.themes, RULES.theme_ids)
    scored = select_candidates(places, profile, RULES, 30)
    return route_to_json(
        plan_walk(job, network, scored, profile, solver or HybridSolver(), settings)
    )


def line_length(coords: list[list[float]]) -> float:
    return sum(haversine_m(a[1], a[0], b[1], b[0]) for a, b in itertools.pairwise(coords))


def grid_places() -> list:  # type: ignore[type-arg]
    return [place(i, offset(100 * (i // 5), 100 * (i % 5)), name=f"P{i}",
                  tags={"historic": f"k{i}"}) for i in range(1, 25)]  # fmt: skip


def test_a_round_trip_walks_the_streets_and_comes_back() -> None:
    net = grid_network()
    route = plan(route_job(30), net, grid_places())
    points = route["points"]
    assert points[0] == {"lat": ORIGIN.lat, "lng": ORIGIN.lng, "name": "Start"}
    assert (points[-1]["lat"], points[-1]["lng"]) == (ORIGIN.lat, ORIGIN.lng)
    visits = points[1:-1]
    assert visits and all(p["osm"].startswith("node/") and p["themes"] for p in visits)
    assert len({p["osm"] for p in visits}) == len(visits)
    assert route["duration_minutes"] <= 30 and not route["straight_line"]
    # The places sit on grid nodes: the walked line is made of 100 m street segments.
    coords = route["geometry"]["coordinates"]
    assert route["distance_m"] == pytest.approx(line_length(coords), rel=0.01)
    assert route["distance_m"] % 100 == pytest.approx(0, abs=1)
    dwell = sum(p["dwell_minutes"] for p in visits)
    assert route["duration_minutes"] == pytest.approx(route["distance_m"] / 100 + dwell, abs=0.1)
    assert route["themes_matched"] == ["history"] and route["engine"]
    assert "OpenStreetMap" in route["attribution"]


def test_each_place_says_when_the_walker_arrives_and_the_route_its_score() -> None:
    route = plan(route_job(30), grid_network(), grid_places())
    cell = {f"P{i}": divmod(i, 5) for i in range(1, 25)}  # (row, column) of 100 m
    here, clock = (0, 0), 0.0
    visits = route["points"][1:-1]
    assert len(visits) >= 2
    for visit in visits:  # one minute per 100 m street segment, then the dwell
        there = cell[visit["name"]]
        clock += abs(there[0] - here[0]) + abs(there[1] - here[1])
        assert visit["arrival_minutes"] == pytest.approx(clock, abs=0.11)
        clock += visit["dwell_minutes"]
        here = there
    assert clock + here[0] + here[1] == pytest.approx(route["duration_minutes"], abs=0.2)
    assert route["score"] == pytest.approx(_score(route, grid_places()), abs=1e-3)
    assert route["score"] > 0


def test_the_route_says_whether_the_solver_proved_it_optimal() -> None:
    # A long limit: the proof, not the wall clock, ends the solve even on a busy machine.
    settings = PlannerSettings(walking_speed_kmh=6.0, time_limit=3.0)
    proven = plan(route_job(45), grid_network(), grid_places(), proving(), settings)
    assert proven["proven_optimal"] is True and proven["optimality_gap"] == 0.0
    local = plan(route_job(45), grid_network(), grid_places(), LocalSearchSolver(), settings)
    assert local["proven_optimal"] is False and local["optimality_gap"] is None
    assert _score(local, grid_places()) <= _score(proven, grid_places()) + 1e-9


def test_a_one_way_walk_ends_where_asked() -> None:
    end = offset(400, 400)
    route = plan(route_job(40, end=end), grid_network(), grid_places())
    assert route["points"][-1] == {"lat": end.lat, "lng": end.lng, "name": "End"}
    assert route["geometry"]["coordinates"][-1] == pytest.approx([end.lng, end.lat])
    assert route["distance_m"] >= 800 and route["duration_minutes"] <= 40


def test_an_end_out_of_reach_is_refused() -> None:
    with pytest.raises(InvalidInput):
        plan(route_job(5, end=offset(400, 400)), grid_network(), grid_places())


def test_the_same_seed_gives_the_same_route() -> None:
    net, places = grid_network(6), grid_places()
    first = plan(route_job(45, seed=11), net, places)
    again = plan(route_job(45, seed=11), net, places)
    assert first["points"] == again["points"]
    assert first["geometry"] == again["geometry"]


def test_without_a_network_near_the_start_the_walk_is_straight_and_flagged() -> None:
    far = offset(20_000, 0)
    for network in (None, grid_network()):
        job = route_job(30, start=far)
        route = plan(job, network, [place(1, offset(20_300, 0), name="Lonely")])
        assert route["straight_line"] is True
        assert [p["name"] for p in route["points"]] == ["Start", "Lonely", "Start"]
        assert route["distance_m"] == pytest.approx(600 * 1.3, rel=0.01)
        assert len(route["geometry"]["coordinates"]) == 3


def test_places_off_the_network_or_in_another_component_are_not_visited() -> None:
    net = grid_network(3)
    island = StreetNetwork.build(
        np.concatenate([net.node_ids, [999]]), np.concatenate([net.lat, [offset(250, 250).lat]]),
        np.concatenate([net.lng, [offset(250, 250).lng]]),
        (np.array([1, 2]), np.array([2, 3]), np.array([100.0, 100.0])),
    )  # fmt: skip
    places = [place(1, offset(0, 100), name="Near"), place(2, offset(250, 250), name="Island"),
              place(3, offset(0, 3000), name="Too far from any street")]  # fmt: skip
    route = plan(route_job(60), island, places)
    assert [p["name"] for p in route["points"][1:-1]] == ["Near"]


def test_the_heuristic_matches_the_exact_optimum_on_tiny_walks() -> None:
    net = grid_network(4)
    rng = np.random.default_rng(3)
    for _ in range(5):
        places = [place(i, offset(100 * rng.integers(0, 4), 100 * rng.integers(0, 4)),
                        name=f"P{i}", popularity=float(rng.random()),
                        tags={"historic": f"k{i}"}) for i in range(1, 9)]  # fmt: skip
        job = route_job(int(rng.integers(20, 60)))
        exact = plan(job, net, places, ExactSolver())
        heuristic = plan(job, net, places)
        assert _score(heuristic, places) == pytest.approx(_score(exact, places), rel=1e-6)


def _score(route, places) -> float:  # type: ignore[no-untyped-def]
    profile = InterestProfile.of(("history",), RULES.theme_ids)
    scores = {s.candidate.osm: s.score for s in select_candidates(places, profile, RULES, 30)}
    return sum(scores[p["osm"]] for p in route["points"][1:-1])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    size=st.integers(2, 5),
    spacing=st.floats(30, 200),
    minutes=st.integers(1, 60),
    cells=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1)), max_size=10),
    one_way=st.booleans(),
    seed=st.integers(0, 2**31),
)
def test_the_budget_is_never_exceeded(size, spacing, minutes, cells, one_way, seed) -> None:  # type: ignore[no-untyped-def]
    net = grid_network(size, spacing)
    span = spacing * (size - 1)
    places = [place(i + 1, offset(y * span, x * span), name=f"P{i}", tags={"historic": str(i)})
              for i, (x, y) in enumerate(cells)]  # fmt: skip
    end = offset(span / 2, span / 2) if one_way else None
    walkable = SETTINGS.walk_metres(minutes)
    job = route_job(minutes, end=end, seed=seed)
    try:
        route = plan(job, net, places, settings=PlannerSettings(6.0, 0.05))
    except InvalidInput:
        # Refused only when the end alone is out of reach along the network as the planner
        # snaps it (an end equidistant from several nodes may snap to the far one).
        assert end is not None
        start_node, start_snap = net.snap(ORIGIN.lat, ORIGIN.lng)
        end_node, end_snap = net.snap(end.lat, end.lng)
        path = net.distances([start_node], np.inf)[0, end_node]
        assert start_snap + path + end_snap > walkable * 0.999
        return
    assert route["duration_minutes"] <= minutes
    walk = route["distance_m"] / 100
    dwell = sum(p["dwell_minutes"] for p in route["points"][1:-1])
    assert walk + dwell <= minutes + 0.1
    assert route["distance_m"] == pytest.approx(line_length(route["geometry"]["coordinates"]),
                                                rel=0.01, abs=1)  # fmt: skip
    osm = [p["osm"] for p in route["points"][1:-1]]
    assert len(set(osm)) == len(osm)


def engine(places, network, threshold=3, enrichment=None, settings=SETTINGS, solver=None):  # type: ignore[no-untyped-def]
    source = FakeNetworkSource(network)
    options = EngineOptions(settings, max_candidates=20, sparse_threshold=threshold)
    solver = solver or HybridSolver()
    planner = PlanRoute(FakeCandidates(places), NetworkCache(source, 60.0), solver,
                        RULES, options, enrichment, PrometheusPlanMetrics())  # fmt: skip
    return planner, source


async def test_a_sparse_area_asks_for_enrichment_and_still_answers() -> None:
    enrichment = FakeEnrichment()
    planner, _ = engine([place(1, offset(100, 100), name="Only")], grid_network(), 3, enrichment)
    job = route_job(30, themes=("history", "art"))
    route = route_to_json(await planner.plan(job, lambda _: None))
    assert [p["name"] for p in route["points"][1:-1]] == ["Only"] and route["sparse_area"]
    ((bbox, themes, request_id, found),) = enrichment.requests
    assert themes == ("history", "art") and request_id == job.request_id and found == 1
    assert bbox.min_lat < ORIGIN.lat < bbox.max_lat and bbox.min_lng < ORIGIN.lng < bbox.max_lng
    # 30 minutes at 100 m/min: a disc of 1.5 km radius.
    assert (bbox.max_lat - bbox.min_lat) * 111_195 == pytest.approx(3000, rel=0.01)


async def test_a_rich_area_asks_for_nothing_and_the_network_is_loaded_once() -> None:
    enrichment = FakeEnrichment()
    planner, source = engine(grid_places(), grid_network(), 3, enrichment)
    progress: list[float] = []
    for _ in range(2):
        route = route_to_json(await planner.plan(route_job(20), progress.append))
    assert enrichment.requests == [] and route["sparse_area"] is False
    assert source.loads == 1 and progress and max(progress) == 1.0
    assert route["pois_considered"] > 0


async def test_the_engine_counts_routes_proven_optimal() -> None:
    settings = PlannerSettings(6.0, 3.0)
    planner, _ = engine(grid_places(), grid_network(), settings=settings, solver=proving())
    labels = {"proven_optimal": "true"}
    before = REGISTRY.get_sample_value("wildside_engine_solves_total", labels) or 0.0
    route = route_to_json(await planner.plan(route_job(20), lambda _: None))
    after = REGISTRY.get_sample_value("wildside_engine_solves_total", labels)
    assert route["proven_optimal"] is True and after == before + 1


class RecordedMetrics:
    def __init__(self) -> None:
        self.seen: list[tuple[int, bool]] = []

    def observe(self, pois_considered: int, proven_optimal: bool) -> None:
        self.seen.append((pois_considered, proven_optimal))


async def test_the_use_case_reports_each_plan_through_its_metrics_port() -> None:
    metrics = RecordedMetrics()
    options = EngineOptions(PlannerSettings(6.0, 3.0), max_candidates=20, sparse_threshold=3)
    network = NetworkCache(FakeNetworkSource(grid_network()), 60.0)
    planner = PlanRoute(FakeCandidates(grid_places()), network, proving(), RULES, options,
                        metrics=metrics)  # fmt: skip
    route = await planner.plan(route_job(20), lambda _: None)
    assert metrics.seen == [(route.pois_considered, True)] and route.pois_considered > 0


async def test_the_distance_cache_gauge_reads_the_current_networks_rows() -> None:
    options = EngineOptions(PlannerSettings(6.0, 3.0), max_candidates=20, sparse_threshold=3)
    network = NetworkCache(FakeNetworkSource(grid_network()), 60.0)
    assert network.cached_bytes() == 0.0  # nothing loaded yet
    planner = PlanRoute(FakeCandidates(grid_places()), network, proving(), RULES, options)
    await planner.plan(route_job(20), lambda _: None)
    kept = (await network.current()).rows  # type: ignore[union-attr]
    assert len(kept) > 0 and network.cached_bytes() == kept.nbytes
    assert REGISTRY.get_sample_value("wildside_router_distance_cache_bytes") == kept.nbytes


async def test_the_network_is_reloaded_when_its_fingerprint_changes() -> None:
    now = [0.0]
    source = FakeNetworkSource(grid_network())
    cache = NetworkCache(source, refresh=10.0, clock=lambda: now[0])
    first = await cache.current()
    source.version, source.network = "v2", grid_network(3)
    assert await cache.current() is first  # not checked again before `refresh`
    now[0] = 11.0
    assert (await cache.current()) is source.network and source.loads == 2


async def test_simulated_work_runs_before_the_engine() -> None:
    planner, _ = engine(grid_places(), grid_network())
    slow = SimulatedWork(planner, 0.2)
    started = asyncio.get_running_loop().time()
    seen: list[float] = []
    route = route_to_json(await slow.plan(route_job(20), seen.append))
    assert asyncio.get_running_loop().time() - started >= 0.2
    assert route["engine"] and seen[0] < 0.5 and not math.isnan(seen[-1])
