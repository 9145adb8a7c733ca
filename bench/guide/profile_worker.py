"""cProfile of the guide worker's use case over synthetic positions, in this process, with
in-memory fakes in place of Redis, NATS and PostGIS (the stored walk is encoded and decoded
as `RedisWalkStore` does it). Prints the mean CPU per position and the top functions by
cumulative time: `.venv/bin/python bench/guide/profile_worker.py [--positions N]`."""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import pstats
import time
import uuid
from pathlib import Path

import orjson

from wildside_common.route import Route, Stop, route_from_bytes, route_to_bytes
from wildside_router.adapters.inbound.walk_positions import WalkPositions
from wildside_router.adapters.outbound import walk_store_redis as codec
from wildside_router.domain.guide import GuideParams, WalkRequest, WalkState
from wildside_router.domain.tips import TipCandidate
from wildside_router.guiding import GuideWalk

LAT0, LNG0 = 60.17, 24.94
ROOT = str(Path(__file__).resolve().parents[2]) + "/"  # left out of the profile
VERTICES = 160  # as the bench's seed routes (bench/guide/results.md)


def synthetic_route() -> Route:
    """A 160-vertex zig-zag of about 4 km with 6 stops."""
    points = []
    for i in range(VERTICES):
        north, east = i * 25.0, (i % 2) * 8.0
        points.append(
            (LAT0 + north / 111_195.0, LNG0 + east / (111_195.0 * math.cos(math.radians(LAT0))))
        )
    stop_at = [0, 30, 60, 90, 120, VERTICES - 1]
    stops = []
    for k, v in enumerate(stop_at):
        lat, lng = points[v]
        if k in (0, len(stop_at) - 1):
            stops.append(Stop(lat, lng, "start" if k == 0 else "end"))
        else:
            stops.append(Stop(lat, lng, f"place {k}", f"node/{k}", ("history",), 10.0))
    return Route(
        tuple(stops),
        tuple((lng, lat) for lat, lng in points),
        4000.0,
        60.0,
        50.0,
        ("history",),
        6,
        False,
        None,
        "test",
        "test",
        False,
    )


class MemoryWalkStore:
    """`RedisWalkStore` in a dict: the same fields, encoded and decoded the same way."""

    def __init__(self) -> None:
        self.walks: dict[str, dict[str, bytes]] = {}

    async def get(self, walk_id: str) -> tuple[str, WalkRequest, WalkState] | None:
        f = self.walks.get(walk_id)
        if f is None:
            return None
        return f["rev"].decode(), codec.decode_request(f["request"]), codec.decode_state(f["state"])

    async def route(self, walk_id: str) -> Route | None:
        f = self.walks.get(walk_id)
        return None if f is None else route_from_bytes(f["route"])

    async def claim_tip(self, walk_id: str, poi_id: str) -> bool:
        f = self.walks.setdefault(walk_id, {})
        claimed = f.setdefault(f"tip:{poi_id}", b"")
        f[f"tip:{poi_id}"] = b"1"
        return claimed == b""

    async def start(
        self, walk_id: str, route: Route, request: WalkRequest, state: WalkState
    ) -> str:
        raw = route_to_bytes(route)
        rev = codec.route_rev(raw)
        self.walks.setdefault(walk_id, {}).update(
            route=raw,
            rev=rev.encode(),
            request=codec.encode_request(request),
            state=codec.encode_state(state),
        )
        return rev

    async def put_state(self, walk_id: str, state: WalkState) -> bool:
        self.walks[walk_id]["state"] = codec.encode_state(state)
        return True


class Routes:
    def __init__(self, route: Route) -> None:
        self.route = route

    async def walk_of(self, walk_id: str) -> tuple[Route, WalkRequest] | None:
        return self.route, WalkRequest(("history",), 60.0, None)


class Places:
    async def near(
        self, lat: float, lng: float, radius_m: float, themes: object, limit: int
    ) -> list[TipCandidate]:
        return [TipCandidate("node/99", "a place", ("history",), lat + 0.0005, lng)]


class Publisher:
    def __init__(self) -> None:
        self.frames = 0

    async def publish(self, request_id: str, frame: dict[str, object]) -> None:
        orjson.dumps(frame)
        self.frames += 1


class Msg:
    def __init__(self, data: bytes) -> None:
        self.data = data


def positions(route: Route, walkers: int, count: int, now: float) -> list[bytes]:
    """Each walker one position a second along the route, interleaved, from `now` on
    (never stale, however slow the profiled run)."""
    ids = [str(uuid.uuid4()) for _ in range(walkers)]
    per = count // walkers
    out = []
    for step in range(per):
        for w, walk_id in enumerate(ids):
            lng, lat = route.geometry[min((step * 2 + w) // 2, len(route.geometry) - 1)]
            out.append(
                orjson.dumps(
                    {
                        "request_id": walk_id,
                        "lat": lat,
                        "lng": lng,
                        "accuracy_m": 5.0,
                        "timestamp": now + step,
                    }
                )
            )
    return out


async def run(count: int, walkers: int, profile: bool) -> str:
    route = synthetic_route()
    store = MemoryWalkStore()
    publisher = Publisher()
    use_case = GuideWalk(Routes(route), store, publisher, Places(), GuideParams())
    worker = WalkPositions(None, use_case)  # type: ignore[arg-type]  # never subscribes
    msgs = [Msg(m) for m in positions(route, walkers, count, time.time())]
    profiler = cProfile.Profile()
    started = time.process_time()
    if profile:
        profiler.enable()
    for m in msgs:
        await worker.handle(m)  # type: ignore[arg-type]
    await worker.drain()
    if profile:
        profiler.disable()
    cpu = time.process_time() - started
    head = (
        f"{len(msgs)} positions, {walkers} walks, {publisher.frames} frames: "
        f"{cpu / len(msgs) * 1000:.3f} ms CPU per position{' (profiled)' if profile else ''}"
    )
    if not profile:
        return head
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)

    return head + "\n" + out.getvalue().replace(ROOT, "").rstrip()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--positions", type=int, default=5000)
    parser.add_argument("--walkers", type=int, default=100)
    parser.add_argument("--out", type=Path, help="also write the output here")
    args = parser.parse_args()
    lines = [asyncio.run(run(args.positions, args.walkers, False))]
    lines.append(asyncio.run(run(args.positions, args.walkers, True)))
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", "utf-8")


if __name__ == "__main__":
    main()
