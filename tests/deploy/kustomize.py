"""Rendering deploy/ with the kustomize built into kubectl, as the cluster (Flux) would.

kubectl is the pinned one scripts/deploy-tools.sh installs into .venv/bin (scripts/venv.sh
runs it): never skipped, a missing kubectl is a failure that says how to install it.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBECTL = ROOT / ".venv" / "bin" / "kubectl"
Doc = dict[str, Any]


def kustomize_dirs() -> list[Path]:
    """Every directory Flux or an operator renders: the overlays, observability, flux, and any
    other top-level kustomization (deploy/platform); deploy/base only through the overlays."""
    return sorted(p.parent for p in DEPLOY.rglob("kustomization.yaml"))


def overlays() -> list[Path]:
    return sorted(p.parent for p in (DEPLOY / "overlays").glob("*/kustomization.yaml"))


@functools.cache
def render(directory: Path) -> list[Doc]:
    """`kubectl kustomize DIRECTORY`, parsed; fails (never skips) without kubectl."""
    assert KUBECTL.is_file(), f"no {KUBECTL}: run bash scripts/deploy-tools.sh"
    result = subprocess.run(
        [str(KUBECTL), "kustomize", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"{directory}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
