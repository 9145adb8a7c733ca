"""Who uses the CPU while wrk drives `POST /api/v1/routes`: an A/B and diagnosis tool.

Starts `run.py`'s private stack with one gateway (`--workers N`: `GATEWAY_WORKERS`,
`--env KEY=VALUE` for any other setting), drives it with wrk (post_routes.lua) for
`--rounds` rounds and prints, per round: requests/s, the gateway's CPU per request
and cores used, and the cores used meanwhile by wrk itself (the bench's client), the
stack's nats-server, every PostgreSQL process and every redis-server process on the
machine (shared with other work), and the whole machine (/proc/stat). When the
machine is near its 2 cores, a second gateway process has nothing to run on.

    .venv/bin/python bench/gateway/cpu_split.py --seconds 10 --rounds 2 --workers 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness import base, private_stack  # noqa: E402
from run import children, cpu_seconds, wrk  # noqa: E402

from tests.e2e import stack  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def by_name(name: str) -> float:
    """CPU seconds of every live process whose command name is `name`."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    total += process_cpu(int(entry.name))
            except OSError:
                continue
    return total


def machine() -> tuple[float, float]:
    """(busy, total) CPU seconds of the machine so far."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / TICK, sum(values[:8]) / TICK


def batches(gateway: stack.Service) -> tuple[float, float]:
    """(submissions, batches) the gateway has processed so far (one process's figures
    with GATEWAY_WORKERS: the metrics port serves whichever process answers)."""
    found = {}
    for line in httpx.get(gateway.metrics_url, timeout=5).text.splitlines():
        name, _, value = line.partition(" ")
        found[name] = value
    total = float(found.get("wildside_submission_batch_size_sum", 0))
    return total, float(found.get("wildside_submission_batch_size_count", 0))


def snapshot(gateway_pid: int) -> dict[str, float]:
    own_children = children(os.getpid())
    nats = sum(process_cpu(pid) for pid in own_children if "nats" in _comm(pid))
    busy, total = machine()
    return {
        "gateway": cpu_seconds(gateway_pid),
        "wrk": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        + resource.getrusage(resource.RUSAGE_CHILDREN).ru_stime,
        "nats": nats,
        "postgres": by_name("postgres"),
        "redis": by_name("redis-server"),
        "machine_busy": busy,
        "machine_total": total,
    }


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for the gateway")
    args = parser.parse_args()
    extra = {"RATE_LIMIT_PER_MINUTE": "100000000", "DB_POOL_SIZE": "20", "LOG_LEVEL": "INFO"}
    settings = dict(item.split("=", 1) for item in args.env)
    if args.workers > 1:
        settings["GATEWAY_WORKERS"] = str(args.workers)
    with private_stack(extra) as bench:
        gateway = bench.add(stack.gateway({**bench.env, **settings}))
        cookie = bench.login(gateway)
        url = f"{base(gateway)}/api/v1/routes"
        session = {"WILDSIDE_SESSION": cookie}
        wrk(url, 3, args.connections, HERE / "post_routes.lua", session)  # warm-up
        assert gateway.process is not None
        for _ in range(args.rounds):
            items, count = batches(gateway)
            before = snapshot(gateway.process.pid)
            started = time.monotonic()
            result = wrk(url, args.seconds, args.connections, HERE / "post_routes.lua", session)
            elapsed = time.monotonic() - started
            after = snapshot(gateway.process.pid)
            used = {key: after[key] - before[key] for key in before}
            items_after, count_after = batches(gateway)
            requests = result["rps"] * args.seconds
            row = {
                "rps": round(result["rps"]),
                "non_2xx": result["non_2xx"],
                "gateway_cpu_ms_per_request": round(1000 * used["gateway"] / requests, 3),
                "cores": {
                    key: round(used[key] / elapsed, 2)
                    for key in ("gateway", "wrk", "nats", "postgres", "redis", "machine_busy")
                },
                "mean_batch": round((items_after - items) / max(1.0, count_after - count), 1),
                "machine_cores": round(used["machine_total"] / elapsed, 2),
                "load_average": os.getloadavg()[0],
            }
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
