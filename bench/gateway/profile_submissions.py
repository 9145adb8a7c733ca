"""Where a submission's CPU goes: py-spy samples the gateway under the submission load.

Starts the same private stack as `run.py`, drives authenticated `POST /api/v1/routes`
with wrk (post_routes.lua) and records the gateway with py-spy (`--format raw`, folded
stacks) for the same seconds; prints the functions with the most samples, by own time
and by total time (a function counted once per stack). py-spy is a development tool
(requirements-dev.txt); it needs to be allowed to read the gateway's memory (root, or
CAP_SYS_PTRACE).

    .venv/bin/python bench/gateway/profile_submissions.py --seconds 15 --out /tmp/gateway.folded
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from harness import base, private_stack  # noqa: E402
from run import wrk  # noqa: E402

from tests.e2e import stack  # noqa: E402

LINE = re.compile(r":\d+\)$")


def stacks(folded: Path) -> list[tuple[str, int]]:
    """(stack, samples) per line of py-spy's folded output; a line that is not one (a frame
    name with a line break in it splits its line in two) is left out."""
    result = []
    for line in folded.read_text().splitlines():
        stack_text, _, count_text = line.rpartition(" ")
        if stack_text and count_text.isdigit():
            result.append((stack_text, int(count_text)))
    return result


def top(folded: Path, limit: int) -> list[str]:
    """The heaviest frames of py-spy's folded stacks, as `self %  total %  frame` lines."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for stack_text, count in stacks(folded):
        # By function, not by line: "name (file:line)" -> "name (file)".
        frames = [LINE.sub(")", frame) for frame in stack_text.split(";")]
        samples += count
        own[frames[-1]] += count
        for frame in set(frames):
            total[frame] += count
    lines = [f"{samples} samples", "", "self %  total %  frame (by own time)"]
    lines += [
        f"{100 * n / samples:6.1f}  {100 * total[f] / samples:7.1f}  {f}"
        for f, n in own.most_common(limit)
    ]
    lines += ["", "total %  frame (by total time)"]
    lines += [f"{100 * n / samples:7.1f}  {f}" for f, n in total.most_common(limit)]
    return lines


# Each sample goes to the area of its innermost frame that names one (the C event loop
# when the innermost frame is the loop itself).
AREAS = (
    ("logging", ("logging/", "wildside_common/logs.py")),
    ("tracing", ("trace/", "_decorator.py", "attributes/", "context/", "propagat", "util/")),
    ("metrics", ("prometheus_client",)),
    ("nats", ("nats/",)),
    ("postgres (asyncpg)", ("asyncpg",)),
    ("redis", ("redis/",)),
    ("encoding (json, msgpack)", ("json/", "msgpack", "wildside_common/codec.py")),
    ("http server (uvicorn)", ("uvicorn/", "httptools")),
    ("starlette", ("starlette/",)),
    ("gateway code", ("wildside_gateway/",)),
    ("common code", ("wildside_common/",)),
    ("asyncio (incl. socket writes)", ("asyncio/",)),
)


def areas(folded: Path) -> list[str]:
    counts: Counter[str] = Counter()
    for stack_text, count in stacks(folded):
        frames = stack_text.split(";")
        area = "other"
        if frames[-1].startswith("Runner.run"):
            area = "event loop (uvloop, C)"
        else:
            for frame in reversed(frames):
                hit = next((name for name, keys in AREAS if any(k in frame for k in keys)), None)
                if hit is not None:
                    area = hit
                    break
        counts[area] += count
    samples = sum(counts.values())
    return ["share  area"] + [f"{100 * n / samples:5.1f}  {a}" for a, n in counts.most_common()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path, default=Path("/tmp/gateway.folded"))
    parser.add_argument("--read", type=Path, help="only summarise this folded file (no run)")
    args = parser.parse_args()
    if args.read is not None:
        print("\n".join(top(args.read, args.top)))
        print()
        print("\n".join(areas(args.read)))
        return
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    extra = {"RATE_LIMIT_PER_MINUTE": "100000000", "DB_POOL_SIZE": "20", "LOG_LEVEL": "INFO"}
    with private_stack(extra) as bench:
        gateway = bench.add(stack.gateway(bench.env))
        cookie = bench.login(gateway)
        url = f"{base(gateway)}/api/v1/routes"
        session = {"WILDSIDE_SESSION": cookie}
        wrk(url, 3, args.connections, HERE / "post_routes.lua", session)  # warm-up
        assert gateway.process is not None
        record = [spy, "record", "--pid", str(gateway.process.pid), "--format", "raw"]
        record += ["--rate", str(args.rate), "--duration", str(args.seconds)]
        record += ["--output", str(args.out), "--nonblocking"]
        spying = threading.Thread(target=subprocess.run, args=(record,), kwargs={"check": True})
        spying.start()
        load = wrk(url, args.seconds, args.connections, HERE / "post_routes.lua", session)
        spying.join()
    print(f"{load['rps']:.0f} requests/s during the profile")
    print("\n".join(top(args.out, args.top)))
    print()
    print("\n".join(areas(args.out)))


if __name__ == "__main__":
    main()
