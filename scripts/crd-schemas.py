"""Writes deploy/schemas/<group>/<kind>_<version>.json from CustomResourceDefinition YAML files.

    .venv/bin/python scripts/crd-schemas.py CRD.yaml...

Each served version's openAPIV3Schema becomes one JSON schema (descriptions dropped, keys
sorted), the form tests/deploy/test_schemas.py validates rendered custom resources against.
Run it on the CRDs of the operator release the platform installs (a chart package's crds/
directory, or `kubectl get crd NAME -o yaml` from a cluster) when that release changes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

SCHEMAS = Path(__file__).resolve().parents[1] / "deploy" / "schemas"


def without_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {
            key: without_descriptions(value)
            for key, value in node.items()
            if not (key == "description" and isinstance(value, str))
        }
    if isinstance(node, list):
        return [without_descriptions(value) for value in node]
    return node


def write_schemas(crd: dict[str, Any], schemas: Path = SCHEMAS) -> list[Path]:
    spec = crd["spec"]
    written = []
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = without_descriptions(version["schema"]["openAPIV3Schema"])
        path = schemas / spec["group"] / f"{spec['names']['kind'].lower()}_{version['name']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(schema, sort_keys=True, separators=(",", ":")) + "\n")
        written.append(path)
    return written


def main(paths: list[str]) -> int:
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    for name in paths:
        with open(name) as handle:
            for doc in yaml.safe_load_all(handle):
                if doc and doc.get("kind") == "CustomResourceDefinition":
                    for path in write_schemas(doc):
                        print(path.relative_to(SCHEMAS.parents[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
