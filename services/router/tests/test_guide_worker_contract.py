"""The guide worker through the router's real bootstrap (core NATS, Redis walk state,
PostgreSQL route results) on a nats-server of its own: a succeeded route's walk replayed
position by position gets guidance back, arrivals at every stop in order; two replicas in
the queue group share the walk (each takes positions, the state carries over); positions
of an unknown walk, malformed or inaccurate ones get no answer; tips name near places of
the walk's themes from PostGIS, never twice; off the route for 20 s asks for one reroute
from where the walker stands; a saved route's walk is guided by its id."""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from jsonschema import Draft202012Validator
from prometheus_client import REGISTRY

from wildside_common.bus.topology import walk_guidance_subject, walk_position_subject
from wildside_common.config import EnvReader
from wildside_common.messages import GenerateRouteJob
from wildside_common.route import Route, route_to_json
from wildside_common.testing import servers
from wildside_common.testing.db import insert_user
from wildside_common.testing.routes import example_route
from wildside_common.testing.servers import unique_prefix
from wildside_router.adapters.outbound.walk_store_redis import RedisWalkStore
from wildside_router.bootstrap import Router, bootstrap
from wildside_router.config import RouterSettings
from wildside_router.ports import Progress

pytestmark = pytest.mark.contract


ASYNCAPI = Path(__file__).resolve().parents[3] / "schemas" / "asyncapi.yaml"


def message_schema(name: str) -> Draft202012Validator:
    """A message's payload schema in schemas/asyncapi.yaml, its local $refs inlined."""
    document = yaml.safe_load(ASYNCAPI.read_text("utf-8"))

    def inline(node: Any) -> Any:
        if isinstance(node, list):
            return [inline(item) for item in node]
        if not isinstance(node, dict):
            return node
        if isinstance(node.get("$ref"), str):
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return inline(target)
        return {key: inline(value) for key, value in node.items()}

    return Draft202012Validator(inline(document["components"]["messages"][name]["payload"]))


GUIDANCE = message_schema("WalkGuidance")
TIP = message_schema("WalkTip")
REROUTE_WANTED = message_schema("WalkRerouteWanted")
POSITION = message_schema("WalkPosition")


class NoPlanner:
    async def plan(self, job: GenerateRouteJob, progress: Progress) -> Route:
        raise AssertionError("the guide never plans")


@pytest.fixture(scope="module")
def own_nats() -> Iterator[servers.NatsServer]:
    with servers.nats_server() as server:
        yield server


@pytest.fixture
def guide_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings of the guide a test changes (by parametrizing this fixture indirectly)."""
    return dict(getattr(request, "param", {}))


@pytest.fixture
async def replicas(
    own_nats: servers.NatsServer, database_url: str, redis_url: str, guide_env: dict[str, str]
) -> AsyncIterator[list[Router]]:
    env = {
        "DATABASE_URL": database_url,
        "NATS_URL": own_nats.url,
        "REDIS_URL": redis_url,
        "REDIS_PREFIX": unique_prefix(),
        **guide_env,
    }
    async with AsyncExitStack() as stack:
        routers = [
            await stack.enter_async_context(
                bootstrap(RouterSettings.from_env(EnvReader(env)), planner=NoPlanner())
            )
            for _ in range(2)
        ]
        yield routers


async def succeeded(router: Router, route: Route, payload: dict[str, Any] | None = None) -> str:
    user_id = await insert_user(router.pool, "guide")
    request_id = str(uuid.uuid4())
    await router.pool.execute(
        "INSERT INTO route_requests (id, user_id, payload) VALUES ($1, $2, $3)",
        uuid.UUID(request_id),
        uuid.UUID(user_id),
        payload or {},
    )
    assert await router.store.save_result(request_id, route)
    return request_id


def trace(route: Route, step_m: float = 10.0) -> list[tuple[float, float]]:
    """(lat, lng) every `step_m` metres along the route's geometry."""
    out = [(route.geometry[0][1], route.geometry[0][0])]
    for (lng1, lat1), (lng2, lat2) in zip(route.geometry, route.geometry[1:], strict=False):
        metres = math.hypot((lat2 - lat1) * 111_195, (lng2 - lng1) * 55_400)
        k = max(1, math.ceil(metres / step_m))
        out.extend(
            (lat1 + (lat2 - lat1) * j / k, lng1 + (lng2 - lng1) * j / k) for j in range(1, k + 1)
        )
    return out


def position(
    request_id: str, lat: float, lng: float, accuracy: float = 5.0, at: float | None = None
) -> bytes:
    frame = {"request_id": request_id, "lat": lat, "lng": lng}
    frame |= {"accuracy_m": accuracy, "timestamp": time.time() if at is None else at}
    POSITION.validate(frame)  # what the gateway will publish
    return orjson.dumps(frame)


async def test_a_replayed_walk_is_guided_to_every_stop_by_both_replicas(
    replicas: list[Router],
) -> None:
    route = example_route()
    request_id = await succeeded(replicas[0], route)
    nats = replicas[0].nats
    sub = await nats.subscribe(walk_guidance_subject(request_id))
    arrivals, frames = [], []
    for lat, lng in trace(route):
        await nats.publish(walk_position_subject(request_id), position(request_id, lat, lng))
        msg = await sub.next_msg(timeout=5)
        frame = orjson.loads(msg.data)
        frames.append(frame)
        GUIDANCE.validate(frame)  # the documented frame, as /ws will forward it
        assert frame["type"] == "guidance" and frame["request_id"] == request_id
        assert frame["off_route"] is False
        if frame["arrived"] is not None:
            arrivals.append(frame["arrived"])
        await asyncio.sleep(0.002)  # timestamps strictly increase
    assert arrivals == [0, 1, 2, 3]
    assert frames[-1]["progress"]["fraction"] == pytest.approx(1.0, abs=1e-3)
    walked = [f["progress"]["walked_m"] for f in frames]
    assert walked == sorted(walked)  # the state carried over from replica to replica
    handled = [r.guide.subscription.delivered for r in replicas if r.guide.subscription]
    assert len(handled) == 2 and all(n > 0 for n in handled)
    assert sum(handled) == len(frames)
    # The walk's state (its only copy of a position) expires an hour after the last one.
    walks = replicas[1].guide.use_case.walks
    assert isinstance(walks, RedisWalkStore)
    key = f"{walks.prefix}walk:{request_id}"
    assert 3590 <= await walks.redis.ttl(key) <= 3600
    stored = await walks.get(request_id)
    assert stored is not None and stored[2].reached == len(route.stops)
    # A walk that expired between reading and writing its state is not stored again
    # (it would hold a position with no TTL): the next position loads it afresh.
    gone = str(uuid.uuid4())
    assert not await walks.put_state(gone, stored[2])
    assert not await walks.redis.exists(f"{walks.prefix}walk:{gone}")
    assert await walks.put_state(request_id, stored[2])
    assert 3590 <= await walks.redis.ttl(key) <= 3600
    await sub.unsubscribe()


async def test_unknown_walks_malformed_and_inaccurate_positions_get_no_answer(
    replicas: list[Router],
) -> None:
    route = example_route()
    request_id = await succeeded(replicas[0], route)
    stranger = str(uuid.uuid4())
    nats = replicas[0].nats
    sub = await nats.subscribe("wildside.walk.guidance.*")
    lat, lng = route.stops[0].lat, route.stops[0].lng
    await nats.publish(walk_position_subject(stranger), position(stranger, lat, lng))
    await nats.publish(walk_position_subject(request_id), b"not json")
    await nats.publish(walk_position_subject(request_id), b'{"request_id": "x", "lat": 1}')
    inaccurate = position(request_id, lat, lng, accuracy=150.0)
    await nats.publish(walk_position_subject(request_id), inaccurate)
    with pytest.raises(TimeoutError):
        await sub.next_msg(timeout=1.0)
    await nats.publish(walk_position_subject(request_id), position(request_id, lat, lng))
    msg = await sub.next_msg(timeout=5)
    assert msg.subject == walk_guidance_subject(request_id)
    assert orjson.loads(msg.data)["arrived"] == 0
    await sub.unsubscribe()


async def add_places(router: Router, places: list[tuple[str, str, list[str], float, float]]) -> int:
    """Named places (element type, name, themes, lat, lng) under fresh ids; the first id."""
    base = int(await router.pool.fetchval("SELECT coalesce(max(id), 0) + 1000 FROM pois"))
    await router.pool.executemany(
        """INSERT INTO pois (element_type, id, location, name, themes, source)
           VALUES ($1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4326)::geography, $5, $6,
                   'osm_ingest')""",
        [(kind, base + i, lng, lat, name, themes)
         for i, (kind, name, themes, lat, lng) in enumerate(places)],
    )  # fmt: skip
    return base


async def replay(
    router: Router, sub: Any, request_id: str, fixes: list[tuple[float, float, float]]
) -> list[dict[str, Any]]:
    """Publish each (lat, lng, timestamp) once the last one's guidance came back (as a
    walker does, a second apart); every frame of the walk, in the order received."""
    out: list[dict[str, Any]] = []
    for lat, lng, at in fixes:
        msg = position(request_id, lat, lng, at=at)
        await router.nats.publish(walk_position_subject(request_id), msg)
        while True:  # a tip or reroute of the last position may come first
            out.append(orjson.loads((await sub.next_msg(timeout=5)).data))
            if out[-1]["type"] == "guidance":
                break
    while True:  # what follows the last guidance
        try:
            out.append(orjson.loads((await sub.next_msg(timeout=0.5)).data))
        except TimeoutError:
            return out


@pytest.mark.parametrize("guide_env", [{"GUIDE_TIP_INTERVAL_SECONDS": "5"}], indirect=True)
async def test_tips_name_near_places_of_the_walkers_themes_never_twice_nor_on_the_walk(
    replicas: list[Router],
) -> None:
    route = example_route()
    start = route.stops[0]
    request_id = await succeeded(replicas[0], route, {"preferences": ["history"]})
    base = await add_places(
        replicas[0],
        [
            ("node", "Tip Test Chapel", ["history"], start.lat + 0.0001, start.lng),  # 11 m
            ("node", "Tip Test Cafe", ["food"], start.lat, start.lng + 0.0001),  # not wanted
            ("node", "Tip Test Far Tower", ["history"], start.lat + 0.01, start.lng),  # 1.1 km
            ("node", "Tip Test Bell", ["art", "history"], start.lat + 0.0003, start.lng),  # 33 m
        ],
    )
    nats = replicas[0].nats
    sub = await nats.subscribe(walk_guidance_subject(request_id))
    tips_before = REGISTRY.get_sample_value("guide_frames_total", {"type": "tip"}) or 0.0
    t0 = time.time()  # standing at the start, one position a (simulated) second
    frames = await replay(
        replicas[0], sub, request_id, [(start.lat, start.lng, t0 + i) for i in range(12)]
    )
    tips = [f for f in frames if f["type"] == "tip"]
    for tip in tips:
        TIP.validate(tip)
    assert [f["type"] for f in frames].count("guidance") == 12
    assert tips[0]["poi"]["id"] == f"node/{base}" and tips[0]["poi"]["name"] == "Tip Test Chapel"
    assert tips[0]["distance_m"] == pytest.approx(11.1, abs=0.5)
    ids = [t["poi"]["id"] for t in tips]
    assert len(ids) == len(set(ids))  # never the same place twice
    assert f"node/{base + 1}" not in ids and f"node/{base + 2}" not in ids
    assert all("history" in t["poi"]["themes"] for t in tips)
    assert all(t["detour_minutes"] <= 5.0 for t in tips)
    # the nearest first; 5 s later (looked up again after 10 positions) the next nearest,
    # then none: the chapel was given already
    assert ids == [f"node/{base}", f"node/{base + 3}"]
    tips_after = REGISTRY.get_sample_value("guide_frames_total", {"type": "tip"})
    assert tips_after == tips_before + 2  # counted (both replicas share this registry)
    stored = await replicas[1].guide.use_case.walks.get(request_id)
    assert stored is not None and set(stored[2].tips_given) <= set(ids)
    await sub.unsubscribe()


async def test_off_the_route_for_twenty_seconds_asks_for_one_reroute(
    replicas: list[Router],
) -> None:
    route = example_route()
    start = route.stops[0]
    payload = {"duration_minutes": 60, "preferences": ["art"]}
    request_id = await succeeded(replicas[0], route, payload)
    sub = await replicas[0].nats.subscribe(walk_guidance_subject(request_id))
    t0 = time.time()
    away = (start.lat, start.lng - 0.0015)  # 83 m west of the route's first leg
    fixes = [(*((start.lat, start.lng) if i < 5 else away), t0 + i) for i in range(40)]
    frames = await replay(replicas[0], sub, request_id, fixes)
    guidance = [f for f in frames if f["type"] == "guidance"]
    wanted = [f for f in frames if f["type"] == "reroute.wanted"]
    assert len(guidance) == 40 and [g["off_route"] for g in guidance] == [False] * 5 + [True] * 35
    assert len(wanted) == 1, wanted  # one per spell off the route
    REROUTE_WANTED.validate(wanted[0])
    asked = wanted[0]["route_request"]
    assert wanted[0]["reroute"] == 1 and wanted[0]["request_id"] == request_id
    assert asked["start"] == {"lat": away[0], "lng": away[1]}
    assert asked["preferences"] == ["art"] and "end" not in asked
    assert asked["duration_minutes"] == 60  # 25 s of the hour gone: 59.6 minutes, rounded up
    await sub.unsubscribe()


async def test_a_saved_routes_walk_is_guided_by_its_id(replicas: list[Router]) -> None:
    route = example_route()
    pool = replicas[0].pool
    user_id = await insert_user(pool, "saver")
    saved_id = str(uuid.uuid4())  # the request it came from has expired: no such row
    await pool.execute(
        "INSERT INTO saved_routes (id, user_id, request_id, name, payload, route) "
        "VALUES ($1, $2, $3, 'Kept', $4, $5)",
        uuid.UUID(saved_id),
        uuid.UUID(user_id),
        uuid.uuid4(),
        {"duration_minutes": 50, "preferences": ["art"]},
        route_to_json(route),
    )
    nats = replicas[0].nats
    sub = await nats.subscribe(walk_guidance_subject(saved_id))
    start = route.stops[0]
    await nats.publish(walk_position_subject(saved_id), position(saved_id, start.lat, start.lng))
    frame = orjson.loads((await sub.next_msg(timeout=5)).data)
    GUIDANCE.validate(frame)
    assert (frame["request_id"], frame["arrived"]) == (saved_id, 0)
    stored = await replicas[1].guide.use_case.walks.get(saved_id)
    assert stored is not None and stored[1].themes == ("art",)
    assert stored[1].duration_minutes == 50
    await sub.unsubscribe()
