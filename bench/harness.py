"""Benchmark harness: a private stack (scratch database, own nats-server, Redis prefix)
with the real services as processes, the same way the end-to-end tests start them."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e import stack  # noqa: E402
from wildside_common.testing.servers import (  # noqa: E402
    NatsServer,
    free_port,
    redis_url,
    scratch_database,
    unique_prefix,
    wait_for_port,
)


@dataclass
class Stack:
    env: dict[str, str]
    services: list[stack.Service] = field(default_factory=list)
    nats_pid: int | None = None  # the private nats-server's

    def add(self, service: stack.Service) -> stack.Service:
        service.start()
        service.wait_ready(60)
        self.services.append(service)
        return service

    def login(
        self, gateway: stack.Service, username: str = "demo", password: str = "wildside-demo"
    ) -> str:
        """A session token for the account (the `session` cookie's value)."""
        return stack.login(gateway, username, password)


def base(service: stack.Service) -> str:
    return service.health_url.removesuffix("/health/ready")


@contextlib.contextmanager
def private_stack(extra: dict[str, str] | None = None) -> Iterator[Stack]:
    nats = NatsServer()
    nats.start()
    try:
        with scratch_database() as database_url:
            env = stack.base_env(
                database_url,
                nats.url,
                redis_url(),
                {"REDIS_PREFIX": unique_prefix(), "LOG_LEVEL": "WARNING", **(extra or {})},
            )
            stack.create_dev_accounts(env)
            bench = Stack(env, nats_pid=nats.process.pid if nats.process else None)
            try:
                yield bench
            finally:
                for service in bench.services:
                    service.stop()
    finally:
        nats.close()


@contextlib.contextmanager
def private_redis() -> Iterator[str]:
    """A redis-server of the bench's own on a free port (no persistence): its
    `INFO commandstats` count only the stack's commands, unlike the shared Redis."""
    binary = ensure_tool("redis-server", "redis-server")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(10)


def ensure_tool(binary: str, package: str) -> str:
    found = shutil.which(binary)
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit(f"{binary} is missing: install the Debian package {package}")
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", package],
        check=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
    )
    return shutil.which(binary) or binary


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident set size of a running process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def raise_open_files() -> tuple[int, int]:
    """Raise this process's RLIMIT_NOFILE soft limit to its hard limit (children started
    after inherit it); the limits now in force, (soft, hard)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def run_queue_seconds(pid: int) -> float:
    """Seconds a running process's threads have waited for a CPU while runnable (the
    scheduler's run-queue delay, /proc/<pid>/task/*/schedstat): on a shared machine, the
    time the process was ready to work and did not get a core."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            total += int((task / "schedstat").read_text().split()[1])
    return total / 1e9


def open_files(pid: int) -> int:
    """File descriptors a running process holds, from /proc."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def peak_rss_children_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def ingest_helsinki(env: dict[str, str]) -> str:
    """Load the Helsinki demo extract into the stack's database; the summary line."""
    done = subprocess.run(
        [
            str(ROOT / ".venv/bin/ingest-osm"),
            str(ROOT / "data/helsinki-centre.osm.pbf"),
            "--no-progress",
        ],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return (done.stdout or done.stderr).strip().splitlines()[-1]


def open_fds(pid: int) -> int:
    """Open file descriptors of a running process (/proc/PID/fd)."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for name in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{name}")
        except OSError:
            continue  # closed since the listing
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def tcp_inodes_to(port: int) -> set[int]:
    """Inodes of the machine's TCP sockets connected to `port` (/proc/net/tcp, tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[2].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                    found.add(int(fields[9]))  # 01: ESTABLISHED
    return found


def connections_to(pid: int, port: int, established: set[int] | None = None) -> int:
    """The process's established TCP connections to `port` (PostgreSQL's: 5432)."""
    return len(socket_inodes(pid) & (tcp_inodes_to(port) if established is None else established))


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the whole machine since boot (/proc/stat), all cores."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return total - idle, total
