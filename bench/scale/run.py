"""Scale out: routers with 1, 2 and 3 processes, and two enrichers collapsing duplicates.

    .venv/bin/python bench/scale/run.py [--window 30] [--backlog 2000] [--out ...]

Routers. A private stack (scratch database with the Helsinki demo extract, own
nats-server, Redis prefix) and one gateway. For each process count N in 1, 2, 3: a
backlog of distinct route requests (each its own seed and start, so every one is a cache
miss that the router plans) is submitted through the gateway while no router runs; then N
`wildside-router` processes start, and once all are ready (and a short warm-up), the
requests that end (succeeded or failed, from the database) over a `--window`-second
window give routes per second at saturation. The backlog must not run dry inside the
window (checked: requests still queued at its end), and each router's CPU over the window
(/proc) says whether it had a core to itself. The routers stop before the next N; what
they left queued stays in the backlog, topped up to `--backlog`.

The target (issue 17): the work is CPU-bound, so 2 processes on this 2-core machine
should give at least 1.7x the routes per second of 1; 3 cannot beat 2 there (no third
core), which the run shows rather than assumes.

Enricher. Two `wildside-enricher` replicas against a fake Overpass (a local HTTP server
answering every query after `--overpass-delay` seconds, so duplicates overlap in flight)
are given `--areas` distinct areas, each `--copies` times (same bbox and themes, so the
same collapse key; each copy its own job id), published interleaved on JetStream. When
every job has its provenance row, the number of Overpass calls should equal the number
of distinct areas: duplicates collapse within a replica (the in-flight future) and
across replicas (the Redis claim).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT / "services" / "enricher" / "tests"))

from enricher_fakes import FakeOverpass, Reply, answer, node  # noqa: E402
from harness import (  # noqa: E402
    Stack,
    base,
    cpu_seconds,
    ingest_helsinki,
    load_average,
    machine_jiffies,
    private_stack,
)

from tests.e2e import stack  # noqa: E402
from wildside_common.bus.connection import connect  # noqa: E402
from wildside_common.bus.publisher import publish  # noqa: E402
from wildside_common.bus.topology import ENRICHMENT_JOB_SUBJECT  # noqa: E402
from wildside_common.messages import BoundingBox, EnrichmentJob, utc_now  # noqa: E402
from wildside_common.testing.servers import unique_prefix  # noqa: E402

HELSINKI = (60.160, 60.180, 24.925, 24.960)
TARGET_SPEEDUP = 1.7
FINAL = ("succeeded", "failed", "cancelled")


def bodies(count: int, seed: int) -> list[dict[str, Any]]:
    """Distinct requests over the Helsinki demo area (as bench/e2e draws them)."""
    rng = random.Random(seed)
    return [
        {
            "start": {
                "lat": round(rng.uniform(*HELSINKI[:2]), 5),
                "lng": round(rng.uniform(*HELSINKI[2:]), 5),
            },
            "duration_minutes": rng.choice([30, 60, 90]),
            "preferences": rng.sample(["history", "art", "nature", "architecture"], 2),
            "seed": seed * 1_000_000 + index,
        }
        for index in range(count)
    ]


async def submit(url: str, cookie: str, work: list[dict[str, Any]], parallel: int = 16) -> int:
    """POST every body; the number accepted (202)."""
    queue = list(reversed(work))
    accepted = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal accepted
        while queue:
            body = queue.pop()
            for _ in range(20):
                response = await client.post("/api/v1/routes", json=body)
                if response.status_code in (429, 503):
                    await asyncio.sleep(0.2)
                    continue
                response.raise_for_status()
                accepted += 1
                break

    headers = {"Cookie": f"session={cookie}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(parallel)))
    return accepted


async def counts(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT status, count(*) AS n FROM route_requests GROUP BY status")
    finally:
        await conn.close()
    found = {row["status"]: int(row["n"]) for row in rows}
    found["ended"] = sum(found.get(status, 0) for status in FINAL)
    return found


async def backend_pids(database_url: str) -> list[int]:
    """PostgreSQL's backend processes serving the stack's database (same machine)."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


def cpu_of(pids: list[int]) -> dict[int, float]:
    found = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # gone
            found[pid] = cpu_seconds(pid)
    return found


class CpuWindow:
    """CPU of the routers, the gateway, nats-server and the database's backends, and of
    the whole machine, over one window (cores: CPU seconds per wall second)."""

    def __init__(self, bench: Stack, routers: list[int], gateway: int) -> None:
        self.bench, self.routers, self.gateway = bench, routers, gateway

    def sample(self) -> dict[str, Any]:
        backends = asyncio.run(backend_pids(self.bench.env["DATABASE_URL"]))
        others = [self.gateway] + ([self.bench.nats_pid] if self.bench.nats_pid else [])
        return {
            "at": time.monotonic(),
            "routers": cpu_of(self.routers),
            "others": cpu_of(others),
            "postgres": cpu_of(backends),
            "machine": machine_jiffies(),
        }

    @staticmethod
    def cores(start: dict[str, Any], end: dict[str, Any]) -> dict[str, Any]:
        seconds = end["at"] - start["at"]

        def delta(kind: str) -> dict[int, float]:
            return {pid: end[kind][pid] - start[kind].get(pid, 0.0) for pid in end[kind]}

        routers, others, postgres = delta("routers"), delta("others"), delta("postgres")
        busy = end["machine"][0] - start["machine"][0]
        total = end["machine"][1] - start["machine"][1]
        machine = (os.cpu_count() or 1) * busy / max(1, total)
        ours = sum(routers.values()) + sum(others.values()) + sum(postgres.values())
        values = list(others.values())
        return {
            "routers": [round(value / seconds, 3) for value in routers.values()],
            "gateway": round(values[0] / seconds, 3),
            "nats": round(values[1] / seconds, 3) if len(values) > 1 else None,
            "postgres": round(sum(postgres.values()) / seconds, 3),
            "machine": round(machine, 3),
            "rest_of_machine": round(max(0.0, machine - ours / seconds), 3),
        }


def routers_phase(bench: Stack, gateway: stack.Service, cookie: str, processes: int,
                  backlog: int, window: float, warmup: float) -> dict[str, Any]:  # fmt: skip
    url = bench.env["DATABASE_URL"]
    before = asyncio.run(counts(url))
    waiting = before.get("queued", 0) + before.get("running", 0)
    top_up = max(0, backlog - waiting)
    accepted = asyncio.run(submit(base(gateway), cookie, bodies(top_up, 100 + processes)))
    routers = [stack.router(bench.env) for _ in range(processes)]
    for router in routers:
        router.start()
    try:
        for router in routers:
            router.wait_ready(120)
        time.sleep(warmup)
        pids = [router.process.pid for router in routers if router.process is not None]
        assert gateway.process is not None
        cpu = CpuWindow(bench, pids, gateway.process.pid)
        load_before = load_average()
        start_counts, started = asyncio.run(counts(url)), time.monotonic()
        start_cpu = cpu.sample()
        time.sleep(window)
        end_cpu = cpu.sample()
        end_counts, ended = asyncio.run(counts(url)), time.monotonic()
        load_after = load_average()
    finally:
        for router in routers:
            router.stop()
    seconds = ended - started
    done = end_counts["ended"] - start_counts["ended"]
    cores = CpuWindow.cores(start_cpu, end_cpu)
    router_cpu = sum(cores["routers"]) * seconds
    failed = end_counts.get("failed", 0) - start_counts.get("failed", 0)
    return {
        "processes": processes,
        "submitted": accepted,
        "backlog_at_start": waiting + accepted,
        "window_seconds": round(seconds, 2),
        "routes": done,
        "failed": failed,
        "routes_per_second": round(done / seconds, 2),
        "router_concurrency": int(bench.env.get("ROUTER_CONCURRENCY", "2")),
        "cores": cores,
        # Routes per second of router CPU: flat across N when the work scales with the CPU
        # the routers get (the speedup then depends only on how many cores they got).
        "routes_per_router_core_second": round(done / max(1e-9, router_cpu), 2),
        "still_queued_at_end": end_counts.get("queued", 0),
        "saturated": end_counts.get("queued", 0) > 0,
        "load_average": {"before": load_before[0], "after": load_after[0]},
    }


def bbox_of(index: int) -> BoundingBox:
    """Distinct areas, each well apart from the others (several collapse grid cells)."""
    south = 60.10 + 0.01 * index
    return BoundingBox(south, 24.90, south + 0.005, 24.905)


async def publish_jobs(nats_url: str, areas: int, copies: int) -> int:
    client = await connect(nats_url, "wildside-bench-scale", attempts=5, wait=0.2)
    js = client.jetstream()
    sent = 0
    try:
        for _ in range(copies):  # interleaved: area 0, 1, ..., then the copies again
            for index in range(areas):
                job = EnrichmentJob(str(uuid.uuid4()), bbox_of(index), ("history",), utc_now())
                await publish(js, ENRICHMENT_JOB_SUBJECT, job, msg_id=job.job_id)
                sent += 1
    finally:
        await client.close()
    return sent


async def provenance_rows(database_url: str) -> tuple[int, int]:
    """(provenance rows, distinct jobs' bboxes among them)."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS n, count(DISTINCT ST_AsText(bbox)) AS areas "
            "FROM enrichment_provenance"
        )
    finally:
        await conn.close()
    return int(row["n"]), int(row["areas"])


class OverpassThread:
    """The fake Overpass on its own event loop in a thread (the bench's code is sync)."""

    def __init__(self, delay: float) -> None:
        body = answer([node(1, 60.1, 24.9, historic="monument", name="Bench")])
        self.server = FakeOverpass(Reply(body=body, delay=delay))
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> FakeOverpass:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def metric_sum(text: str, prefix: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix)
    )


def enricher_phase(bench: Stack, areas: int, copies: int, delay: float) -> dict[str, Any]:
    with OverpassThread(delay) as overpass:
        env = {
            **bench.env,
            "OVERPASS_URLS": overpass.url,
            "ENRICHER_CONTACT": "bench@example.org",
            "ENRICHER_REDIS_PREFIX": unique_prefix() + "enricher:",
            "ENRICHER_RETRY_BASE_SECONDS": "0.05",
            "ENRICHER_TIMEOUT_SECONDS": "10",
            "ENRICHER_HTTP_TIMEOUT_SECONDS": "10",
        }
        replicas = [bench.add(stack.enricher(env)) for _ in range(2)]
        started = time.monotonic()
        sent = asyncio.run(publish_jobs(bench.env["NATS_URL"], areas, copies))
        deadline = started + 120
        rows = distinct = 0
        while time.monotonic() < deadline:
            rows, distinct = asyncio.run(provenance_rows(bench.env["DATABASE_URL"]))
            if rows >= sent:
                break
            time.sleep(0.2)
        seconds = time.monotonic() - started
        time.sleep(1.0)  # room for a call that should not happen
        texts = [httpx.get(r.metrics_url, timeout=5).text for r in replicas]
        calls = len(overpass.requests)
        for replica in replicas:
            replica.stop()
        bench.services = [s for s in bench.services if s not in replicas]
    per_replica = [
        {
            outcome: metric_sum(text, f'wildside_enrichment_jobs_total{{outcome="{outcome}"}}')
            for outcome in ("enriched", "collapsed")
        }
        for text in texts
    ]
    return {
        "replicas": 2,
        "areas": areas,
        "copies_per_area": copies,
        "jobs_published": sent,
        "jobs_done": rows,
        "areas_recorded": distinct,
        "overpass_calls": calls,
        "overpass_delay_seconds": delay,
        "seconds": round(seconds, 2),
        "per_replica": per_replica,
        "collapsed": calls == areas and rows == sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--backlog", type=int, default=2000)
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--areas", type=int, default=10)
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--overpass-delay", type=float, default=0.5)
    parser.add_argument("--router-concurrency", type=int, default=2)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "scale" / "results.json")
    args = parser.parse_args()
    load_before = load_average()
    extra = {"RATE_LIMIT_PER_MINUTE": "1000000", "ROUTER_CONCURRENCY": str(args.router_concurrency)}
    with private_stack(extra) as bench:
        ingest_helsinki(bench.env)
        gateway = bench.add(stack.gateway(bench.env))
        cookie = bench.login(gateway)
        phases = []
        for processes in args.processes:
            phase = routers_phase(
                bench, gateway, cookie, processes, args.backlog, args.window, args.warmup
            )
            print(json.dumps(phase), flush=True)
            phases.append(phase)
        enricher = enricher_phase(bench, args.areas, args.copies, args.overpass_delay)
        print(json.dumps(enricher), flush=True)
    rate = {phase["processes"]: phase["routes_per_second"] for phase in phases}
    one = rate.get(1)
    speedups = {f"{n}/1": round(r / one, 3) for n, r in rate.items() if one and n != 1}
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cores": os.cpu_count(),
        "load_average": {"before": load_before[0], "after": load_average()[0]},
        "routers": phases,
        "speedup": speedups,
        "targets": {
            "two_processes_ge_1_7x": speedups.get("2/1", 0.0) >= TARGET_SPEEDUP,
            "three_not_above_two": rate.get(3, 0.0) <= 1.05 * rate.get(2, 0.0),
            "duplicates_collapse": enricher["collapsed"],
        },
        "enricher": enricher,
    }
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
