"""Orienteering domain: instance validation, feasibility, parsers, greedy and exact DP."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from wildside_common.errors import InvalidInput
from wildside_router.solver.baseline import exact_solve, greedy_solve
from wildside_router.solver.formats import parse_classic, parse_instance, parse_oplib
from wildside_router.solver.model import (
    OPInstance,
    OPSolution,
    check_feasible,
    feasibility_problem,
    route_length,
)

pytestmark = pytest.mark.unit

CLASSIC = "5\t1\n0\t0\t0\n4\t0\t0\n2\t0\t7\n2\t1.5\t3\n2\t9\t50\n"
OPLIB = """NAME: tiny
TYPE: OP
COMMENT: four points
DIMENSION: 4
COST_LIMIT : 10
EDGE_WEIGHT_TYPE: EUC_2D
NODE_COORD_SECTION
1 0.0 0.0
2 3.0 0.0
3 3.0 4.0
4 40.0 40.0
NODE_SCORE_SECTION
1 2
2 5
3 6
4 100
DEPOT_SECTION
1
-1
EOF
"""


def line_instance(scores: list[float], budget: float, end: int = 1) -> OPInstance:
    points = np.array([[float(i), 0.0] for i in range(len(scores))])
    distances = np.abs(points[:, None, 0] - points[None, :, 0])
    return OPInstance(distances, np.array(scores), budget, 0, end)


def brute_force(instance: OPInstance) -> float:
    """Best score by trying every ordered subset (for n <= 6)."""
    others = [v for v in range(instance.n) if v not in (instance.start, instance.end)]
    best = -1.0
    for size in range(len(others) + 1):
        for chosen in itertools.permutations(others, size):
            route = [instance.start, *chosen, instance.end]
            if check_feasible(instance, route):
                best = max(best, OPSolution.of(instance, route).score)
    return best


def random_instance(rng: np.random.Generator, n: int, round_trip: bool) -> OPInstance:
    points = rng.uniform(0, 10, size=(n, 2))
    distances = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    scores = rng.integers(0, 10, size=n).astype(float)
    end = 0 if round_trip else 1
    scores[[0, end]] = 0
    budget = float(distances[0, end]) + float(rng.uniform(3, 25))
    return OPInstance(distances, scores, budget, 0, end)


def test_instance_refuses_bad_input() -> None:
    good = np.zeros((3, 3))
    with pytest.raises(InvalidInput):
        OPInstance(np.zeros((3, 2)), np.zeros(3), 1.0, 0, 1)
    with pytest.raises(InvalidInput):
        OPInstance(-np.ones((3, 3)), np.zeros(3), 1.0, 0, 1)
    with pytest.raises(InvalidInput):
        OPInstance(good, np.array([1.0, -1.0, 0.0]), 1.0, 0, 1)
    with pytest.raises(InvalidInput):
        OPInstance(good, np.zeros(3), 1.0, 0, 3)
    with pytest.raises(InvalidInput):
        OPInstance(good, np.zeros(3), math.nan, 0, 1)
    with pytest.raises(InvalidInput):
        OPInstance(good, np.zeros(3), 1.0, 0.5, 1)  # type: ignore[arg-type]
    numpy_numbers = OPInstance(good, np.zeros(3), np.float32(2.0), np.int64(0), 1)  # type: ignore[arg-type]
    assert (numpy_numbers.budget, numpy_numbers.start) == (2.0, 0)
    with pytest.raises(InvalidInput):
        OPInstance(np.full((2, 2), 5.0), np.zeros(2), 1.0, 0, 1)  # cannot even reach end


def test_instance_arrays_are_read_only_copies() -> None:
    scores = np.array([0.0, 0.0, 4.0])
    instance = OPInstance(np.ones((3, 3)), scores, 5.0, 0, 1)
    scores[2] = 99.0
    assert instance.scores[2] == 4.0
    with pytest.raises(ValueError):
        instance.scores[2] = 1.0


def test_feasibility_rules() -> None:
    instance = line_instance([0, 0, 5, 5], budget=4.0)
    assert check_feasible(instance, [0, 2, 1])
    assert feasibility_problem(instance, [0, 2, 2, 1]) == "a node is visited twice"
    assert not check_feasible(instance, [2, 0, 1])
    assert not check_feasible(instance, [0, 2])
    assert "exceeds the budget" in str(feasibility_problem(instance, [0, 3, 1]))
    assert not check_feasible(instance, [0, 7, 1])


def test_dwell_counts_against_budget() -> None:
    instance = OPInstance(
        np.ones((3, 3)) - np.eye(3),
        np.array([0.0, 0.0, 5.0]),
        2.5,
        0,
        1,
        service=np.array([0.0, 0.0, 1.0]),
    )
    assert route_length(instance, [0, 2, 1]) == pytest.approx(3.0)
    assert not check_feasible(instance, [0, 2, 1])
    assert greedy_solve(instance).route == (0, 1)


def test_round_trip_route_returns_to_start() -> None:
    instance = line_instance([3, 0, 5, 5], budget=4.0, end=0)
    solution = exact_solve(instance)
    assert solution.route[0] == solution.route[-1] == 0
    assert solution.score == 3 + 5 + 0  # depot score counts; node 3 is 6 away and back
    assert check_feasible(instance, solution.route)


def test_parse_classic_reads_budget_scores_and_unrounded_distances() -> None:
    instance = parse_classic(CLASSIC, "tiny")
    assert (instance.n, instance.budget, instance.start, instance.end) == (5, 5.0, 0, 1)
    assert list(instance.scores) == [0, 0, 7, 3, 50]
    assert instance.distances[0, 3] == pytest.approx(2.5)
    assert parse_instance(CLASSIC).n == 5


def test_parse_oplib_rounds_distances_and_uses_depot() -> None:
    instance = parse_oplib(OPLIB, "tiny")
    assert (instance.n, instance.budget, instance.start, instance.end) == (4, 10.0, 0, 0)
    assert instance.distances[0, 2] == 5.0
    assert list(instance.scores) == [2, 5, 6, 100]
    assert parse_instance(OPLIB).round_trip
    # 0-1-2-0 is 3 + 4 + 5 = 12 > 10, so the best is out to node 2 and back: 2 + 6.
    assert exact_solve(instance) == OPSolution((0, 2, 0), 8.0, 10.0)
    wider = parse_oplib(OPLIB.replace("COST_LIMIT : 10", "COST_LIMIT : 12"))
    assert exact_solve(wider).score == 2 + 5 + 6


@pytest.mark.parametrize(
    "text",
    [
        "",
        "5\n0 0 0\n",
        "5 1\n0 0 0\n1 x 0\n",
        "5 1\n0 0 0\n1 0\n",
        OPLIB.replace("COST_LIMIT : 10\n", ""),
        OPLIB.replace("4 100\n", ""),
        OPLIB.replace("EUC_2D", "GEO"),
    ],
)
def test_parsers_refuse_malformed_text(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_instance(text)


def test_exact_matches_brute_force_on_random_tiny_instances() -> None:
    rng = np.random.default_rng(7)
    for trial in range(12):
        instance = random_instance(rng, 6, round_trip=trial % 2 == 0)
        solution = exact_solve(instance)
        assert check_feasible(instance, solution.route)
        assert solution.score == brute_force(instance)


def test_greedy_is_feasible_and_never_beats_exact() -> None:
    rng = np.random.default_rng(11)
    for trial in range(20):
        instance = random_instance(rng, 9, round_trip=trial % 2 == 1)
        greedy = greedy_solve(instance)
        assert check_feasible(instance, greedy.route)
        assert greedy.score <= exact_solve(instance).score + 1e-9


def test_exact_refuses_large_instances() -> None:
    with pytest.raises(InvalidInput):
        exact_solve(random_instance(np.random.default_rng(0), 20, round_trip=False))


def test_a_solution_carries_its_proof_and_bound() -> None:
    plain = OPSolution((0, 2, 1), 10.0, 5.0)
    assert not plain.proven_optimal and plain.bound is None and plain.optimality_gap is None
    assert OPSolution((0, 2, 1), 10.0, 5.0, bound=12.5).optimality_gap == pytest.approx(0.2)
    assert OPSolution((0, 2, 1), 10.0, 5.0, True, 10.0).optimality_gap == 0.0
    assert OPSolution((0, 1), 0.0, 5.0, bound=0.0).optimality_gap == 0.0
    with pytest.raises(InvalidInput):
        OPSolution((0, 2, 1), 10.0, 5.0, bound=9.0)  # a bound below the score is no bound
