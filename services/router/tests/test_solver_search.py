"""The iterated local search's strategy (`search.py`): the extra first routes, the
restarts away from the best route, and the restarted walk's own fallback."""

from __future__ import annotations

import numpy as np
import pytest

from wildside_router.solver import search
from wildside_router.solver.model import OPInstance, check_feasible
from wildside_router.solver.moves import SearchModel
from wildside_router.solver.search import (
    Candidate,
    _Walk,
    first_route,
    force_and_repair,
    improve,
)

pytestmark = pytest.mark.unit


def clusters(scores: np.ndarray | None = None) -> OPInstance:
    """Start and end at the origin; 15 nodes near (10, 0) and 15 near (-10, 0)."""
    rng = np.random.default_rng(7)
    east = rng.normal((10.0, 0.0), 0.5, size=(15, 2))
    west = rng.normal((-10.0, 0.0), 0.5, size=(15, 2))
    points = np.vstack(([0.0, 0.0], east, west))
    distances = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    if scores is None:
        scores = np.concatenate(([0.0], rng.integers(1, 10, size=30).astype(float)))
    return OPInstance(distances, scores, 26.0, 0, 0)


def test_uniform_scores_skip_the_extra_constructions() -> None:
    uniform = SearchModel.of(clusters(np.concatenate(([0.0], np.ones(30)))))
    start = np.array([0, 0], dtype=np.intp)
    first_route(uniform, start)
    alone = SearchModel.of(clusters(np.concatenate(([0.0], np.ones(30)))))
    improve(alone, start)
    # Only the start is improved: the same work as improving it alone.
    assert uniform.work[0] == alone.work[0]
    varied = SearchModel.of(clusters())
    first_route(varied, start)
    only = SearchModel.of(clusters())
    improve(only, start)
    assert varied.work[0] > only.work[0]


def test_a_restart_forces_nodes_away_from_the_best_route() -> None:
    model = SearchModel.of(clusters())
    base = np.array([0, 0], dtype=np.intp)
    east = np.arange(1, 16, dtype=np.intp)
    rng = np.random.default_rng(0)
    sides = {"east": 0, "west": 0}
    plain = {"east": 0, "west": 0}
    for _ in range(100):
        for away, tally in ((east, sides), (None, plain)):
            route = force_and_repair(model, base, rng, away)
            assert check_feasible(clusters(), [int(v) for v in route])
            inner = route[1:-1]
            tally["east"] += int((inner <= 15).sum())
            tally["west"] += int((inner > 15).sum())
    # Away from the east cluster, the forced nodes are nearly all in the west; without
    # it both sides are drawn.
    assert sides["west"] > 10 * max(1, sides["east"])
    assert plain["east"] > 0.2 * (plain["east"] + plain["west"])


def test_a_restarted_walk_falls_back_to_its_own_best() -> None:
    model = SearchModel.of(clusters())
    best = first_route(model, np.array([0, 0], dtype=np.intp))
    walk = _Walk(model, best, np.random.default_rng(3))
    walk.since_home = search._RESTART - 1
    walk.step()  # no new best in this round: the walk restarts
    assert walk.since_home == 0 and walk.stale == 0
    assert walk.home is walk.current
    assert walk.best.score >= walk.home.score


def test_the_fallback_is_the_walks_own_best_not_the_best_of_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = SearchModel.of(clusters())
    best = first_route(model, np.array([0, 0], dtype=np.intp))
    walk = _Walk(model, best, np.random.default_rng(3))
    home = Candidate(np.array([0, 1, 0], dtype=np.intp), float(model.scores[1]), 0.0)
    empty = Candidate(np.array([0, 0], dtype=np.intp), 0.0, 0.0)
    walk.home = home
    walk.current = empty
    walk.stale = search._PATIENCE - 1
    # Every trial of this round is the empty route: no new best, so the patience runs out.
    monkeypatch.setattr(search, "improve", lambda *args, **kwargs: empty)
    walk.step()
    assert walk.current is home
    assert walk.best is best
