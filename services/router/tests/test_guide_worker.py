"""The guide worker with fakes: a walk's plan is cached per walk and route revision (the
route is read again only on a miss, and a cold replica guides the same), and positions of
one walk taken at once are guided one after the other, in order."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import orjson
import pytest

from wildside_common.route import Route
from wildside_common.testing.routes import example_route
from wildside_router.adapters.inbound.walk_positions import WalkPositions
from wildside_router.domain.guide import Position, WalkRequest, WalkState, plan_walk
from wildside_router.domain.tips import TipCandidate
from wildside_router.guiding import GuideWalk
from wildside_router.plan_cache import PlanCache

pytestmark = pytest.mark.unit
ROUTE = example_route()


@dataclass
class Store:
    delay_s: float = 0.0
    walks: dict[str, tuple[str, Route, WalkRequest, WalkState]] = field(default_factory=dict)
    route_reads: int = 0

    async def get(self, walk_id: str) -> tuple[str, WalkRequest, WalkState] | None:
        found = self.walks.get(walk_id)
        await asyncio.sleep(self.delay_s)  # the answer's way back, during which others run
        return None if found is None else (found[0], found[2], found[3])

    async def route(self, walk_id: str) -> Route | None:
        self.route_reads += 1
        return self.walks[walk_id][1]

    async def start(self, walk_id: str, route: Route, request: WalkRequest, s: WalkState) -> str:
        self.walks[walk_id] = ("rev1", route, request, s)
        return "rev1"

    async def put_state(self, walk_id: str, state: WalkState) -> bool:
        rev, route, request, _ = self.walks[walk_id]
        self.walks[walk_id] = (rev, route, request, state)
        return True

    async def claim_tip(self, walk_id: str, poi_id: str) -> bool:
        return True


class Routes:
    async def walk_of(self, walk_id: str) -> tuple[Route, WalkRequest] | None:
        return ROUTE, WalkRequest((), 60.0, None)


class NoPlaces:
    async def near(self, *args: object) -> list[TipCandidate]:
        return []


@dataclass
class Frames:
    sent: list[dict[str, object]] = field(default_factory=list)

    async def publish(self, request_id: str, frame: dict[str, object]) -> None:
        self.sent.append(frame)


def positions(count: int) -> list[Position]:
    now = time.time()
    return [
        Position(lat, lng, 5.0, now - count + i)
        for i, (lng, lat) in enumerate(ROUTE.geometry[:count])
    ]


def test_the_cache_keeps_the_most_recently_used_plans_per_walk_and_revision() -> None:
    cache, plan = PlanCache(size=2), plan_walk(ROUTE)
    cache.put("a", "r1", plan)
    cache.put("b", "r1", plan)
    assert cache.get("a", "r1") is plan  # "a" used last: "b" goes first
    cache.put("c", "r1", plan)
    assert cache.get("b", "r1") is None and cache.get("a", "r1") is plan
    assert cache.get("a", "r2") is None  # another revision of the route: planned again
    assert len(cache) == 2


async def test_later_positions_use_the_cached_plan_and_a_cold_replica_guides_the_same() -> None:
    store, walk_id = Store(), str(uuid.uuid4())
    warm_frames, cold_frames = Frames(), Frames()
    warm = GuideWalk(Routes(), store, warm_frames, NoPlaces())
    first, *rest = positions(len(ROUTE.geometry))
    assert await warm.on_position(walk_id, first, time.time()) == "guided"
    for p in rest[:-1]:
        assert await warm.on_position(walk_id, p, time.time()) == "guided"
    assert store.route_reads == 0  # the first position loaded it; the rest used the plan
    cold = GuideWalk(Routes(), store, cold_frames, NoPlaces())  # another replica
    saved = store.walks[walk_id]
    assert await cold.on_position(walk_id, rest[-1], time.time()) == "guided"
    assert store.route_reads == 1
    store.walks[walk_id] = saved  # the same position again, on the warm replica
    assert await warm.on_position(walk_id, rest[-1], time.time()) == "guided"
    assert cold_frames.sent[-1] == warm_frames.sent[-1]
    assert store.route_reads == 1


async def test_positions_of_one_walk_taken_at_once_are_guided_in_order() -> None:
    store, frames, walk_id = Store(delay_s=0.01), Frames(), str(uuid.uuid4())
    worker = WalkPositions(None, GuideWalk(Routes(), store, frames, NoPlaces()))  # type: ignore[arg-type]

    @dataclass
    class Msg:
        data: bytes

    sent = positions(5)
    for p in sent:
        body = {"request_id": walk_id, "lat": p.lat, "lng": p.lng, "accuracy_m": 5.0}
        await worker.handle(Msg(orjson.dumps({**body, "timestamp": p.timestamp})))  # type: ignore[arg-type]
    await worker.drain()
    state = store.walks[walk_id][3]
    assert state.positions == 5 and state.last_timestamp == sent[-1].timestamp
    assert len(frames.sent) == 5
    assert not worker._walks  # no lock kept for a walk with nothing in flight
