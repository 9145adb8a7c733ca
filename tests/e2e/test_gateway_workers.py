"""GATEWAY_WORKERS=2: two gateway processes on one port, each with its own ops port,
under a supervisor that stops them together."""

from __future__ import annotations

import re
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.e2e import stack
from tests.e2e.test_route_lifecycle import body_at, post
from wildside_common.testing.servers import process_alive

pytestmark = pytest.mark.e2e


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(child) for child in (task / "children").read_text().split()]
    return found


def accepted(metrics: str) -> int:
    """Accepted submissions in one process's /metrics."""
    pattern = r'^http_requests_total\{[^}]*path="/api/v1/routes"[^}]*status="202"[^}]*\} (\S+)$'
    return sum(int(float(value)) for value in re.findall(pattern, metrics, re.MULTILINE))


def test_two_workers_serve_one_port_and_stop_together(stack_env: dict[str, str]) -> None:
    service = stack.gateway({**stack_env, "GATEWAY_WORKERS": "2"})
    metrics_port = int(service.env["METRICS_PORT"])
    with stack.running(service):
        assert service.process is not None
        workers = children(service.process.pid)
        assert len(workers) == 2
        # Each worker's own ops port: METRICS_PORT and METRICS_PORT + 1.
        for port in (metrics_port, metrics_port + 1):
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"no worker ready on {port}"
                time.sleep(0.2)
        # Submissions on fresh connections are spread over both; each is accepted.
        for i in range(8):
            response = post(service, body_at(60.16 + i / 1000), key=str(uuid.uuid4()))
            assert response.status_code == 202, response.text
        served = [
            httpx.get(f"http://127.0.0.1:{port}/metrics").text
            for port in (metrics_port, metrics_port + 1)
        ]
        # One registry per process: together they counted every submission once.
        assert sum(accepted(text) for text in served) == 8
        service.process.send_signal(signal.SIGTERM)
        assert service.process.wait(30) == 0
        assert not any(process_alive(pid) for pid in workers)
