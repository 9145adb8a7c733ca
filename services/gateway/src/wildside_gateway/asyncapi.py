"""The AsyncAPI document (`schemas/asyncapi.yaml`: the bus and `/ws`) as the gateway serves
it at `/asyncapi.json`: the same document as JSON, each schema file it names by a relative
`$ref` (`./RouteGenerationStatus.schema.json`) copied into `components.schemas`, so the one
URL holds the whole contract.

`python -m wildside_gateway.asyncapi` (`make openapi`) writes it to
`wildside_gateway/data/asyncapi.json` (package data: the running gateway reads no YAML and
no repository files); a test fails when the served document, that file and
`schemas/asyncapi.yaml` differ.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import orjson

SCHEMAS = Path(__file__).resolve().parents[4] / "schemas"
PACKAGED = "data/asyncapi.json"


def _external_name(ref: str) -> str:
    return ref.removeprefix("./").removesuffix(".schema.json")


def _rewrite(node: Any, files: set[str]) -> Any:
    if isinstance(node, list):
        return [_rewrite(item, files) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and not ref.startswith("#"):
        files.add(ref)
        node = {**node, "$ref": f"#/components/schemas/{_external_name(ref)}"}
    return {key: _rewrite(value, files) for key, value in node.items()}


def bundle(schemas: Path = SCHEMAS) -> dict[str, Any]:
    """schemas/asyncapi.yaml with its schema files inlined (a development-time step:
    PyYAML is a development dependency)."""
    import yaml

    document = yaml.safe_load((schemas / "asyncapi.yaml").read_text("utf-8"))
    files: set[str] = set()
    bundled: dict[str, Any] = _rewrite(document, files)
    components = bundled.setdefault("components", {}).setdefault("schemas", {})
    for ref in sorted(files):
        schema = json.loads((schemas / ref).read_text("utf-8"))
        name = _external_name(ref)
        assert name not in components, f"{name} is both a component and a schema file"
        components[name] = {k: v for k, v in schema.items() if k not in ("$schema", "$id")}
    return bundled


def render(document: dict[str, Any]) -> bytes:
    # YAML keys such as close codes are integers; JSON object keys are strings.
    option = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
    return orjson.dumps(document, option=option) + b"\n"


def served() -> bytes:
    """The packaged document, as `/asyncapi.json` serves it."""
    return resources.files("wildside_gateway").joinpath(PACKAGED).read_bytes()


if __name__ == "__main__":
    sys.stdout.buffer.write(render(bundle()))
