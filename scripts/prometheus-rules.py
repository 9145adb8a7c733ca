"""Writes the rule groups of every PrometheusRule under deploy/ as one plain Prometheus rules file.

    .venv/bin/python scripts/prometheus-rules.py OUT.yaml

promtool reads plain rules files, not the Prometheus operator's PrometheusRule resources:
`make deploy-check` (scripts/deploy-check.sh) writes this file into a temporary directory,
runs `promtool check rules` on it, and the alerts' unit tests (deploy/observability/tests/,
`rule_files: [rules.yaml]`) beside it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    for path in sorted(DEPLOY.rglob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == "PrometheusRule":
                groups += doc["spec"]["groups"]
    return groups


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    groups = rule_groups()
    if not groups:
        print("no PrometheusRule under deploy/", file=sys.stderr)
        return 1
    Path(argv[0]).write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
