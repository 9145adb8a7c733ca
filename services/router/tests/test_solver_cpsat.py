"""The CP-SAT model of the OP: proves the exact optimum (checked against the dynamic
programme), never returns an infeasible route, keeps round trips through their start,
prunes only what cannot fit, and answers the same for the same seed and limits."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY
from test_solver import random_instance

from wildside_router.solver.baseline import exact_solve
from wildside_router.solver.cpsat import CpSatLimits, _follow, solve_cpsat
from wildside_router.solver.formats import euclidean
from wildside_router.solver.model import OPInstance, check_feasible, route_length

pytestmark = pytest.mark.unit


def limits(deterministic_time: float = 10.0, wall: float = 60.0) -> CpSatLimits:
    return CpSatLimits(deterministic_time, time.monotonic() + wall)


@st.composite
def small_instances(draw: st.DrawFn) -> OPInstance:
    n = draw(st.integers(2, 11))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    instance = random_instance(rng, n, draw(st.booleans()), draw(st.booleans()))
    scores = instance.scores
    if draw(st.booleans()):  # the planner's scores are not integers
        scores = scores * rng.uniform(0.05, 1.7, size=n)
    budget = float(instance.base_cost()) + draw(st.floats(0.0, 25.0))
    return OPInstance(
        instance.distances, scores, budget, instance.start, instance.end, instance.service
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instance=small_instances())
def test_it_proves_the_exact_optimum(instance: OPInstance) -> None:
    outcome = solve_cpsat(instance, None, limits(), seed=0)
    exact = exact_solve(instance).score
    assert outcome.status == "OPTIMAL" and outcome.proven_optimal
    assert outcome.route is not None and check_feasible(instance, outcome.route)
    assert outcome.score == pytest.approx(exact, rel=1e-6, abs=1e-9)
    # The bound allows for the scores' rounding (half a scaled unit per place, when the
    # scores are not integers) but stays close to the optimum: with an optimum of 0
    # (no place fits) only that rounding allowance separates them.
    integral = bool(np.all(instance.scores == np.round(instance.scores)))
    rounding = 0.0 if integral else 0.5 * len(instance.scores) * float(instance.scores.max()) / 1e6
    assert exact - 1e-9 <= outcome.bound <= exact * (1 + 1e-4) + rounding + 1e-9


def test_a_round_trip_goes_through_its_start() -> None:
    # A triangle of places 1 apart about 4 from the depot: every pair fits with the
    # depot (so no arc is pruned) but all three do not (10.12 > 10.1), while the
    # triangle alone (3) would: a model that let the depot sit out would take it.
    points = np.array([[0, 0], [4, 0], [4, 1], [4 + 0.75**0.5, 0.5]])
    instance = OPInstance(euclidean(points), np.array([0.0, 10, 10, 10]), 10.1, 0, 0)
    outcome = solve_cpsat(instance, None, limits(), seed=0)
    assert outcome.route is not None and outcome.route[0] == outcome.route[-1] == 0
    assert outcome.score == 20 and outcome.proven_optimal and outcome.bound == 20


def test_a_path_that_uses_the_whole_budget_is_found() -> None:
    # 0 -> 2 -> 1 is 5 + 5 = 10, exactly the budget: integral costs are scaled exactly.
    points = np.array([[0, 0], [6, 0], [3, 4]], dtype=float)
    instance = OPInstance(euclidean(points), np.array([0.0, 0, 7]), 10.0, 0, 1)
    outcome = solve_cpsat(instance, None, limits(), seed=0)
    assert outcome.route == [0, 2, 1] and outcome.proven_optimal


def test_rounding_never_lets_a_route_over_the_budget_through() -> None:
    # Three places near the line from 0 to 1: every pair fits, all three are 3e-9
    # (relative) over the budget, infeasible in floats; the model must not take them
    # whichever way the scaled costs fall.
    rng = np.random.default_rng(17)
    for _ in range(20):
        points = np.array(
            [[0, 0], [6, 0], [1.5, 0.3], [3, 0.3 + rng.uniform(0.01, 0.1)], [4.5, 0.3]]
        )
        distances = euclidean(points)
        every = route_length(OPInstance(distances, np.zeros(5), 100.0, 0, 1), [0, 2, 3, 4, 1])
        scores = np.array([0.0, 0, 7, 7, 7])
        instance = OPInstance(distances, scores, every * (1 - 3e-9), 0, 1)
        outcome = solve_cpsat(instance, None, limits(), seed=0)
        assert outcome.route is not None and len(outcome.route) == 4
        assert outcome.score == 14 and outcome.proven_optimal


def test_pruning_follows_shortest_walks_when_the_triangle_inequality_breaks() -> None:
    # The direct arc 0 -> 3 is far too long, but 0 -> 2 -> 3 -> 1 costs 3.
    distances = np.full((4, 4), 1.0)
    np.fill_diagonal(distances, 0.0)
    distances[0, 3] = 100.0
    instance = OPInstance(distances, np.array([0.0, 0, 1, 5]), 5.0, 0, 1)
    outcome = solve_cpsat(instance, None, limits(), seed=0)
    assert outcome.route == [0, 2, 3, 1] and outcome.score == exact_solve(instance).score


def test_a_hint_that_is_not_in_the_model_is_ignored() -> None:
    points = np.array([[0, 0], [6, 0], [3, 4], [50, 50]], dtype=float)
    instance = OPInstance(euclidean(points), np.array([0.0, 0, 7, 9]), 10.0, 0, 1)
    outcome = solve_cpsat(instance, [0, 3, 1], limits(), seed=0)
    assert outcome.route == [0, 2, 1] and outcome.proven_optimal


def test_nothing_to_visit_is_the_straight_route_proven() -> None:
    points = np.array([[0, 0], [6, 0], [30, 40]], dtype=float)
    one_way = OPInstance(euclidean(points), np.array([0.0, 0, 7]), 10.0, 0, 1)
    round_trip = OPInstance(euclidean(points), np.array([2.0, 0, 7]), 10.0, 0, 0)
    assert solve_cpsat(one_way, None, limits(), 0).route == [0, 1]
    alone = solve_cpsat(round_trip, None, limits(), 0)
    assert alone.route == [0, 0] and alone.proven_optimal and alone.score == alone.bound == 2


def test_the_same_seed_and_limits_give_the_same_answer() -> None:
    instance = random_instance(np.random.default_rng(21), 45, round_trip=False)
    runs = [solve_cpsat(instance, None, limits(0.3), seed=4) for _ in range(2)]
    first, again = runs
    assert first.route is not None and check_feasible(instance, first.route)
    assert (first.route, first.bound, first.status) == (again.route, again.bound, again.status)
    assert first.deterministic_time == again.deterministic_time


def runs(ended: str) -> float:
    return REGISTRY.get_sample_value("wildside_engine_cpsat_runs_total", {"ended": ended}) or 0.0


def test_the_wall_clock_net_stops_a_long_run_and_is_counted() -> None:
    base = random_instance(np.random.default_rng(8), 70, round_trip=True)
    instance = OPInstance(
        base.distances, base.scores, base.base_cost() + 40.0, 0, 0, service=base.service
    )
    clock, not_run = runs("clock"), runs("not_run")
    # A net of 1 s rather than 0.3: on a busy machine building the model took longer
    # than 0.3 s once, so the run never started (counted `not_run`, not `clock`).
    started = time.monotonic()
    outcome = solve_cpsat(instance, None, limits(1000.0, wall=1.0), seed=0)
    assert time.monotonic() - started < 3.0
    assert not outcome.proven_optimal and runs("clock") == clock + 1
    assert outcome.route is None or check_feasible(instance, outcome.route)
    late = solve_cpsat(instance, None, CpSatLimits(10.0, time.monotonic() - 1), seed=0)
    assert late.route is None and late.status == "NOT_RUN" and runs("not_run") == not_run + 1


def test_a_broken_or_looping_successor_chain_is_no_route() -> None:
    assert _follow({0: 2, 2: 3, 3: 1}, 0, 1) == [0, 2, 3, 1]
    assert _follow({0: 2, 2: 0}, 0, 0) == [0, 2, 0]
    assert _follow({0: 0}, 0, 0) == [0, 0]
    assert _follow({0: 2}, 0, 1) is None
    assert _follow({0: 2, 2: 3, 3: 2}, 0, 1) is None
