"""Soak: mixed load for `--minutes` against a private stack, each process's resources sampled.

    .venv/bin/python bench/soak/run.py [--minutes 20] [--interval 10] [--out ...]

A private stack (scratch database with the Helsinki demo extract, own nats-server, Redis
prefix): one gateway (relaying /tiles to the development tile server), one router, the
development tile server. The load, at a moderate fixed rate (per second, by default):

  - 1 new route request (a distinct body: a cache miss the router plans), handed to one
    of the WebSocket subscribers, which waits for its final status;
  - 2 repeats of a request that succeeded earlier (a cache hit), each read back;
  - 1 `GET /api/v1/routes` listing (the first page, then its `next` page);
  - 4 z14 tiles over central Helsinki through the gateway (POI and base layers);
  - 8 WebSocket subscribers, each reconnecting once a minute (sockets opened and closed).

Every `--interval` seconds each service process (and nats-server) is sampled: RSS and
open file descriptors (/proc/PID/status, /proc/PID/fd) and its established connections
to PostgreSQL (its socket inodes in /proc/net/tcp); and pg_stat_activity's count for the
stack's database. After the warm-up (a quarter of the run, at most 5 minutes) a
least-squares line per process and measure gives the slope per minute. Flat means below:

  - RSS 1 MB/min. What 15 minutes at this load can call a leak: at ~650 HTTP requests a
    minute plus socket traffic, 1 MB/min is ~1.6 KB per request, less than one request's
    own objects (its body, response, span and log record), so leaking those on every
    request is over it; bounded caches filling up (the plan and session caches) and the allocator
    taking arenas level off within the warm-up. The router's distance rows (64 MB at most)
    fill for longer, since the load's starts are random: its gauge is sampled too and
    reported beside the router's slope. A leak smaller than that needs a longer soak to
    show; the slopes are reported, not only the verdict.
  - open fds 0.1/min and PostgreSQL connections 0.05/min: both should be constant once
    the pools are full; a leaked descriptor every 10 minutes (a connection, a socket)
    is over it.

The logs of every service (at WARNING, as the benches run) are scanned for error and
critical lines and tracebacks; the load's own failures (a non-2xx answer, a status that
never came) are counted. Any of them, or a slope over its threshold, is a miss.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from harness import (  # noqa: E402
    Stack,
    base,
    ingest_helsinki,
    load_average,
    open_fds,
    private_stack,
    rss_mb,
    socket_inodes,
    tcp_inodes_to,
)

from tests.e2e import stack  # noqa: E402
from wildside_router.domain.network import DISTANCE_CACHE_BYTES  # noqa: E402

HELSINKI = (60.160, 60.180, 24.925, 24.960)
TILES = [(14, x, y) for x in (9326, 9327, 9328) for y in (4741, 4742, 4743)]
THRESHOLDS = {"rss_mb": 1.0, "fds": 0.1, "db_connections": 0.05}  # per minute
SOCKETS = 8


def as_role(url: str, role: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))


@dataclass
class Load:
    """What the load did, by kind: done, failed, and the first few failures' text."""

    done: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    succeeded: list[dict[str, Any]] = field(default_factory=list)  # bodies, for repeats

    def ok(self, kind: str) -> None:
        self.done[kind] = self.done.get(kind, 0) + 1

    def fail(self, kind: str, what: str) -> None:
        self.failed[kind] = self.failed.get(kind, 0) + 1
        if len(self.examples) < 10:
            self.examples.append(f"{kind}: {what[:300]}")


def body(rng: random.Random, seed: int) -> dict[str, Any]:
    return {
        "start": {
            "lat": round(rng.uniform(*HELSINKI[:2]), 5),
            "lng": round(rng.uniform(*HELSINKI[2:]), 5),
        },
        "duration_minutes": rng.choice([30, 60, 90]),
        "preferences": rng.sample(["history", "art", "nature", "architecture"], 2),
        "seed": seed,
    }


async def every(period: float, stop: float, action: Any) -> None:
    """Call `action()` every `period` seconds until `stop` (monotonic), not overlapping."""
    tick = time.monotonic()
    while tick < stop:
        await action()
        tick += period
        await asyncio.sleep(max(0.0, tick - time.monotonic()))


async def subscriber(url: str, cookie: str, jobs: asyncio.Queue[tuple[str, dict[str, Any]]],
                     load: Load, stop: float) -> None:  # fmt: skip
    """A WebSocket that waits for each handed request's final status; reconnects every
    minute (so sockets open and close through the run)."""
    ws_url = url.replace("http://", "ws://") + "/ws"
    headers = {"Cookie": f"session={cookie}"}
    while time.monotonic() < stop:
        reconnect = time.monotonic() + 60
        try:
            async with connect(ws_url, additional_headers=headers, max_queue=None) as socket:
                load.ok("socket_opened")
                while time.monotonic() < min(reconnect, stop):
                    try:
                        request_id, sent = await asyncio.wait_for(jobs.get(), 1.0)
                    except TimeoutError:
                        continue
                    await socket.send(json.dumps({"type": "subscribe", "request_id": request_id}))
                    status = await asyncio.wait_for(final_status(socket, request_id), 30)
                    await socket.send(json.dumps({"type": "unsubscribe", "request_id": request_id}))
                    if status == "succeeded":
                        load.ok("status_succeeded")
                        load.succeeded.append(sent)
                    else:
                        load.fail("status", f"{request_id} {status}")
        except Exception as exc:  # counted: the soak's verdict says no error
            load.fail("socket", repr(exc))
            await asyncio.sleep(1.0)


async def final_status(socket: Any, request_id: str) -> str:
    while True:
        frame = json.loads(await socket.recv())
        if frame.get("request_id") != request_id or frame.get("type") != "route_generation_status":
            continue
        if frame["status"] in ("succeeded", "failed", "cancelled"):
            return str(frame["status"])


async def run_load(url: str, token: str, cookie: str, seconds: float, load: Load) -> None:
    stop = time.monotonic() + seconds
    rng = random.Random(17)
    jobs: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    headers = {"Authorization": f"Bearer {token}"}
    seeds = iter(range(10**9))
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:

        async def checked(kind: str, response: httpx.Response, *expected: int) -> bool:
            if response.status_code in expected:
                load.ok(kind)
                return True
            load.fail(kind, f"{response.status_code} {response.text}")
            return False

        async def submit() -> None:
            sent = body(rng, next(seeds))
            response = await client.post("/api/v1/routes", json=sent)
            if await checked("submit", response, 202):
                await jobs.put((response.json()["request_id"], sent))

        async def repeat() -> None:
            if not load.succeeded:
                return
            response = await client.post("/api/v1/routes", json=rng.choice(load.succeeded))
            if not await checked("repeat", response, 202):
                return
            read = await client.get(f"/api/v1/routes/{response.json()['request_id']}")
            if await checked("repeat_read", read, 200, 202) and read.status_code == 200:
                load.ok("cache_hit")  # final at once: answered from the cache

        async def listing() -> None:
            response = await client.get("/api/v1/routes", params={"limit": 20})
            if await checked("listing", response, 200):
                following = (response.json().get("links") or {}).get("next")
                if following:
                    await checked("listing", await client.get(following), 200)

        async def tile() -> None:
            source = rng.choice(["get_poi_tile", "get_base_tile"])
            z, x, y = rng.choice(TILES)
            await checked("tile", await client.get(f"/tiles/{source}/{z}/{x}/{y}"), 200, 204)

        def guarded(kind: str, action: Any) -> Any:
            async def call() -> None:
                try:
                    await action()
                except Exception as exc:
                    load.fail(kind, repr(exc))

            return call

        await asyncio.gather(
            every(1.0, stop, guarded("submit", submit)),
            every(0.5, stop, guarded("repeat", repeat)),
            every(1.0, stop, guarded("listing", listing)),
            every(0.25, stop, guarded("tile", tile)),
            *(subscriber(url, cookie, jobs, load, stop) for _ in range(SOCKETS)),
        )


def process_tree(pid: int) -> list[int]:
    """The process and its descendants (a gateway with GATEWAY_WORKERS > 1 has children)."""
    found = [pid]
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
            for child in children:
                found += process_tree(int(child))
    return found


def processes(bench: Stack) -> dict[str, int]:
    named: dict[str, int] = {}
    for service in bench.services:
        if service.process is None:
            continue
        for index, pid in enumerate(process_tree(service.process.pid)):
            named[service.name if index == 0 else f"{service.name}.{index}"] = pid
    if bench.nats_pid is not None:
        named["nats-server"] = bench.nats_pid
    return named


async def database_connections(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    finally:
        await conn.close()


async def sampler(bench: Stack, started: float, seconds: float, interval: float,
                  samples: list[dict[str, Any]]) -> None:  # fmt: skip
    database_url = bench.env["DATABASE_URL"]
    pg_port = urlsplit(database_url).port or 5432
    stop = started + seconds
    while True:
        established = tcp_inodes_to(pg_port)
        sample: dict[str, Any] = {
            "minute": round((time.monotonic() - started) / 60, 4),
            "load_average": load_average()[0],
            "database_connections": await database_connections(database_url),
            "processes": {},
        }
        for name, pid in processes(bench).items():
            with contextlib.suppress(OSError):
                sample["processes"][name] = {
                    "rss_mb": round(rss_mb(pid), 2),
                    "fds": open_fds(pid),
                    "db_connections": len(socket_inodes(pid) & established),
                }
        cache = await distance_cache_mb(bench)
        if cache is not None:
            sample["router_distance_cache_mb"] = round(cache, 3)
        samples.append(sample)
        if time.monotonic() >= stop:
            return
        await asyncio.sleep(min(interval, max(0.0, stop - time.monotonic())))


async def distance_cache_mb(bench: Stack) -> float | None:
    """The router's cached distance rows in MB (its gauge), or None if it does not answer."""
    router = next((s for s in bench.services if s.name == "router" and s.metrics_url), None)
    if router is None:
        return None
    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            text = (await client.get(router.metrics_url)).text
    except httpx.HTTPError:
        return None
    found = re.search(r"^wildside_router_distance_cache_bytes (\S+)$", text, re.MULTILINE)
    return float(found.group(1)) / 2**20 if found else None


def cache_trend(samples: list[dict[str, Any]], warmup: float) -> dict[str, Any] | None:
    """The router's distance cache after the warm-up: first, last, slope (MB, MB/min). It
    is bounded (`DISTANCE_CACHE_BYTES`): the part of the router's RSS slope that stops."""
    points = [
        (s["minute"], s["router_distance_cache_mb"])
        for s in samples
        if s["minute"] >= warmup and "router_distance_cache_mb" in s
    ]
    if not points:
        return None
    return {
        "first": points[0][1],
        "last": points[-1][1],
        "slope_per_minute": round(slope(points), 4),
        "bound_mb": DISTANCE_CACHE_BYTES / 2**20,
    }


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope (per minute) of (minute, value) points."""
    n = len(points)
    if n < 2:
        return float("nan")
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / var if var else float("nan")


def trends(samples: list[dict[str, Any]], warmup: float) -> dict[str, Any]:
    after = [s for s in samples if s["minute"] >= warmup]
    names = sorted({name for s in after for name in s["processes"]})
    result: dict[str, Any] = {}
    for name in names:
        rows = [(s["minute"], s["processes"][name]) for s in after if name in s["processes"]]
        result[name] = {}
        for measure, limit in THRESHOLDS.items():
            values = [(minute, float(row[measure])) for minute, row in rows]
            per_minute = slope(values)
            result[name][measure] = {
                "slope_per_minute": round(per_minute, 4),
                "first": values[0][1] if values else None,
                "last": values[-1][1] if values else None,
                "min": min(v for _, v in values) if values else None,
                "max": max(v for _, v in values) if values else None,
                "threshold_per_minute": limit,
                "flat": abs(per_minute) < limit,
            }
    database = [(s["minute"], float(s["database_connections"])) for s in after]
    result["pg_stat_activity"] = {
        "db_connections": {
            "slope_per_minute": round(slope(database), 4),
            "min": min(v for _, v in database),
            "max": max(v for _, v in database),
            "threshold_per_minute": THRESHOLDS["db_connections"],
            "flat": abs(slope(database)) < THRESHOLDS["db_connections"],
        }
    }
    return result


ERROR_LINE = re.compile(r'"level":\s*"(error|critical)"|Traceback \(most recent call last\)')
WARNING_LINE = re.compile(r'"level":\s*"warning"')


def scan_logs(logs: dict[str, Path]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, path in logs.items():
        errors, warnings, lines = [], 0, 0
        with contextlib.suppress(OSError), path.open(errors="replace") as file:
            for line in file:
                lines += 1
                if ERROR_LINE.search(line):
                    errors.append(line.strip()[:400])
                elif WARNING_LINE.search(line):
                    warnings += 1
        found[name] = {
            "log": str(path),
            "lines": lines,
            "errors": len(errors),
            "warnings": warnings,
            "first_errors": errors[:5],
        }
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "soak" / "results.json")
    args = parser.parse_args()
    seconds = args.minutes * 60
    warmup = min(5.0, args.minutes / 4)
    load, samples = Load(), []
    load_before = load_average()
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    with private_stack({"RATE_LIMIT_PER_MINUTE": "1000000"}) as bench:
        ingest_helsinki(bench.env)
        url = bench.env["DATABASE_URL"]
        tiles = bench.add(
            stack.tiles_dev(
                {
                    **bench.env,
                    "DATABASE_URL": as_role(url, "tiles_auth_ro"),
                    "TILES_DATABASE_URL": as_role(url, "martin_ro"),
                }
            )
        )
        gateway = bench.add(stack.gateway({**bench.env, "TILES_DEV_UPSTREAM": base(tiles)}))
        bench.add(stack.router(bench.env))
        cookie = bench.login(gateway)
        logs = {service.name: service.log_path for service in bench.services}

        async def soak() -> None:
            started = time.monotonic()
            await asyncio.gather(
                run_load(base(gateway), cookie, cookie, seconds, load),
                sampler(bench, started, seconds, args.interval, samples),
            )

        asyncio.run(soak())
        alive = {s.name: s.process is not None and s.process.poll() is None for s in bench.services}
    load_after = load_average()
    found = trends(samples, warmup)
    scanned = scan_logs(logs)
    flat = all(m["flat"] for measures in found.values() for m in measures.values())
    log_errors = sum(entry["errors"] for entry in scanned.values())
    load_failures = sum(load.failed.values())
    result = {
        "when": when,
        "minutes": args.minutes,
        "interval_seconds": args.interval,
        "warmup_minutes": warmup,
        "cores": os.cpu_count(),
        "load_average": {"before": load_before[0], "after": load_after[0]},
        "load_average_max": max(s["load_average"] for s in samples),
        "thresholds_per_minute": THRESHOLDS,
        "load": {"done": load.done, "failed": load.failed, "examples": load.examples},
        "requests_per_minute": round(
            sum(load.done.get(k, 0) for k in ("submit", "repeat", "repeat_read", "listing", "tile"))
            / args.minutes,
            1,
        ),
        "trends": found,
        "router_distance_cache": cache_trend(samples, warmup),
        "logs": scanned,
        "alive_at_end": alive,
        "targets": {
            "flat": flat,
            "no_log_errors": log_errors == 0,
            "no_load_failures": load_failures == 0,
            "all_alive": all(alive.values()),
            "full_length": args.minutes >= 20,
        },
        "samples": samples,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))


if __name__ == "__main__":
    main()
