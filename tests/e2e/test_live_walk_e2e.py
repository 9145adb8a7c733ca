"""A live walk through the running stack, on the Helsinki demo data (real places along
real streets): a succeeded route, then a trace replayed along its own geometry over /ws
(gateway -> core NATS -> the router's guide -> Redis -> core NATS -> gateway -> socket):
guidance after each position, arrivals at every stop in order; someone else's route
cannot be walked."""

from __future__ import annotations

import itertools
import json
import math
import time

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


def test_a_walk_replayed_along_its_route_is_guided_to_every_stop(
    helsinki: str,  # noqa: F811 (the fixture, first: data before the router starts)
    gateway: stack.Service,
    router: stack.Service,
) -> None:
    body = {"start": SENATE_SQUARE, "duration_minutes": 30, "preferences": ["history"]}
    request_id = submit(gateway, body)
    done = wait_final(gateway, request_id).json()
    assert done["status"] == "succeeded"
    route = done["route"]
    points = trace(route["geometry"]["coordinates"], 40.0)
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    with ws_connect(ws_url, subprotocols=stack.ws_protocols(gateway), open_timeout=5) as socket:
        socket.send(json.dumps({"type": "walk.start", "request_id": request_id}))
        assert json.loads(socket.recv(timeout=10)) == {
            "type": "walk.started",
            "request_id": request_id,
        }
        arrivals, frames = [], []
        for lat, lng in points:
            frame = {"type": "position", "request_id": request_id, "lat": lat, "lng": lng}
            frame |= {"accuracy_m": 5, "timestamp": round(time.time() * 1000)}
            socket.send(json.dumps(frame))
            guidance = json.loads(socket.recv(timeout=10))
            assert guidance["type"] == "guidance", guidance
            assert guidance["request_id"] == request_id and guidance["off_route"] is False
            frames.append(guidance)
            if guidance["arrived"] is not None:
                arrivals.append(guidance["arrived"])
            time.sleep(0.55)  # at most 2 positions a second
        assert len(route["points"]) >= 3, route["points"]  # at least one place on the way
        # `arrived` names the last stop a position reached: in order, up to the end
        assert arrivals == sorted(set(arrivals)), arrivals
        assert len(arrivals) >= 3, arrivals  # the start, a place, the end at least
        assert arrivals[-1] == len(route["points"]) - 1, (arrivals, route["points"])
        assert frames[-1]["next_stop"]["index"] == len(route["points"]) - 1
        assert frames[-1]["progress"]["fraction"] == pytest.approx(1.0, abs=0.01)
        socket.send(json.dumps({"type": "walk.stop", "request_id": request_id}))
        assert json.loads(socket.recv(timeout=10))["type"] == "walk.stopped"


def test_someone_elses_route_cannot_be_walked(gateway, router) -> None:
    request_id = submit(gateway, {**BODY, "duration_minutes": 20})
    assert wait_final(gateway, request_id).json()["status"] == "succeeded"
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    other = stack.ws_protocols(gateway, "admin")  # another account
    with ws_connect(ws_url, subprotocols=other, open_timeout=5) as socket:
        socket.send(json.dumps({"type": "walk.start", "request_id": request_id}))
        answer = json.loads(socket.recv(timeout=10))
        assert (answer["type"], answer["code"]) == ("error", "not_found")
