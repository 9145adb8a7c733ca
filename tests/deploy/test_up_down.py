"""`scripts/up.sh --infra-only` and `scripts/down.sh` against real servers, twice each.

The servers get a data directory and free ports of their own, so this runs beside a
developer's `make up` and beside other tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from wildside_common.testing.servers import free_port

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
SERVERS = ("postgres", "redis", "nats")


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def stack_env() -> Iterator[dict[str, str]]:
    if not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")) or not shutil.which(
        "redis-server"
    ):
        pytest.skip("PostgreSQL server binaries or redis-server are not installed")
    # Under /var/tmp and world-traversable: as root the cluster runs as `postgres`, which
    # cannot reach pytest's private tmp_path.
    data = Path(tempfile.mkdtemp(prefix="wildside-up-", dir="/var/tmp"))
    data.chmod(0o755)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "NATS_URL", "WILDSIDE_DATA_DIR"}
    }
    env.update(
        WILDSIDE_DATA_DIR=str(data),
        WILDSIDE_PG_PORT=str(free_port()),
        WILDSIDE_REDIS_PORT=str(free_port()),
        WILDSIDE_NATS_PORT=str(free_port()),
    )
    try:
        yield env
    finally:
        subprocess.run(
            ["bash", str(ROOT / "scripts" / "down.sh")],
            env=env,
            check=False,
            capture_output=True,
            timeout=120,
        )
        shutil.rmtree(data, ignore_errors=True)


def script(name: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / name), *args],
        env=env,
        text=True,
        capture_output=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def ports(env: dict[str, str]) -> list[int]:
    return [int(env[f"WILDSIDE_{name}_PORT"]) for name in ("PG", "REDIS", "NATS")]


def assert_martins_role_draws_tiles_and_reads_no_table(env: dict[str, str]) -> None:
    """A fresh `make up` has Martin's login role (migration 0005), as the stack runs it."""
    port, database = env["WILDSIDE_PG_PORT"], env.get("WILDSIDE_PG_DATABASE", "wildside")
    with psycopg.connect(f"postgresql://martin_ro@127.0.0.1:{port}/{database}") as conn:
        assert conn.execute("SELECT get_route_tile(0, 0, 0, '{}'::json)").fetchone() == (b"",)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT 1 FROM users LIMIT 1")


def test_up_twice_then_down_twice(stack_env: dict[str, str]) -> None:
    data = Path(stack_env["WILDSIDE_DATA_DIR"])
    first = script("up.sh", stack_env, "--infra-only")
    assert "starting PostgreSQL" in first.stdout
    assert "migrations applied: " in first.stdout
    assert all(listening(port) for port in ports(stack_env))
    assert (data / "started").read_text().split() == list(SERVERS)
    assert_martins_role_draws_tiles_and_reads_no_table(stack_env)

    second = script("up.sh", stack_env, "--infra-only")
    assert "PostgreSQL already running" in second.stdout
    assert "Redis already running" in second.stdout
    assert "NATS already running" in second.stdout
    assert "migrations applied: 0" in second.stdout

    stopped = script("down.sh", stack_env)
    assert "stopping PostgreSQL" in stopped.stdout
    assert not any(listening(port) for port in ports(stack_env))
    assert not (data / "started").exists()
    assert script("down.sh", stack_env).stdout == ""


def test_up_refuses_a_port_someone_else_holds(stack_env: dict[str, str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", int(stack_env["WILDSIDE_PG_PORT"])))
        holder.listen()
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "up.sh"), "--infra-only"],
            env=stack_env,
            text=True,
            capture_output=True,
            timeout=180,
            check=False,
        )
    assert result.returncode != 0
    assert "WILDSIDE_PG_PORT" in result.stderr
    assert not (Path(stack_env["WILDSIDE_DATA_DIR"]) / "started").exists()
