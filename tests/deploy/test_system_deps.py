"""scripts/system-deps.sh decides what to install without installing anything (--dry-run).

A fake `psql` first on PATH plays the test server, so both answers (PostGIS there or not)
are exercised on any machine; fake server trees play the Debian layout for --for-up.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "system-deps.sh"


def fake_psql(directory: Path, answer: str | None) -> Path:
    """A psql that prints `answer` (major|has_postgis), or fails like an unreachable server."""
    body = f"echo '{answer}'" if answer is not None else "exit 2"
    path = directory / "bin" / "psql"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path.parent


def fake_server(root: Path, major: str, postgis: bool) -> dict[str, str]:
    """A Debian-like /usr/lib/postgresql/<major>/bin and /usr/share/postgresql/<major>."""
    bin_dir = root / "lib" / major / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "initdb").write_text("")
    postgres = bin_dir / "postgres"
    postgres.write_text(f"#!/bin/sh\necho 'postgres (PostgreSQL) {major}.4'\n")
    postgres.chmod(0o755)
    extension = root / "share" / major / "extension"
    extension.mkdir(parents=True)
    if postgis:
        (extension / "postgis.control").write_text("")
    return {"WILDSIDE_PG_ROOT": str(root / "lib"), "WILDSIDE_PG_SHARE": str(root / "share")}


def run(
    tmp_path: Path, answer: str | None, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment["PATH"] = f"{fake_psql(tmp_path, answer)}:{environment['PATH']}"
    environment.update(env)
    return subprocess.run(
        ["bash", str(SCRIPT), "--dry-run", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=30,
        check=False,
    )


def test_nothing_to_do_when_the_test_server_has_postgis(tmp_path: Path) -> None:
    result = run(tmp_path, "15|t")
    assert result.returncode == 0, result.stderr
    assert "would install" not in result.stdout


def test_installs_postgis_for_the_test_servers_major_version(tmp_path: Path) -> None:
    result = run(tmp_path, "16|f")
    assert result.returncode == 0, result.stderr
    assert "would install: postgresql-16-postgis-3" in result.stdout


def test_a_remote_test_server_without_postgis_is_an_error_naming_the_package(
    tmp_path: Path,
) -> None:
    result = run(tmp_path, "15|f", TEST_PG_ADMIN_URL="postgresql://u@db.example:5432/postgres")
    assert result.returncode == 1
    assert "db.example" in result.stderr
    assert "postgresql-15-postgis-3" in result.stderr


def test_an_unreachable_test_server_is_a_warning_not_a_failure(tmp_path: Path) -> None:
    result = run(tmp_path, None)
    assert result.returncode == 0
    assert "no PostgreSQL answers" in result.stderr


def test_for_up_installs_the_server_when_none_is_there(tmp_path: Path) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    result = run(tmp_path, "15|t", "--for-up", WILDSIDE_PG_ROOT=str(empty))
    assert result.returncode == 0, result.stderr
    assert "would install: postgresql " in result.stdout


def test_for_up_installs_postgis_for_the_local_servers_major(tmp_path: Path) -> None:
    layout = fake_server(tmp_path / "pg", "17", postgis=False)
    result = run(tmp_path, "15|t", "--for-up", **layout)
    assert result.returncode == 0, result.stderr
    assert "would install: postgresql-17-postgis-3" in result.stdout


def test_for_up_needs_nothing_when_server_and_postgis_are_there(tmp_path: Path) -> None:
    layout = fake_server(tmp_path / "pg", "17", postgis=True)
    result = run(tmp_path, "15|t", "--for-up", **layout)
    assert result.returncode == 0, result.stderr
    assert "postgresql" not in result.stdout


def test_for_up_leaves_postgres_alone_when_database_url_names_one(tmp_path: Path) -> None:
    empty = tmp_path / "none"
    empty.mkdir()
    result = run(
        tmp_path,
        "15|t",
        "--for-up",
        WILDSIDE_PG_ROOT=str(empty),
        DATABASE_URL="postgresql://elsewhere/db",
    )
    assert result.returncode == 0, result.stderr
    assert "would install: postgresql" not in result.stdout


def test_browser_installs_debians_chromium_when_missing(tmp_path: Path) -> None:
    missing = run(tmp_path, "15|t", "--browser", WILDSIDE_CHROMIUM=str(tmp_path / "none"))
    assert missing.returncode == 0, missing.stderr
    assert "would install: chromium" in missing.stdout
    browser = tmp_path / "chromium"
    browser.write_text("#!/bin/sh\n")
    browser.chmod(0o755)
    present = run(tmp_path, "15|t", "--browser", WILDSIDE_CHROMIUM=str(browser))
    assert present.returncode == 0, present.stderr
    assert "chromium" not in present.stdout
    without_flag = run(tmp_path, "15|t", WILDSIDE_CHROMIUM=str(tmp_path / "none"))
    assert "chromium" not in without_flag.stdout


def test_clients_installs_the_rust_clients_missing_crates_from_debian(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    (registry / "serde_json-1.0.87").mkdir(parents=True)
    (registry / "sha1-asm-0.5.1").mkdir()  # another crate: sha1 itself is still missing
    cargo = tmp_path / "cargo"
    cargo.write_text("#!/bin/sh\n")
    cargo.chmod(0o755)
    env = {"WILDSIDE_CARGO_REGISTRY": str(registry), "WILDSIDE_CARGO": str(cargo)}
    missing = run(tmp_path, "15|t", "--clients", **env)
    assert missing.returncode == 0, missing.stderr
    assert (
        "would install: librust-base64-dev librust-getrandom-dev librust-sha1-dev ("
        in missing.stdout
    )
    for crate in ("base64-0.13.0", "getrandom-0.2.8", "sha1-0.10.1"):
        (registry / crate).mkdir()
    present = run(tmp_path, "15|t", "--clients", **env)
    assert present.returncode == 0, present.stderr
    assert "librust" not in present.stdout
    assert "librust" not in run(tmp_path, "15|t", WILDSIDE_CARGO_REGISTRY=str(tmp_path)).stdout


def test_clients_without_cargo_says_so_and_installs_nothing(tmp_path: Path) -> None:
    result = run(tmp_path, "15|t", "--clients", WILDSIDE_CARGO=str(tmp_path / "no-cargo"))
    assert result.returncode == 0, result.stderr
    assert "no cargo" in result.stdout
    assert "would install" not in result.stdout


def test_unknown_arguments_are_refused(tmp_path: Path) -> None:
    assert run(tmp_path, "15|t", "--bogus").returncode == 2


def fake_tools(tmp_path: Path, uid: int) -> tuple[dict[str, str], Path]:
    """`id -u` answering `uid`, and an apt-get that logs its arguments and whether the
    policy-rc.d guard was in place while it ran."""
    bin_dir = fake_psql(tmp_path, "16|f")
    log = tmp_path / "apt.log"
    policy = tmp_path / "policy-rc.d"
    (bin_dir / "id").write_text(
        f'#!/bin/sh\n[ "$1" = -u ] && echo {uid} || exec /usr/bin/id "$@"\n'
    )
    (bin_dir / "apt-get").write_text(
        f'#!/bin/sh\necho "$* policy=$(test -x {policy} && echo held)" >> {log}\n'
    )
    for tool in ("id", "apt-get"):
        (bin_dir / tool).chmod(0o755)
    environment = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    environment.update(PATH=f"{bin_dir}:{environment['PATH']}", WILDSIDE_POLICY_RC=str(policy))
    return environment, log


def install(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=30,
        check=False,
    )


def test_as_root_it_updates_once_and_installs_with_services_held_back(tmp_path: Path) -> None:
    environment, log = fake_tools(tmp_path, uid=0)
    result = install(environment)
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines() == [
        "-o DPkg::Lock::Timeout=600 update -q policy=held",
        "-o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends"
        " postgresql-16-postgis-3 policy=held",
    ]
    assert not (tmp_path / "policy-rc.d").exists()


def test_not_root_it_names_the_package_and_fails_without_calling_apt(tmp_path: Path) -> None:
    environment, log = fake_tools(tmp_path, uid=1000)
    result = install(environment)
    assert result.returncode == 1
    assert "postgresql-16-postgis-3" in result.stderr
    assert "root" in result.stderr
    assert not log.exists()


def test_installs_the_headers_the_ingest_readers_compile_against(tmp_path: Path) -> None:
    empty = tmp_path / "include"
    empty.mkdir()
    result = run(tmp_path, "15|t", "--build", WILDSIDE_INCLUDE_DIR=str(empty))
    assert result.returncode == 0, result.stderr
    assert "would install: libosmium2-dev libprotozero-dev zlib1g-dev" in result.stdout


def test_build_mode_installs_only_the_headers(tmp_path: Path) -> None:
    # --build stops before PostGIS: a server without it is not its business
    result = run(tmp_path, "16|f", "--build")
    assert result.returncode == 0, result.stderr
    assert "postgis" not in result.stdout


def test_deploy_installs_debians_prometheus_for_promtool_only_when_missing(
    tmp_path: Path,
) -> None:
    missing = run(tmp_path, "15|t", "--deploy", WILDSIDE_PROMTOOL=str(tmp_path / "no-promtool"))
    assert missing.returncode == 0, missing.stderr
    assert "would install: prometheus" in missing.stdout
    present = tmp_path / "promtool"
    present.write_text("#!/bin/sh\n")
    present.chmod(0o755)
    there = run(tmp_path, "15|t", "--deploy", WILDSIDE_PROMTOOL=str(present))
    assert there.returncode == 0, there.stderr
    assert "would install" not in there.stdout
