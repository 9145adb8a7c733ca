"""A live walk through the running stack, on the Helsinki demo data (real places along
real streets): a succeeded route, then a trace replayed along its own geometry over /ws
(gateway -> core NATS -> the router's guide -> Redis -> core NATS -> gateway -> socket):
guidance after each position, arrivals at every stop in order, one tip; a trace that leaves
the route is rerouted from where it stands (the new request through the normal pipeline,
linked to the walk) and walks on along the new route; someone else's route cannot be
walked."""

from __future__ import annotations

import itertools
import json
import math
import time
from typing import Any

import pytest
from websockets.sync.client import connect as ws_connect

from tests.e2e import stack
from tests.e2e.test_engine_helsinki import SENATE_SQUARE, helsinki  # noqa: F401 (a fixture)
from tests.e2e.test_walking_skeleton import BODY, base, submit, wait_final

pytestmark = pytest.mark.e2e


def trace(coordinates: list[list[float]], step_m: float) -> list[tuple[float, float]]:
    """(lat, lng) about every `step_m` metres along a GeoJSON LineString, vertices included."""
    out = [(coordinates[0][1], coordinates[0][0])]
    for (lng1, lat1), (lng2, lat2) in itertools.pairwise(coordinates):
        metres = math.hypot(
            (lat2 - lat1) * 111_195, (lng2 - lng1) * 111_195 * math.cos(math.radians(lat1))
        )
        k = max(1, math.ceil(metres / step_m))
        out.extend(
            (lat1 + (lat2 - lat1) * j / k, lng1 + (lng2 - lng1) * j / k) for j in range(1, k + 1)
        )
    return out


FIX_EVERY_S = 2.0  # the trace's own clock: one GPS fix every 2 s, as a GPX track records


class Walker:
    """A client walking over /ws: sends a trace's fixes (at most 2 a second, the socket's
    limit; timestamped on the trace's own clock) and sorts what comes back by type."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.t0 = time.time()
        self.fixes = 0
        self.frames: list[dict[str, Any]] = []  # every frame received
        self.pending: list[dict[str, Any]] = []  # those `next` has not returned

    def send(self, frame: dict[str, Any]) -> None:
        self.socket.send(json.dumps(frame))

    def next(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        """The first frame of `kind` not taken yet (others received meanwhile are kept)."""
        for frame in self.pending:
            if frame["type"] == kind:
                self.pending.remove(frame)
                return frame
        deadline = time.monotonic() + timeout
        while True:
            frame = json.loads(self.socket.recv(timeout=max(deadline - time.monotonic(), 0.01)))
            self.frames.append(frame)
            if frame["type"] == kind:
                return frame
            self.pending.append(frame)

    def fix(self, request_id: str, lat: float, lng: float) -> dict[str, Any]:
        """Send one fix; the guidance it gets."""
        at = self.t0 + self.fixes * FIX_EVERY_S
        self.fixes += 1
        self.send({"type": "position", "request_id": request_id, "lat": lat, "lng": lng}
                  | {"accuracy_m": 5, "timestamp": round(at * 1000)})  # fmt: skip
        guidance = self.next("guidance")
        assert guidance["request_id"] == request_id, guidance
        time.sleep(0.55)  # at most 2 positions a second
        return guidance

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [frame for frame in self.frames if frame["type"] == kind]


def start_walk(walker: Walker, request_id: str) -> None:
    walker.send({"type": "walk.start", "request_id": request_id})
    assert walker.next("walk.started") == {"type": "walk.started", "request_id": request_id}


def walk_route(gateway: stack.Service, minutes: int) -> tuple[str, dict[str, Any]]:
    body = {"start": SENATE_SQUARE, "duration_minutes": minutes, "preferences": ["history"]}
    request_id = submit(gateway, body)
    done = wait_final(gateway, request_id).json()
    assert done["status"] == "succeeded"
    return request_id, done["route"]


def test_a_trace_along_its_route_is_guided_to_every_stop_with_one_tip(
    helsinki: str,  # noqa: F811 (the fixture, first: data before the router starts)
    gateway: stack.Service,
    router: stack.Service,
) -> None:
    request_id, route = walk_route(gateway, 30)
    points = trace(route["geometry"]["coordinates"], 40.0)
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    with ws_connect(ws_url, subprotocols=stack.ws_protocols(gateway), open_timeout=5) as socket:
        walker = Walker(socket)
        start_walk(walker, request_id)
        frames = [walker.fix(request_id, lat, lng) for lat, lng in points]
        assert all(g["off_route"] is False for g in frames)
        arrivals = [g["arrived"] for g in frames if g["arrived"] is not None]
        assert len(route["points"]) >= 3, route["points"]  # at least one place on the way
        # `arrived` names the last stop a position reached: in order, up to the end
        assert arrivals == sorted(set(arrivals)), arrivals
        assert len(arrivals) >= 3, arrivals  # the start, a place, the end at least
        assert arrivals[-1] == len(route["points"]) - 1, (arrivals, route["points"])
        assert frames[-1]["next_stop"]["index"] == len(route["points"]) - 1
        assert frames[-1]["progress"]["fraction"] == pytest.approx(1.0, abs=0.01)
        # One tip: the walk is shorter (in the trace's time) than the tips' interval (180 s)
        # and central Helsinki has history off the route within the 5-minute detour.
        assert len(points) * FIX_EVERY_S < 180
        walker.send({"type": "walk.stop", "request_id": request_id})
        walker.next("walk.stopped")
        (tip,) = walker.of("tip")
        on_walk = {p.get("osm") for p in route["points"]}
        assert tip["request_id"] == request_id and tip["poi"]["id"] not in on_walk
        assert "history" in tip["poi"]["themes"] and tip["detour_minutes"] <= 5.0
        assert walker.of("reroute") == []


def test_a_trace_that_leaves_the_route_is_rerouted_from_where_it_stands(
    helsinki: str,  # noqa: F811
    gateway: stack.Service,
    router: stack.Service,
) -> None:
    request_id, route = walk_route(gateway, 45)
    points = trace(route["geometry"]["coordinates"], 40.0)[:8]  # a few fixes on the route
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    with ws_connect(ws_url, subprotocols=stack.ws_protocols(gateway), open_timeout=5) as socket:
        walker = Walker(socket)
        start_walk(walker, request_id)
        for lat, lng in points:
            assert walker.fix(request_id, lat, lng)["off_route"] is False
        # then 150 m north of the last fix, for 14 fixes (26 s on the trace's clock)
        lat, lng = points[-1][0] + 150 / 111_195, points[-1][1]
        off = [walker.fix(request_id, lat, lng)["off_route"] for _ in range(14)]
        assert off == [True] * 14
        reroute = walker.next("reroute")
        new_id = reroute["new_request_id"]
        assert reroute == {"type": "reroute", "request_id": request_id, "new_request_id": new_id}
        assert walker.next("subscribed")["request_id"] == new_id
        while (status := walker.next("route_generation_status"))["status"] != "succeeded":
            assert status["request_id"] == new_id and status["status"] in ("queued", "running")
        done = wait_final(gateway, new_id).json()
        assert done["rerouted_from"] == request_id
        new_start = done["route"]["points"][0]
        assert abs(new_start["lat"] - lat) < 0.003 and abs(new_start["lng"] - lng) < 0.005
        assert len(walker.of("reroute")) == 1  # one per spell off the route
        # the walk goes on along the new route
        start_walk(walker, new_id)
        new_points = trace(done["route"]["geometry"]["coordinates"], 40.0)
        guidance = walker.fix(new_id, *new_points[1])
        assert guidance["off_route"] is False and guidance["arrived"] in (0, None)


def test_someone_elses_route_cannot_be_walked(gateway, router) -> None:
    request_id = submit(gateway, {**BODY, "duration_minutes": 20})
    assert wait_final(gateway, request_id).json()["status"] == "succeeded"
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    other = stack.ws_protocols(gateway, "admin")  # another account
    with ws_connect(ws_url, subprotocols=other, open_timeout=5) as socket:
        socket.send(json.dumps({"type": "walk.start", "request_id": request_id}))
        answer = json.loads(socket.recv(timeout=10))
        assert (answer["type"], answer["code"]) == ("error", "not_found")
