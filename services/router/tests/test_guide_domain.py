"""Live walk guidance: map matching, arrivals, off-route, reroutes and tips (pure), and the
reroute the guide asks for."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import pytest
from engine_fakes import ORIGIN, offset
from hypothesis import given, settings
from hypothesis import strategies as st

from wildside_common.route import Route, Stop
from wildside_router.domain.guide import (
    GuideParams,
    Position,
    WalkPlan,
    WalkRequest,
    WalkState,
    guide,
    minutes_left,
    plan_walk,
    reject_reason,
    snap,
)
from wildside_router.domain.tips import TipCandidate, looked, pick_tip, should_look
from wildside_router.guiding import reroute_wanted_frame

pytestmark = pytest.mark.unit
PARAMS = GuideParams()
T0 = 1_800_000_000.0


def make_route(xy: list[tuple[float, float]], stop_vertices: list[int]) -> Route:
    """A route through the (north, east) metre vertices, with stops at the given vertices."""
    points = [offset(n, e) for n, e in xy]
    stops = []
    for k, v in enumerate(stop_vertices):
        p = points[v]
        if k in (0, len(stop_vertices) - 1):
            stops.append(Stop(p.lat, p.lng, "start" if k == 0 else "end"))
        else:
            stops.append(Stop(p.lat, p.lng, f"place {k}", f"node/{k}", ("history",), 10.0))
    return Route(
        stops=tuple(stops),
        geometry=tuple((p.lng, p.lat) for p in points),
        distance_m=0.0,
        duration_minutes=60.0,
        walk_minutes=50.0,
        themes_matched=("history",),
        pois_considered=len(stops),
        proven_optimal=False,
        optimality_gap=None,
        engine="test",
        attribution="test",
        straight_line=True,
    )


def replay(xy: list[tuple[float, float]], step_m: float) -> list[tuple[float, float]]:
    """Points every `step_m` metres along the polyline, every vertex included."""
    out = [xy[0]]
    for (n1, e1), (n2, e2) in itertools.pairwise(xy):
        length = math.hypot(n2 - n1, e2 - e1)
        k = max(1, math.ceil(length / step_m))
        out.extend((n1 + (n2 - n1) * j / k, e1 + (e2 - e1) * j / k) for j in range(1, k + 1))
    return out


@st.composite
def polylines(draw: st.DrawFn) -> tuple[list[tuple[float, float]], list[int]]:
    n = draw(st.integers(2, 12))
    heading = draw(st.floats(0, 2 * math.pi))
    xy = [(0.0, 0.0)]
    for _ in range(n - 1):
        heading += draw(st.floats(-2.8, 2.8))
        length = draw(st.floats(5, 300))
        n0, e0 = xy[-1]
        xy.append((n0 + length * math.cos(heading), e0 + length * math.sin(heading)))
    middle = draw(st.lists(st.integers(1, n - 2), max_size=5) if n > 2 else st.just([]))
    return xy, [0, *sorted(set(middle)), n - 1]


def walk(
    plan: WalkPlan, points: list[tuple[float, float]], noise: list[tuple[float, float]] | None
) -> list[tuple[WalkState, object]]:
    state, out = WalkState(), []
    for i, (n, e) in enumerate(points):
        dn, de = noise[i % len(noise)] if noise else (0.0, 0.0)
        p = offset(n + dn, e + de)
        pos = Position(p.lat, p.lng, 5.0, T0 + i)
        assert reject_reason(state, pos, T0 + i, PARAMS) is None
        state, g = guide(plan, state, pos, PARAMS)
        out.append((state, g))
    return out


@settings(max_examples=150, deadline=None)
@given(polylines(), st.floats(0.5, 80))  # rare positions too
def test_a_walker_replayed_along_the_route_arrives_at_every_stop_in_order(
    line: tuple[list[tuple[float, float]], list[int]], step: float
) -> None:
    xy, stop_vertices = line
    route = make_route(xy, stop_vertices)
    plan = plan_walk(route)
    points = replay(xy, step)
    steps = walk(plan, points, None)
    reached = 0
    for (state, g), (n, e) in zip(steps, points, strict=True):
        assert not g.off_route  # type: ignore[attr-defined]
        assert state.reached >= reached
        if g.arrived is not None:  # type: ignore[attr-defined]
            assert g.arrived == state.reached - 1  # type: ignore[attr-defined]
            for k in range(reached, state.reached):  # each stop reached near it, in order
                sn, se = xy[stop_vertices[k]]
                assert math.hypot(sn - n, se - e) <= PARAMS.arrival_m + 0.5
        reached = state.reached
    assert reached == len(route.stops)
    last = steps[-1][1]
    assert last.fraction == pytest.approx(1.0, abs=1e-3)  # type: ignore[attr-defined]
    assert last.remaining_m == pytest.approx(0.0, abs=0.5)  # type: ignore[attr-defined]


@settings(max_examples=150, deadline=None)
@given(
    polylines(),
    st.lists(
        st.tuples(st.floats(0, 10), st.floats(0, 2 * math.pi)).map(
            lambda r: (r[0] * math.cos(r[1]), r[0] * math.sin(r[1]))
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_ten_metres_of_noise_never_flips_off_route(
    line: tuple[list[tuple[float, float]], list[int]], noise: list[tuple[float, float]]
) -> None:
    xy, stop_vertices = line
    plan = plan_walk(make_route(xy, stop_vertices))
    for _, g in walk(plan, replay(xy, 1.4), noise):
        assert not g.off_route  # type: ignore[attr-defined]


def out_and_back() -> tuple[WalkPlan, list[tuple[float, float]]]:
    xy = [(0.0, 0.0), (0.0, 400.0), (0.0, 0.0)]
    return plan_walk(make_route(xy, [0, 1, 2])), xy


def test_a_route_that_doubles_back_is_followed_in_order() -> None:
    plan, _ = out_and_back()
    p = offset(0.0, 100.0)
    assert snap(plan, p.lat, p.lng).along_m == pytest.approx(100.0, abs=0.5)
    # past the turn, the same spot is on the way back
    assert snap(plan, p.lat, p.lng, 1, 400.0, 30.0).along_m == pytest.approx(700.0, abs=0.5)
    # the start is not the end: arriving at the start does not finish the loop
    state, g = guide(plan, WalkState(), Position(ORIGIN.lat, ORIGIN.lng, 5.0, T0), PARAMS)
    assert g.arrived == 0 and state.reached == 1
    assert g.next_stop.index == 1 and g.next_stop.distance_m == pytest.approx(400.0, abs=1)
    assert g.next_stop.eta_s == pytest.approx(400.0 / PARAMS.walking_speed_mps, abs=1)
    assert g.next_stop.bearing_deg == pytest.approx(90.0, abs=0.5)  # due east


def test_a_loop_is_not_finished_where_it_starts() -> None:
    _, xy = out_and_back()
    plan = plan_walk(make_route(xy, [0, 2]))  # no places: the end is the start
    state, g = guide(plan, WalkState(), Position(ORIGIN.lat, ORIGIN.lng, 5.0, T0), PARAMS)
    assert g.arrived == 0 and state.reached == 1 and g.next_stop.index == 1
    assert g.next_stop.distance_m == pytest.approx(800.0, abs=1)


def test_off_route_for_twenty_seconds_asks_for_one_reroute() -> None:
    plan, _ = out_and_back()
    state = WalkState()
    reroutes = []
    for i in range(40):
        p = offset(0.0 if i < 5 else 80.0, 5.0 * i)
        state, g = guide(plan, state, Position(p.lat, p.lng, 5.0, T0 + i), PARAMS)
        assert g.off_route == (i >= 5)
        reroutes.append(g.reroute)
    assert reroutes.index(True) == 5 + 20  # 20 s after the first position off the route
    assert reroutes.count(True) == 1
    back = offset(0.0, 200.0)
    state, g = guide(plan, state, Position(back.lat, back.lng, 5.0, T0 + 41), PARAMS)
    assert not g.off_route and not state.rerouted and state.off_route_since is None


def test_poor_out_of_order_and_old_positions_are_ignored() -> None:
    state = WalkState(last_timestamp=T0)
    now = T0 + 10
    ok = Position(ORIGIN.lat, ORIGIN.lng, 100.0, T0 + 1)
    assert reject_reason(state, ok, now, PARAMS) is None
    assert reject_reason(state, Position(0, 0, 100.5, T0 + 1), now, PARAMS) == "inaccurate"
    assert reject_reason(state, Position(0, 0, 5.0, T0), now, PARAMS) == "out_of_order"
    old = Position(0, 0, 5.0, T0 + 1)
    assert reject_reason(state, old, T0 + 31.5, PARAMS) == "stale"


def test_tips_match_the_themes_are_near_never_on_the_walk_never_twice_and_spaced() -> None:
    plan, _ = out_and_back()
    here = offset(0.0, 100.0)
    near = offset(50.0, 100.0)
    far = offset(1000.0, 100.0)  # 2 km there and back: more than 5 minutes
    candidates = [
        TipCandidate("node/1", "on the walk", ("history",), near.lat, near.lng),
        TipCandidate("node/50", "cafe", ("food",), near.lat, near.lng),
        TipCandidate("node/51", "far", ("history",), far.lat, far.lng),
        TipCandidate("node/52", "church", ("history",), near.lat, near.lng),
        TipCandidate("node/53", "tower", ("history",), offset(80.0, 100.0).lat, here.lng),
    ]
    pos = Position(here.lat, here.lng, 5.0, T0)
    state, tip = pick_tip(plan, WalkState(), pos, candidates, ["history"], PARAMS)
    assert tip is not None and tip.poi.id == "node/52"
    assert tip.distance_m == pytest.approx(50.0, abs=0.5)
    assert tip.detour_minutes == pytest.approx(100 / PARAMS.walking_speed_mps / 60, abs=0.1)
    soon = Position(here.lat, here.lng, 5.0, T0 + 60)
    assert pick_tip(plan, state, soon, candidates, ["history"], PARAMS)[1] is None
    later = Position(here.lat, here.lng, 5.0, T0 + PARAMS.tip_every_s)
    state, tip = pick_tip(plan, state, later, candidates, ["history"], PARAMS)
    assert tip is not None and tip.poi.id == "node/53"
    last = Position(here.lat, here.lng, 5.0, T0 + 2 * PARAMS.tip_every_s)
    assert pick_tip(plan, state, last, candidates, ["history"], PARAMS)[1] is None


def test_the_time_left_is_the_budget_minus_the_time_walked() -> None:
    assert minutes_left(60.0, T0, T0 + 600) == pytest.approx(50.0)
    assert minutes_left(60.0, T0, T0 + 7200) == 0.0


@st.composite
def out_and_back_walks(draw: st.DrawFn) -> tuple[list[tuple[float, float]], list[int]]:
    """A random polyline walked out and back along itself, with stops on both legs (a
    stop on the way back may stand where the walker passed on the way out)."""
    line, _ = draw(polylines())
    n = len(line)
    xy = [*line, *reversed(line[:-1])]
    turn = n - 1
    out = draw(st.lists(st.integers(1, turn), max_size=4))
    back = draw(st.lists(st.integers(1, turn - 1), max_size=4) if turn > 1 else st.just([]))
    middle = {*out, *(2 * turn - v for v in back)}
    return xy, [0, *sorted(middle), 2 * turn]


@settings(max_examples=150, deadline=None)
@given(out_and_back_walks(), st.floats(0.5, 20))
def test_a_route_that_doubles_back_is_followed_in_order_wherever_it_turns(
    line: tuple[list[tuple[float, float]], list[int]], step: float
) -> None:
    xy, stop_vertices = line
    route = make_route(xy, stop_vertices)
    plan = plan_walk(route)
    points = replay(xy, step)
    true_along = [0.0]
    for (n1, e1), (n2, e2) in itertools.pairwise(points):
        true_along.append(true_along[-1] + math.hypot(n2 - n1, e2 - e1))
    reached = 0
    for (state, g), along in zip(walk(plan, points, None), true_along, strict=True):
        assert not g.off_route  # type: ignore[attr-defined]
        # the match follows the walker along the route, never onto the other leg
        assert state.along_m == pytest.approx(along, abs=1.0)
        for k in range(reached, state.reached):  # reached in order, once past their place
            assert along >= plan.stops[k].along_m - PARAMS.arrival_m - 1.0
        reached = state.reached
    assert reached == len(route.stops)


def test_places_for_tips_are_looked_up_only_when_due_and_after_moving_or_some_positions() -> None:
    here = offset(0.0, 0.0)
    pos = Position(here.lat, here.lng, 5.0, T0)
    assert should_look(WalkState(positions=1), pos, PARAMS)  # never looked, a tip is due
    state = looked(WalkState(positions=1), pos)
    assert not should_look(state, pos, PARAMS)  # just looked here
    step = offset(PARAMS.tip_look_every_m - 1, 0.0)
    near = Position(step.lat, step.lng, 5.0, T0 + 5)
    assert not should_look(replace(state, positions=10), near, PARAMS)
    assert should_look(replace(state, positions=11), near, PARAMS)  # 10 positions since
    moved = offset(PARAMS.tip_look_every_m + 1, 0.0)
    assert should_look(state, Position(moved.lat, moved.lng, 5.0, T0 + 5), PARAMS)
    given = replace(state, last_tip_at=T0, positions=50)  # a tip was given: not due yet
    far = Position(moved.lat, moved.lng, 5.0, T0 + PARAMS.tip_every_s - 1)
    assert not should_look(given, far, PARAMS)
    assert should_look(given, replace(far, timestamp=T0 + PARAMS.tip_every_s), PARAMS)


def test_a_reroute_asks_for_the_walk_from_here_with_the_time_left() -> None:
    here = offset(80.0, 100.0)
    state = WalkState(started_at=T0, reroutes=2)
    request = WalkRequest(("art",), 60.0, (60.2, 24.9))
    frame = reroute_wanted_frame("r", request, state, Position(here.lat, here.lng, 5.0, T0 + 630))
    assert frame == {
        "type": "reroute.wanted",
        "request_id": "r",
        "reroute": 2,
        "route_request": {
            "start": {"lat": here.lat, "lng": here.lng},
            "duration_minutes": 50,  # 49.5 minutes left, rounded up
            "preferences": ["art"],
            "end": {"lat": 60.2, "lng": 24.9},
        },
    }
    late = Position(here.lat, here.lng, 5.0, T0 + 7200)  # the budget is spent: one minute
    assert reroute_wanted_frame("r", request, state, late)["route_request"]["duration_minutes"] == 1
