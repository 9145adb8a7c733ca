"""A Redis of the fault scenario's own, which can crash and come back.

The machine's Redis (6379) is shared, so the Redis-down scenario never touches it: it
starts Debian's `redis-server` on a free port with its own directory and an append-only
file (as production runs it: docs/runbooks/sessions.md, a Redis that restarts empty
forgets every revocation), SIGKILLs it and starts it again on the same port and data.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wildside_common.testing.servers import free_port, wait_for_port


class RedisServer:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="wildside-faults-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        log = self.root / f"redis-{time.time_ns()}.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    *("--port", str(self.port), "--bind", "127.0.0.1"),
                    *("--dir", str(self.root), "--save", ""),
                    *("--appendonly", "yes", "--appendfsync", "everysec"),
                ],
                stdout=out,
                stderr=out,
            )
        wait_for_port(self.port)

    def kill(self) -> None:
        """SIGKILL: Redis crashes; what its append-only file holds comes back with it."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def private_redis() -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (scripts/system-deps.sh installs it)")
    server = RedisServer(binary)
    try:
        server.start()
        yield server
    finally:
        server.close()
