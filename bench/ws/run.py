"""WebSocket fan-out on one gateway process: N subscribed sockets, status events
published to JetStream as the router publishes them, delivery lag per event.

Lag = receipt time at the client - the event's `timestamp` (set at publish), so it
includes the bus hop, the gateway's fan-out and the client's own loop: a pessimistic
figure. Also reports the gateway's RSS with every socket open.
Targets: 1,000 sockets, p99 lag < 100 ms, RSS < 200 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import nats
from websockets.asyncio.client import connect

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness import base, private_stack, rss_mb  # noqa: E402

from tests.e2e import stack  # noqa: E402
from wildside_common.bus.publisher import publish_nowait  # noqa: E402
from wildside_common.bus.topology import status_subject  # noqa: E402
from wildside_common.messages import RouteGenerationStatus, RouteStatus  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def seed_requests(database_url: str, count: int) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        user_id = await conn.fetchval("SELECT id FROM users WHERE username = 'demo'")
        ids = [uuid.uuid4() for _ in range(count)]
        await conn.copy_records_to_table(
            "route_requests",
            columns=["id", "user_id", "status", "progress", "payload"],
            records=[(i, user_id, "running", 5, "{}") for i in ids],
        )
        return [str(i) for i in ids]
    finally:
        await conn.close()


async def client(
    url: str,
    cookie: str,
    request_id: str,
    lags: list[float],
    ready: asyncio.Event,
    expected: int,
    done: asyncio.Queue[None],
) -> None:
    async with connect(
        url, additional_headers={"Cookie": f"session={cookie}"}, open_timeout=60, ping_interval=None
    ) as socket:
        await socket.send(json.dumps({"type": "subscribe", "request_id": request_id}))
        await socket.recv()  # subscribed
        await socket.recv()  # latest status
        await done.put(None)
        await ready.wait()
        received = 0
        while received < expected:
            frame = json.loads(await socket.recv())
            sent = datetime.fromisoformat(frame["timestamp"].replace("Z", "+00:00"))
            lags.append((datetime.now(UTC) - sent).total_seconds() * 1000)
            received += 1


async def fan_out(
    gateway_url: str,
    nats_url: str,
    cookie: str,
    request_ids: list[str],
    rounds: int,
    gateway_pid: int,
    spread: float = 1.0,
) -> dict[str, float]:
    lags: list[float] = []
    ready = asyncio.Event()
    connected: asyncio.Queue[None] = asyncio.Queue()
    ws_url = gateway_url.replace("http://", "ws://") + "/ws"
    tasks = [
        asyncio.create_task(client(ws_url, cookie, rid, lags, ready, rounds, connected))
        for rid in request_ids
    ]
    for _ in request_ids:
        await connected.get()
    rss = rss_mb(gateway_pid)
    ready.set()
    bus = await nats.connect(nats_url)
    started = time.perf_counter()
    # Events trickle as routers publish them: each round gives every socket one event,
    # spread evenly over `spread` seconds; each event is stamped the moment it is sent.
    for round_index in range(rounds):
        progress = 10 + round_index * (89 // rounds)
        round_start = time.perf_counter()
        for index, rid in enumerate(request_ids):
            due = round_start + spread * index / len(request_ids)
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            event = RouteGenerationStatus(rid, RouteStatus.RUNNING, progress, datetime.now(UTC))
            await publish_nowait(bus, status_subject(rid), event)
    await asyncio.wait_for(asyncio.gather(*tasks), 120)
    elapsed = time.perf_counter() - started
    await bus.close()
    return {
        "sockets": len(request_ids),
        "events": len(lags),
        "rounds": rounds,
        "events_per_second": round(len(request_ids) / spread),
        "p50_lag_ms": percentile(lags, 50),
        "p99_lag_ms": percentile(lags, 99),
        "max_lag_ms": max(lags),
        "gateway_rss_mb": round(rss, 1),
        "gateway_rss_after_mb": round(rss_mb(gateway_pid), 1),
        "seconds": elapsed,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument(
        "--spread", type=float, default=1.0, help="seconds over which each round's events are sent"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    with private_stack() as bench:
        gateway = bench.add(stack.gateway(bench.env))
        cookie = bench.login(gateway)
        ids = asyncio.run(seed_requests(bench.env["DATABASE_URL"], args.sockets))
        result = asyncio.run(
            fan_out(
                base(gateway),
                bench.env["NATS_URL"],
                cookie,
                ids,
                args.rounds,
                gateway.process.pid,
                args.spread,
            )
        )
    result["targets"] = {
        "p99_lt_100ms": result["p99_lag_ms"] < 100,
        "rss_lt_200mb": result["gateway_rss_after_mb"] < 200,
    }
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
