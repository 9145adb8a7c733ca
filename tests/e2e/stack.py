"""The running stack for end-to-end tests: real services as separate processes."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import httpx
from websockets.typing import Subprotocol

from wildside_common.testing.servers import free_port, stop_process

BIN = Path(sys.executable).parent
LOGS = Path(os.environ.get("E2E_LOG_DIR", "/tmp/wildside-e2e"))


@dataclass
class Service:
    name: str
    command: list[str]
    env: dict[str, str]
    health_url: str
    metrics_url: str = ""  # /metrics: the gateway's is on its metrics port, not its public one
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(default=Path("/dev/null"))
    log_file: BinaryIO | None = None

    def start(self) -> None:
        LOGS.mkdir(parents=True, exist_ok=True)
        self.log_path = LOGS / f"{self.name}-{os.getpid()}-{time.time_ns()}.log"
        self.log_file = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, env=self.env, stdout=self.log_file, stderr=self.log_file
        )

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.health_url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} not ready: {self.log_path.read_text()[-3000:]}")

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        stop_process(self.process, 20, kill=kill)
        self.process = None
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None


@contextlib.contextmanager
def running(*services: Service) -> Iterator[tuple[Service, ...]]:
    """Start the services in order (each ready before the next), stop them all after."""
    started: list[Service] = []
    try:
        for service in services:
            service.start()
            started.append(service)
            service.wait_ready()
        yield services
    finally:
        for service in reversed(started):
            service.stop()


def base_env(
    database_url: str, nats_url: str, redis_url: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "COV"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "NATS_URL": nats_url,
            "REDIS_URL": redis_url,
            "WILDSIDE_ENV": "development",
            "LOG_LEVEL": "INFO",
            # One key file for every process: ephemeral keys would differ per process.
            "SESSION_KEYS_FILE": session_keys_file(),
            "SESSION_ALLOW_EPHEMERAL": "false",
        }
    )
    env.update(extra or {})
    return env


def gateway(env: dict[str, str]) -> Service:
    port, metrics_port = free_port(), free_port()
    env = {**env, "GATEWAY_PORT": str(port), "METRICS_PORT": str(metrics_port)}
    return Service(
        "gateway",
        [str(BIN / "wildside-gateway")],
        env,
        f"http://127.0.0.1:{port}/health/ready",
        f"http://127.0.0.1:{metrics_port}/metrics",
    )


def router(env: dict[str, str]) -> Service:
    port = free_port()
    env = {**env, "METRICS_PORT": str(port)}
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "wildside-router")]
    if "ROUTER_SIMULATED_WORK_SECONDS" in env:  # the router with idle work before each plan
        command = [str(BIN / "python"), str(Path(__file__).with_name("slow_router.py"))]
    return Service("router", command, env, f"{url}/health/ready", f"{url}/metrics")


def enricher(env: dict[str, str]) -> Service:
    port = free_port()
    env = {**env, "METRICS_PORT": str(port)}
    url = f"http://127.0.0.1:{port}"
    return Service(
        "enricher", [str(BIN / "wildside-enricher")], env, f"{url}/health/ready", f"{url}/metrics"
    )


def tiles_auth(env: dict[str, str]) -> Service:
    port = free_port()
    env = {**env, "TILES_AUTH_PORT": str(port)}
    return Service(
        "tiles-auth",
        [str(BIN / "wildside-tiles-auth")],
        env,
        f"http://127.0.0.1:{port}/health/ready",
    )


def tiles_dev(env: dict[str, str]) -> Service:
    """The development tile server (wildside-tiles-dev), on a free port."""
    port = free_port()
    env = {**env, "TILES_DEV_PORT": str(port)}
    return Service(
        "tiles-dev",
        [str(BIN / "wildside-tiles-dev")],
        env,
        f"http://127.0.0.1:{port}/health/ready",
    )


def create_dev_accounts(env: dict[str, str]) -> None:
    subprocess.run(
        [str(BIN / "wildside-manage"), "ensure-dev-accounts"],
        env=env,
        check=True,
        capture_output=True,
    )


_KEYS_DIR: list[str] = []
_TOKENS: dict[tuple[str, str], str] = {}  # (username, database): a token per account


def session_keys_file() -> str:
    """A session key file shared by every service this test process starts."""
    if not _KEYS_DIR:
        _KEYS_DIR.append(tempfile.mkdtemp(prefix="wildside-e2e-keys-"))
    path = Path(_KEYS_DIR[0]) / "session-keys.json"
    if not path.exists():
        subprocess.run(
            [str(BIN / "wildside-manage"), "generate-session-key", "--out", str(path)],
            check=True,
            capture_output=True,
        )
    return str(path)


def login(service: Service, username: str = "demo", password: str = "wildside-demo") -> str:
    """Log in through the gateway; the session token (from the `session` cookie)."""
    base = service.health_url.removesuffix("/health/ready")
    body = {"username": username, "password": password}
    response = httpx.post(f"{base}/api/v1/login", json=body, timeout=10)
    if response.status_code == 401 and username in ("demo", "admin"):
        create_dev_accounts(service.env)
        response = httpx.post(f"{base}/api/v1/login", json=body, timeout=10)
    assert response.status_code == 200, response.text
    return str(response.cookies["session"])


def token(service: Service, username: str = "demo") -> str:
    """A demo (or admin) session token; every gateway of the run accepts it (same keys).
    Kept per database: a token names a user id, and the fault suite's PostgreSQL scenario
    has a database of its own where the demo account has another."""
    key = (username, service.env.get("DATABASE_URL", ""))
    if key not in _TOKENS:
        password = "wildside-demo" if username == "demo" else "wildside-admin"
        _TOKENS[key] = login(service, username, password)
    return _TOKENS[key]


def auth(service: Service, username: str = "demo") -> dict[str, str]:
    """`Authorization: Bearer` headers of the demo account."""
    return {"Authorization": f"Bearer {token(service, username)}"}


def ws_protocols(service: Service, username: str = "demo") -> list[Subprotocol]:
    """The WebSocket subprotocol offer carrying the session: wildside.v1 + bearer.<token>."""
    return [Subprotocol("wildside.v1"), Subprotocol(f"bearer.{token(service, username)}")]


def metric(service: Service, name: str, labels: dict[str, str]) -> float:
    """One sample of the service's /metrics (0 when absent)."""
    # The exposition writes the labels sorted by name.
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in httpx.get(service.metrics_url, timeout=5).text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
