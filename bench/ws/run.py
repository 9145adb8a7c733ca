"""WebSocket fan-out on one gateway process: N subscribed sockets, status events
published to JetStream as the router publishes them, delivery lag per event.

Lag = receipt time at the client - the event's `timestamp` (set at publish), so it
includes the bus hop, the gateway's fan-out and the client's own loop: a pessimistic
figure. Also reports the gateway's RSS and open file descriptors with every socket open.

One run measures each socket count in `--sockets` (by default 1,000 then 10,000), each on
a fresh gateway process of the same stack, at the same event rate (`--rate`, 1,000
events/s: each socket gets `--events` events in all, spread evenly). Targets (issue 19):
p99 lag < 100 ms at both; gateway RSS < 200 MB at 1,000 sockets, < 1 GB at 10,000.

The clients are `--sockets-per-client` sockets per client process (separate processes,
so that a single Python event loop on the client side is not what is measured), opened
with bounded concurrency (`--connect-concurrency` per process) so the handshakes never
overrun the gateway's listen backlog. The bench raises RLIMIT_NOFILE's soft limit to the
hard one in itself, which the gateway and the client processes inherit; a hard limit
too low for the sockets is reported, not worked around. No gateway setting is changed:
the gateway has no per-user or per-address socket cap and no handshake rate limit, and
uvicorn's defaults (no `limit_concurrency`, backlog 2048) are what an operator runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import asyncpg
import nats
import orjson
from websockets.asyncio.client import ClientConnection, connect

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))

from harness import (  # noqa: E402
    Stack,
    base,
    cpu_seconds,
    open_files,
    private_stack,
    raise_open_files,
    rss_mb,
    run_queue_seconds,
)

from tests.e2e import stack  # noqa: E402
from wildside_common.bus.publisher import publish_nowait  # noqa: E402
from wildside_common.bus.topology import status_subject  # noqa: E402
from wildside_common.messages import RouteGenerationStatus, RouteStatus  # noqa: E402

# Targets from issue 19, by socket count: (p99 lag ms, gateway RSS MB).
TARGETS = {1000: (100.0, 200.0), 10000: (100.0, 1024.0)}
FDS_SPARE = 200  # descriptors a gateway (or a client process) needs beside its sockets


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


# --- client processes -----------------------------------------------------------------


def client_process(
    conn: Connection, ws_url: str, cookie: str, ids: list[str], expected: int, concurrency: int
) -> None:
    """One client process: open its sockets, report, wait for go, collect lags."""
    raise_open_files()
    try:
        import uvloop

        uvloop.run(clients(conn, ws_url, cookie, ids, expected, concurrency))
    except ImportError:  # pragma: no cover - uvloop is a gateway dependency
        asyncio.run(clients(conn, ws_url, cookie, ids, expected, concurrency))


async def clients(
    conn: Connection, ws_url: str, cookie: str, ids: list[str], expected: int, concurrency: int
) -> None:
    gate = asyncio.Semaphore(concurrency)
    go = asyncio.Event()
    failures: Counter[str] = Counter()
    lags: list[float] = []
    arrivals: list[float] = []
    sockets: list[ClientConnection] = []
    opened: asyncio.Queue[bool] = asyncio.Queue()

    async def one(request_id: str) -> int:
        async with gate:
            try:
                socket = await connect(
                    ws_url,
                    additional_headers={"Cookie": f"session={cookie}"},
                    open_timeout=120,
                    ping_interval=None,
                    max_queue=None,
                )
                await socket.send(json.dumps({"type": "subscribe", "request_id": request_id}))
                await socket.recv()  # subscribed
                await socket.recv()  # latest status
            except Exception as exc:
                failures[f"connect: {type(exc).__name__}: {exc}"[:120]] += 1
                await opened.put(False)
                return 0
        sockets.append(socket)
        await opened.put(True)
        await go.wait()
        received = 0
        try:
            while received < expected:
                frame = orjson.loads(await socket.recv())
                sent = datetime.fromisoformat(frame["timestamp"].replace("Z", "+00:00"))
                now = datetime.now(UTC)
                lags.append((now - sent).total_seconds() * 1000)
                arrivals.append(now.timestamp())
                received += 1
        except Exception as exc:
            failures[f"receive: {type(exc).__name__}"] += 1
        return received

    started = time.perf_counter()
    tasks = [asyncio.create_task(one(rid)) for rid in ids]
    ok = 0
    for _ in ids:
        ok += await opened.get()
    conn.send(("connected", ok, time.perf_counter() - started, dict(failures)))
    message = await asyncio.to_thread(conn.recv)
    deadline = float(message[1])
    go.set()
    done, pending = await asyncio.wait(tasks, timeout=deadline)
    for task in pending:
        task.cancel()
    received = sum(task.result() for task in done)
    conn.send(("done", lags, arrivals, len(ids) * expected - received, dict(failures)))
    await asyncio.to_thread(conn.recv)  # close: every process keeps its sockets till then
    await asyncio.gather(*(socket.close() for socket in sockets), return_exceptions=True)
    conn.send(("closed",))


# --- one measurement ------------------------------------------------------------------


async def publish(nats_url: str, ids: list[str], events: int, rate: float) -> float:
    """`events` rounds over the ids, every event stamped the moment it is sent, evenly
    spaced at `rate` events/s overall (as routers publish them); the seconds it took."""
    bus = await nats.connect(nats_url)
    started = time.perf_counter()
    sent = 0
    for round_index in range(events):
        progress = 10 + round_index * (89 // events)
        for rid in ids:
            due = started + sent / rate
            if (delay := due - time.perf_counter()) > 0:
                await asyncio.sleep(delay)
            event = RouteGenerationStatus(rid, RouteStatus.RUNNING, progress, datetime.now(UTC))
            await publish_nowait(bus, status_subject(rid), event)
            sent += 1
    await bus.flush()
    elapsed = time.perf_counter() - started
    await bus.close()
    return elapsed


def worst_second(lags: list[float], arrivals: list[float]) -> dict[str, float] | None:
    """The second of the run (from the first arrival) whose events waited longest."""
    if not lags:
        return None
    first = min(arrivals)
    by_second: dict[int, float] = {}
    for lag, arrival in zip(lags, arrivals, strict=True):
        second = int(arrival - first)
        by_second[second] = max(by_second.get(second, 0.0), lag)
    second, lag = max(by_second.items(), key=lambda item: item[1])
    late = sum(1 for value in lags if value >= 100)
    return {"second": second, "max_lag_ms": round(lag, 1), "events_100ms_or_later": late}


def profile(
    pid: int, seconds: float, folder: Path | None, sockets: int
) -> subprocess.Popen[bytes] | None:
    """py-spy (native frames too, so a garbage collection shows) on the gateway for the
    measured seconds, folded stacks into `folder`; only with --profile."""
    if folder is None:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    command = [str(ROOT / ".venv/bin/py-spy"), "record", "-p", str(pid), "--native", "-r", "200"]
    command += ["--format", "raw", "-d", str(int(seconds) + 1)]
    command += ["-o", str(folder / f"gateway-{sockets}.folded")]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def receive(conn: Connection, kind: str, timeout: float) -> tuple[Any, ...]:
    if not conn.poll(timeout):
        raise TimeoutError(f"no {kind!r} from a client process in {timeout:.0f} s")
    message: tuple[Any, ...] = conn.recv()
    if message[0] != kind:
        raise RuntimeError(f"client process sent {message[0]!r}, expected {kind!r}")
    return message


def measure(bench: Stack, cookie: str, ids: list[str], args: argparse.Namespace) -> dict[str, Any]:
    sockets = len(ids)
    load_before = os.getloadavg()
    gateway = stack.gateway(bench.env)
    gateway.start()
    processes: list[multiprocessing.process.BaseProcess] = []
    try:
        gateway.wait_ready(60)
        assert gateway.process is not None
        pid = gateway.process.pid
        idle_rss = rss_mb(pid)
        ws_url = base(gateway).replace("http://", "ws://") + "/ws"
        per = args.sockets_per_client
        slices = [ids[i : i + per] for i in range(0, sockets, per)]
        context = multiprocessing.get_context("spawn")
        pipes = []
        for part in slices:
            ours, theirs = context.Pipe()
            process = context.Process(
                target=client_process,
                args=(theirs, ws_url, cookie, part, args.events, args.connect_concurrency),
                daemon=True,
            )
            process.start()
            processes.append(process)
            pipes.append(ours)
        connected, failures = 0, Counter[str]()
        connect_seconds = 0.0
        for pipe in pipes:
            _, ok, seconds, failed = receive(pipe, "connected", 600)
            connected += ok
            connect_seconds = max(connect_seconds, seconds)
            failures.update(failed)
        rss = rss_mb(pid)
        fds = open_files(pid)
        cpu_before, waited_before = cpu_seconds(pid), run_queue_seconds(pid)
        seconds_expected = sockets * args.events / args.rate
        for pipe in pipes:
            pipe.send(("go", seconds_expected + 60))
        spy = profile(pid, seconds_expected + 2, args.profile, sockets)
        elapsed = asyncio.run(publish(bench.env["NATS_URL"], ids, args.events, args.rate))
        if spy is not None:
            spy.wait(60)
        lags: list[float] = []
        arrivals: list[float] = []
        missing = 0
        for pipe in pipes:
            _, got, times, lost, failed = receive(pipe, "done", seconds_expected + 120)
            lags += got
            arrivals += times
            missing += lost
            failures.update(failed)
        cpu = cpu_seconds(pid) - cpu_before
        waited = run_queue_seconds(pid) - waited_before
        rss_after = rss_mb(pid)
        for pipe in pipes:
            pipe.send(("close",))
        for pipe in pipes:
            receive(pipe, "closed", 120)
    finally:
        for child in processes:
            child.join(30)
            if child.is_alive():
                child.kill()
        gateway.stop()
    p99_target, rss_target = TARGETS.get(sockets, (100.0, float("nan")))
    result: dict[str, Any] = {
        "sockets": sockets,
        "connected": connected,
        "client_processes": len(processes),
        "connect_seconds": round(connect_seconds, 1),
        "events_per_socket": args.events,
        "events": len(lags),
        "missing_events": missing,
        "events_per_second": args.rate,
        "seconds": round(elapsed, 2),
        "p50_lag_ms": round(percentile(lags, 50), 3) if lags else None,
        "p99_lag_ms": round(percentile(lags, 99), 3) if lags else None,
        "max_lag_ms": round(max(lags), 3) if lags else None,
        "gateway_idle_rss_mb": round(idle_rss, 1),
        "gateway_rss_mb": round(rss, 1),
        "gateway_rss_after_mb": round(rss_after, 1),
        "gateway_fds": fds,
        "gateway_cpu_seconds": round(cpu, 2),
        "gateway_cpu_share": round(cpu / elapsed, 3),
        # Ready to run but waiting for a core (other processes on the shared machine).
        "gateway_run_queue_seconds": round(waited, 2),
        "failures": dict(failures),
        "worst_second": worst_second(lags, arrivals),
        "load_average": {"before": load_before, "after": os.getloadavg()},
        "targets": {"p99_lag_ms": p99_target, "rss_mb": rss_target},
    }
    complete = connected == sockets and missing == 0 and bool(lags)
    result["targets"]["p99_met"] = complete and result["p99_lag_ms"] < p99_target
    result["targets"]["rss_met"] = result["gateway_rss_after_mb"] < rss_target
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--events", type=int, default=None, help="events per socket")
    parser.add_argument("--rate", type=float, default=1000.0, help="events per second")
    parser.add_argument("--sockets-per-client", type=int, default=2500)
    parser.add_argument("--connect-concurrency", type=int, default=50)
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    parser.add_argument("--profile", type=Path, help="folder for py-spy's folded stacks")
    args = parser.parse_args()
    soft, hard = raise_open_files()
    results: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "open_files_limit": {"soft": soft, "hard": hard},
        "somaxconn": int(Path("/proc/sys/net/core/somaxconn").read_text()),
        "runs": [],
    }
    with private_stack() as bench:
        # The login is the only request before the sockets: one cookie for them all.
        login = stack.gateway(bench.env)
        bench.add(login)
        cookie = bench.login(login)
        login.stop()
        all_ids = asyncio.run(seed_requests(bench.env["DATABASE_URL"], max(args.sockets)))
        for sockets in args.sockets:
            if sockets + FDS_SPARE > hard:
                results["runs"].append(
                    {
                        "sockets": sockets,
                        "not_run": f"RLIMIT_NOFILE hard limit {hard} is below the "
                        f"{sockets + FDS_SPARE} descriptors the gateway needs",
                    }
                )
                continue
            events = args.events or max(1, 10000 // sockets)
            run_args = argparse.Namespace(**{**vars(args), "events": events})
            result = measure(bench, cookie, all_ids[:sockets], run_args)
            results["runs"].append(result)
            print(json.dumps(result, indent=2), flush=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
