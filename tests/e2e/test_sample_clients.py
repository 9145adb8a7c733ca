"""The sample clients (clients/typescript, clients/rust) against the running gateway and
router over the Helsinki demo extract ((c) OpenStreetMap contributors, ODbL): each logs in
with an allowed Origin, asks for a walk with an Idempotency-Key and retries it, follows it
over /ws to `succeeded`, and pages through two listings by their links alone.

Each client prints one JSON object per line; the test reads those lines and checks them
against what the gateway answers itself. Without node/npm (or a Node without WebSocket) or
cargo, that client's test is skipped with a message naming what is missing.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import base, submit, wait_final
from wildside_common.testing.demo_data import load_demo_extract

pytestmark = pytest.mark.e2e
CLIENTS = Path(__file__).resolve().parents[2] / "clients"
ORDER = ["queued", "running", "succeeded"]


@pytest.fixture(scope="module")
def helsinki(database_url: str) -> Iterator[str]:
    yield load_demo_extract(database_url)


@pytest.fixture(scope="module")
def earlier_request(helsinki: str, gateway: stack.Service, router: stack.Service) -> str:
    """One finished request of the demo user before any client runs: the listing of the
    user's requests then spans more than one page."""
    request_id = submit(gateway)
    assert wait_final(gateway, request_id).json()["status"] == "succeeded"
    return request_id


def run(command: list[str], cwd: Path, timeout: float = 300, hint: str = "") -> None:
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )
    output = result.stdout[-2000:] + result.stderr[-3000:]
    assert result.returncode == 0, f"{' '.join(command)} failed{hint}:\n{output}"


def typescript_client() -> list[str]:
    """clients/typescript built with tsc; npm install only when package.json changed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        missing = " and ".join(name for name, path in (("node", node), ("npm", npm)) if not path)
        pytest.skip(f"{missing} not found: the TypeScript sample client needs Node 20+ and npm")
    probe = "process.exit(typeof WebSocket === 'function' ? 0 : 1)"
    if subprocess.run([node, "--experimental-websocket", "-e", probe], check=False).returncode:
        pytest.skip(f"{node} has no WebSocket (--experimental-websocket): Node 20+ is needed")
    directory = CLIENTS / "typescript"
    stamp = directory / "node_modules" / ".wildside-installed"
    packages = hashlib.sha256((directory / "package.json").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != packages:
        run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], directory)
        stamp.write_text(packages + "\n")
    run([npm, "run", "--silent", "build"], directory)
    return [node, "--experimental-websocket", str(directory / "dist" / "main.js")]


def rust_client() -> list[str]:
    """clients/rust built offline from Debian's crates (scripts/system-deps.sh --clients)."""
    cargo = shutil.which("cargo")
    if cargo is None:
        pytest.skip("cargo not found: the Rust sample client needs cargo and rustc")
    directory = CLIENTS / "rust"
    hint = " (its crates come from Debian: bash scripts/system-deps.sh --clients)"
    run([cargo, "build", "--offline", "--quiet"], directory, timeout=600, hint=hint)
    return [str(directory / "target" / "debug" / "wildside-sample-client")]


BUILDERS = {"typescript": typescript_client, "rust": rust_client}


def client_env(gateway: stack.Service, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WILDSIDE_")}
    env.update(WILDSIDE_BASE_URL=base(gateway), WILDSIDE_PAGE_SIZE="1", **extra)
    return env


def listing_ids(gateway: stack.Service, path: str, user: str, field: str) -> list[str]:
    """Every id of one listing in its order (one page of 100 is all of it here)."""
    response = httpx.get(
        f"{base(gateway)}{path}?limit=100", headers=stack.auth(gateway, user), timeout=10
    )
    assert response.status_code == 200, response.text
    assert response.json()["links"]["next"] is None
    return [str(item[field]) for item in response.json()["data"]]


def events(stdout: str) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for line in stdout.splitlines():
        event = json.loads(line)
        grouped.setdefault(event.pop("event"), []).append(event)
    return grouped


def check_walk(out: dict[str, list[dict[str, Any]]], listing: str, expected: list[str]) -> None:
    """Pages of one, forward to the end by links.next, back to the start by links.prev."""
    (summary,) = [e for e in out["listing"] if e["listing"] == listing]
    pages = [e for e in out["page"] if e["listing"] == listing]
    assert len(expected) >= 2
    assert summary["ids"] == expected
    assert summary["pages_forward"] == len(expected)
    assert summary["ids_back"] == expected[:-1]
    assert summary["pages_back"] == len(expected) - 1
    assert [p["direction"] for p in pages] == ["next"] * len(expected) + ["prev"] * (
        len(expected) - 1
    )
    # The first page is the one URL the client builds; every other came from a link.
    assert "cursor=" not in pages[0]["url"]
    assert all("cursor=" in p["url"] and p["url"].startswith(base_url(p)) for p in pages[1:])


def base_url(page: dict[str, Any]) -> str:
    return str(page["url"]).split("/api/v1/")[0]


@pytest.mark.parametrize("client", sorted(BUILDERS))
def test_the_sample_client_retries_follows_its_route_and_pages_by_links(
    client: str, earlier_request: str, gateway: stack.Service, router: stack.Service
) -> None:
    command = BUILDERS[client]()
    before = listing_ids(gateway, "/api/v1/routes", "demo", "request_id")
    result = subprocess.run(
        command, env=client_env(gateway), capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = events(result.stdout)

    assert [(e["username"], e["role"]) for e in out["login"]] == [
        ("demo", "user"),
        ("admin", "admin"),
    ]
    (submitted,) = out["submitted"]
    (retried,) = out["retried"]
    request_id = submitted["request_id"]
    assert submitted["location"] == f"{base(gateway)}/api/v1/routes/{request_id}"
    assert retried["request_id"] == request_id
    assert retried["idempotency_key"] == submitted["idempotency_key"]
    assert retried["replayed"] is True and retried["same_request"] is True

    statuses = [e["status"] for e in out["status"] if e["request_id"] == request_id]
    assert statuses and statuses[-1] == "succeeded", statuses
    assert statuses == sorted(statuses, key=ORDER.index)
    assert out["final"] == [{"request_id": request_id, "status": "succeeded"}]
    (route,) = out["route"]
    assert len(route["stops"]) >= 3 and route["stops"][0] == "Start"
    assert "OpenStreetMap" in route["attribution"]

    # Two POSTs with one key made one request: the listing grew by exactly that one.
    after = listing_ids(gateway, "/api/v1/routes", "demo", "request_id")
    assert after == [request_id, *before]
    assert earlier_request in after
    check_walk(out, "routes", after)
    check_walk(out, "users", listing_ids(gateway, "/api/v1/users", "admin", "id"))
    assert "done" in out


@pytest.mark.parametrize("client", sorted(BUILDERS))
def test_a_client_claiming_another_origin_is_refused_at_login(
    client: str, gateway: stack.Service
) -> None:
    command = BUILDERS[client]()
    env = client_env(gateway, WILDSIDE_ORIGIN="http://elsewhere.example")
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "csrf_rejected" in result.stderr
    assert "login" not in events(result.stdout)
