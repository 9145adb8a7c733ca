"""End to end: time from POST /api/v1/routes to the `succeeded` event on a WebSocket,
p50/p95 over N requests on a cache miss, then the same N requests again (cache hits).

Start points are drawn over the Helsinki demo area; each request has its own seed, so
every first request is a miss and every repeat a hit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness import base, ingest_helsinki, private_stack  # noqa: E402

from tests.e2e import stack  # noqa: E402

HELSINKI = (60.160, 60.180, 24.925, 24.960)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


async def one(client: httpx.AsyncClient, socket, body: dict) -> tuple[float, str]:
    started = time.perf_counter()
    response = await client.post("/api/v1/routes", json=body)
    response.raise_for_status()
    request_id = response.json()["request_id"]
    await socket.send(json.dumps({"type": "subscribe", "request_id": request_id}))
    while True:
        frame = json.loads(await socket.recv())
        if frame.get("request_id") != request_id or frame.get("type") != "route_generation_status":
            continue
        if frame["status"] in ("succeeded", "failed"):
            await socket.send(json.dumps({"type": "unsubscribe", "request_id": request_id}))
            return time.perf_counter() - started, frame["status"]


async def measure(url: str, cookie: str, bodies: list[dict]) -> dict[str, float]:
    ws_url = url.replace("http://", "ws://") + "/ws"
    headers = {"Cookie": f"session={cookie}"}
    times, failed = [], 0
    async with (
        httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client,
        connect(ws_url, additional_headers=headers, max_queue=None) as socket,
    ):
        for body in bodies:
            elapsed, status = await one(client, socket, body)
            times.append(elapsed * 1000)
            failed += status != "succeeded"
    return {
        "requests": len(bodies),
        "failed": failed,
        "p50_ms": percentile(times, 50),
        "p95_ms": percentile(times, 95),
        "max_ms": max(times),
    }


def bodies(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "start": {
                "lat": round(rng.uniform(*HELSINKI[:2]), 5),
                "lng": round(rng.uniform(*HELSINKI[2:]), 5),
            },
            "duration_minutes": rng.choice([30, 60, 90]),
            "preferences": rng.sample(["history", "art", "nature", "architecture"], 2),
            "seed": index,
        }
        for index in range(count)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    with private_stack({"RATE_LIMIT_PER_MINUTE": "100000"}) as bench:
        ingest_helsinki(bench.env)
        gateway = bench.add(stack.gateway(bench.env))
        bench.add(stack.router(bench.env))
        cookie = bench.login(gateway)
        work = bodies(args.requests, 42)
        miss = asyncio.run(measure(base(gateway), cookie, work))
        hit = asyncio.run(measure(base(gateway), cookie, work))
    result = {
        "cache_miss": miss,
        "cache_hit": hit,
        "targets": {"miss_p95_lt_2s": miss["p95_ms"] < 2000, "hit_p95_lt_50ms": hit["p95_ms"] < 50},
    }
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
