"""The street graph: snapping, shortest paths, street geometry."""

from __future__ import annotations

import numpy as np
import pytest
from engine_fakes import grid_network, offset

from wildside_common.errors import InvalidInput
from wildside_router.domain.network import StreetNetwork

pytestmark = pytest.mark.unit


def tiny() -> StreetNetwork:
    """a-b-c in a line (100 m each), a-c directly by a bent 150 m street, d isolated;
    plus a 300 m duplicate of a-b that must not count."""
    pts = [offset(0, 0), offset(0, 100), offset(0, 200), offset(500, 500)]
    ids = np.array([40, 10, 30, 20])  # unsorted on purpose: a=40 b=10 c=30 d=20
    bend = offset(60, 100)
    lines = [
        np.array([[pts[0].lng, pts[0].lat], [pts[1].lng, pts[1].lat]]),
        np.array([[pts[1].lng, pts[1].lat], [pts[2].lng, pts[2].lat]]),
        np.array([[pts[2].lng, pts[2].lat], [bend.lng, bend.lat], [pts[0].lng, pts[0].lat]]),
        np.array([[pts[0].lng, pts[0].lat], [pts[1].lng, pts[1].lat]]),
    ]
    edges = (
        np.array([40, 10, 30, 40]),
        np.array([10, 30, 40, 10]),
        np.array([100, 100, 150, 300.0]),
    )
    return StreetNetwork.build(
        ids, np.array([p.lat for p in pts]), np.array([p.lng for p in pts]), edges, lines
    )


def node(network: StreetNetwork, osm_id: int) -> int:
    return int(np.flatnonzero(network.node_ids == osm_id)[0])


def test_snapping_finds_the_nearest_node_and_its_distance() -> None:
    net = tiny()
    index, distance = net.snap(*_ll(offset(30, 190)))
    assert net.node_ids[index] == 30
    assert distance == pytest.approx(np.hypot(30, 10), rel=0.01)
    empty = StreetNetwork.build(np.array([]), np.array([]), np.array([]),
                                (np.array([]), np.array([]), np.array([])))  # fmt: skip
    assert empty.snap(60, 24) == (-1, float("inf"))


def test_shortest_paths_take_the_shorter_edge_and_respect_the_limit() -> None:
    net = tiny()
    a, b, c, d = (node(net, i) for i in (40, 10, 30, 20))
    rows = net.distances([a, b], limit=1000)
    assert rows[0, b] == pytest.approx(100)  # not the 300 m duplicate
    assert rows[0, c] == pytest.approx(150)  # the direct street beats 200 m
    assert np.isinf(rows[0, d])
    assert np.isinf(net.distances([a], limit=120)[0, c])
    assert net.path(a, c) == [a, c]
    assert net.path(b, a) == [b, a]
    assert net.path(a, d) == []


def test_polylines_follow_the_street_in_either_direction() -> None:
    net = tiny()
    a, c = node(net, 40), node(net, 30)
    bend = offset(60, 100)
    forward = net.polyline([a, c])
    assert forward[1] == pytest.approx((bend.lng, bend.lat))
    assert forward[0] == pytest.approx((net.lng[a], net.lat[a]))
    assert forward[-1] == pytest.approx((net.lng[c], net.lat[c]))
    backward = net.polyline([c, a])
    assert backward == forward[::-1]


def test_grid_distances_are_manhattan() -> None:
    net = grid_network(4, 100.0)
    corner, far = 0, 15
    assert net.distances([corner], limit=1e9)[0, far] == pytest.approx(600)
    assert len(net.path(corner, far)) == 7


def test_zero_length_edges_still_connect_and_bad_edges_are_refused() -> None:
    ids = np.array([1, 2])
    lat, lng = np.array([60.0, 60.0]), np.array([24.0, 24.0])
    net = StreetNetwork.build(ids, lat, lng, (np.array([1]), np.array([2]), np.array([0.0])))
    assert net.distances([0], limit=10)[0, 1] < 0.01
    with pytest.raises(InvalidInput):
        StreetNetwork.build(ids, lat, lng, (np.array([1]), np.array([9]), np.array([1.0])))


def _ll(point: object) -> tuple[float, float]:
    return point.lat, point.lng  # type: ignore[attr-defined]


def test_cached_distance_rows_equal_fresh_dijkstra_for_any_limit() -> None:
    net = grid_network(6, 100.0)
    fresh = grid_network(6, 100.0)
    fresh.rows.capacity = 0  # a network that keeps nothing
    sources = [0, 7, 35]
    # Far first, then nearer (served from the cache, masked), then farther (recomputed);
    # 300 m sits exactly on grid distances, where scipy keeps the node (<= limit).
    for limit in (1e9, 300.0, 450.0, 250.0, 2e9):
        cached = net.distances(sources, limit)
        assert np.array_equal(cached, fresh.distances(sources, limit))
    assert net.rows.hits >= 6
    assert np.isfinite(net.distances([0], 300.0)[0]).sum() == 10  # 1 + 2 + 3 + 4 nodes


def test_distance_rows_are_reused_and_the_least_recent_dropped() -> None:
    net = grid_network(4, 100.0)
    net.rows.capacity = 2
    net.distances([0, 5], 1e9)
    assert (net.rows.hits, net.rows.misses) == (0, 2)
    net.distances([5, 9], 1e9)  # 5 reused; 9 pushes out 0, the least recently used
    assert (net.rows.hits, net.rows.misses) == (1, 3)
    assert len(net.rows) == 2
    assert net.rows.get(0, 1e9) is None
    assert net.rows.get(5, 50.0) is not None  # a row serves shorter limits too
    assert net.rows.get(9, 2e9) is None  # but not longer ones


def test_distance_rows_count_the_bytes_they_keep() -> None:
    net = grid_network(4, 100.0)
    row = 16 * 8  # 16 nodes, float64
    net.rows.capacity = 2
    net.distances([0], 150.0)
    assert net.rows.nbytes == row
    net.distances([0], 1e9)  # a row reaching further replaces the kept one
    net.distances([0], 50.0)  # served from the cache: nothing added
    assert (len(net.rows), net.rows.nbytes) == (1, row)
    net.distances([5, 9], 1e9)  # 9 pushes out 0
    assert (len(net.rows), net.rows.nbytes) == (2, 2 * row)
    net.rows.capacity = 0
    net.distances([3], 1e9)  # a cache that keeps nothing counts nothing
    assert net.rows.nbytes == 2 * row


def test_a_long_path_is_drawn_edge_by_edge() -> None:
    net = tiny()
    a, b, c = (node(net, i) for i in (40, 10, 30))
    # a -> c by the bent street, then back to b and a: each edge in its own direction.
    whole = net.polyline([a, c, b, a])
    stitched = net.polyline([a, c]) + net.polyline([c, b])[1:] + net.polyline([b, a])[1:]
    assert whole == stitched
    assert len(whole) == 5 and whole[0] == whole[-1]
    grid = grid_network(5, 100.0)
    path = grid.path(0, 24)
    drawn = grid.polyline(path)
    assert drawn == [(float(grid.lng[v]), float(grid.lat[v])) for v in path]


def test_snapping_many_points_at_once_matches_one_by_one() -> None:
    net = grid_network(6, 100.0)
    rng = np.random.default_rng(5)
    lat = net.lat.min() + rng.random(40) * np.ptp(net.lat)
    lng = net.lng.min() + rng.random(40) * np.ptp(net.lng)
    nodes, metres = net.snap_many(lat, lng)
    assert [net.snap(a, b) for a, b in zip(lat, lng, strict=True)] == list(
        zip(nodes.tolist(), metres.tolist(), strict=True)
    )


def test_distances_to_chosen_targets_are_the_columns_of_the_full_rows() -> None:
    net = grid_network(6, 100.0)
    full = grid_network(6, 100.0).distances([0, 14], 350.0)
    net.distances([0, 14], 1e9)  # rows from a farther limit, masked on the way out
    targets = [35, 3, 14, 0]
    assert np.array_equal(net.distances([0, 14], 350.0, targets), full[:, targets])
