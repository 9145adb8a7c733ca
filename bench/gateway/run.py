"""Gateway submission throughput and latency, beside a bare Starlette "hello".

Measures, in one run on this machine: wrk's requests/s against the hello app and
against authenticated `POST /api/v1/routes` (session cookie, fresh Idempotency-Key,
validation, idempotency claim, PostgreSQL write, JetStream publish acknowledged), then
the gateway's latency at half its measured throughput with an open-loop generator,
then the same load against `GATEWAY_WORKERS` processes (`--workers`, default 2).
Targets (issue 19): <= 0.2 ms of gateway CPU per submission, so >= 14 % of hello's
requests/s per process; `GATEWAY_WORKERS=2` >= 1.7x one process's requests/s on this
2-core machine; p99 < 50 ms at half load. The load average before and after is
recorded: on a machine shared with other work, the throughput figures (not the CPU per
request as much) drop with it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from fixed_rate import run as fixed_rate  # noqa: E402
from harness import base, ensure_tool, private_stack  # noqa: E402

from tests.e2e import stack  # noqa: E402
from wildside_common.testing.servers import free_port, wait_for_port  # noqa: E402


def wrk(
    url: str,
    seconds: int,
    connections: int,
    script: Path | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, float]:
    command = [
        ensure_tool("wrk", "wrk"),
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--latency",
        url,
    ]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    done = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stdout}{done.stderr}")
    output = done.stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": rps,
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process and its live child processes (the workers of
    `GATEWAY_WORKERS`) have used so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(child) for child in children(pid))


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy so far (/proc/stat, all cores)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")


def client_cpu() -> float:
    """CPU seconds of this process's finished children: wrk, once each run has ended."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured(pid: int, seconds: int, run: Callable[[], dict[str, float]]) -> dict[str, float]:
    """wrk's figures plus the server's CPU per request over the same run, and the cores
    used meanwhile by wrk itself and by the whole machine (other work included)."""
    before, client, busy = cpu_seconds(pid), client_cpu(), machine_busy()
    result = run()
    used = cpu_seconds(pid) - before
    result["cpu_ms_per_request"] = 1000 * used / max(1.0, result["rps"] * seconds)
    result["cpu_utilisation"] = used / seconds
    result["client_cores"] = (client_cpu() - client) / seconds
    result["machine_busy_cores"] = (machine_busy() - busy) / seconds
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="GATEWAY_WORKERS of the last run")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    # Logs as in production (INFO: one access line per request).
    extra = {"RATE_LIMIT_PER_MINUTE": "100000000", "DB_POOL_SIZE": "20", "LOG_LEVEL": "INFO"}
    with private_stack(extra) as bench:
        gateway = bench.add(stack.gateway(bench.env))
        cookie = bench.login(gateway)
        hello_port = free_port()
        hello = subprocess.Popen([sys.executable, str(HERE / "hello_app.py"), str(hello_port)])
        try:
            wait_for_port(hello_port)
            wrk(f"http://127.0.0.1:{hello_port}/", 3, args.connections)  # warm-up
            hello_result = measured(
                hello.pid,
                args.seconds,
                lambda: wrk(f"http://127.0.0.1:{hello_port}/", args.seconds, args.connections),
            )
        finally:
            hello.terminate()
            hello.wait()
        url = f"{base(gateway)}/api/v1/routes"
        session = {"WILDSIDE_SESSION": cookie}
        wrk(url, 3, args.connections, HERE / "post_routes.lua", session)
        assert gateway.process is not None
        gateway_result = measured(
            gateway.process.pid,
            args.seconds,
            lambda: wrk(url, args.seconds, args.connections, HERE / "post_routes.lua", session),
        )
        # More clients at once (larger batches): for reading, not for the target.
        crowd = measured(
            gateway.process.pid,
            args.seconds,
            lambda: wrk(url, args.seconds, 4 * args.connections, HERE / "post_routes.lua", session),
        )
        crowd["connections"] = 4 * args.connections
        time.sleep(2)
        half = fixed_rate(url, cookie, gateway_result["rps"] / 2, args.seconds)
        gateway.stop()
        # The same gateway with batching off (each submission its own transaction, Redis
        # round trips and publish), for comparison in this run.
        single = bench.add(
            stack.gateway({**bench.env, "SUBMIT_BATCH_MAX": "1", "SUBMIT_BATCH_CONCURRENCY": "64"})
        )
        assert single.process is not None
        single_url = f"{base(single)}/api/v1/routes"
        wrk(single_url, 3, args.connections, HERE / "post_routes.lua", session)
        unbatched = measured(
            single.process.pid,
            args.seconds,
            lambda: wrk(
                single_url, args.seconds, args.connections, HERE / "post_routes.lua", session
            ),
        )
        single.stop()
        # Several processes on the one port (GATEWAY_WORKERS), the target's load.
        several = bench.add(stack.gateway({**bench.env, "GATEWAY_WORKERS": str(args.workers)}))
        assert several.process is not None
        several_url = f"{base(several)}/api/v1/routes"
        wrk(several_url, 3, args.connections, HERE / "post_routes.lua", session)
        workers = measured(
            several.process.pid,
            args.seconds,
            lambda: wrk(
                several_url, args.seconds, args.connections, HERE / "post_routes.lua", session
            ),
        )
        workers["workers"] = args.workers
    ratio = gateway_result["rps"] / hello_result["rps"]
    speedup = workers["rps"] / gateway_result["rps"]
    result = {
        "hello": hello_result,
        "gateway_post_routes": gateway_result,
        "gateway_more_clients": crowd,
        "gateway_unbatched": unbatched,
        "gateway_workers": workers,
        "ratio": ratio,
        "workers_speedup": speedup,
        "half_load": half,
        "load_average": {
            "before": load_before[0],
            "after": os.getloadavg()[0],
            "cores": os.cpu_count(),
        },
        "targets": {
            "cpu_le_0_2ms": gateway_result["cpu_ms_per_request"] <= 0.2,
            "ratio_ge_0_14": ratio >= 0.14,
            "workers_speedup_ge_1_7": speedup >= 1.7,
            "p99_lt_50ms": half["p99_ms"] < 50,
        },
    }
    args.out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
