"""A PostgreSQL (with PostGIS) of the fault scenario's own, which can be restarted.

The machine's PostgreSQL (5432) is shared, so the PostgreSQL-restart scenario never
touches it: it runs `initdb` into a temporary directory with the server binaries of the
newest installed major version that has PostGIS (scripts/system-deps.sh installs the
extension for the system server), starts it with `pg_ctl` on a free port (trust on
loopback only, as `make up`'s cluster: scripts/lib-servers.sh), creates the database,
applies the migrations and loads the demo extract. When the test runs as root, the
cluster belongs to the `postgres` OS user (the server refuses to run as root).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from wildside_common.testing.servers import free_port

ROOT = Path("/usr/lib/postgresql")
EXTENSIONS = Path("/usr/share/postgresql")


def server_binaries() -> Path | None:
    """The bin directory of the newest major version with PostGIS installed, if any."""
    majors = sorted(
        (path for path in ROOT.glob("*") if (path / "bin" / "pg_ctl").exists()),
        key=lambda path: int(path.name) if path.name.isdigit() else 0,
        reverse=True,
    )
    for major in majors:
        if (EXTENSIONS / major.name / "extension" / "postgis.control").exists():
            return major / "bin"
    return None


class PostgresServer:
    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="wildside-faults-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.owner: list[str] = []  # the command prefix that runs as the cluster's owner
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self.owner = ["runuser", "-u", "postgres", "--"]

    def url(self, database: str = "wildside") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, timeout: float = 120) -> None:
        subprocess.run([*self.owner, *command], check=True, capture_output=True, timeout=timeout)

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
            "--locale=C", "--auth-local=trust", "--auth-host=trust", "--no-sync",
        )  # fmt: skip

    def _pg_ctl(self, action: str, *options: str) -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
            "-t", "60", *options, action,
        )  # fmt: skip

    def start(self) -> None:
        server = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.root}"
            " -c fsync=off -c max_connections=200"
        )
        self._pg_ctl("start", "-o", server)

    def stop(self) -> None:
        """`pg_ctl stop -m fast`: every connection is cut, as in a restart or failover."""
        self._pg_ctl("stop", "-m", "fast")

    def create_database(self, name: str = "wildside") -> str:
        self._run(
            str(self.bin / "psql"), "-XAtq", "-h", "127.0.0.1", "-p", str(self.port),
            "-U", "postgres", "-d", "postgres", "-c", f'CREATE DATABASE "{name}"',
        )  # fmt: skip
        return self.url(name)

    def close(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            if (self.data / "postmaster.pid").exists():
                self._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PostgresServer]:
    bin_dir = server_binaries()
    if bin_dir is None:
        pytest.skip("no PostgreSQL server with PostGIS (scripts/system-deps.sh installs it)")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start PostgreSQL as postgres")
    server = PostgresServer(bin_dir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.close()
