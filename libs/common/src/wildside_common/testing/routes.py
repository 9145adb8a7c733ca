"""The Route schema and its example, for tests of whatever stores or sends a route."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import resources
from typing import Any

from wildside_common.route import Route, route_from_json


def route_schema() -> dict[str, Any]:
    """`schemas/Route.schema.json` (shipped as wildside_common/data/Route.schema.json)."""
    text = resources.files("wildside_common").joinpath("data/Route.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def example_json() -> dict[str, Any]:
    """The schema's example, as JSON."""
    example: dict[str, Any] = route_schema()["examples"][0]
    return example


def example_route(**changes: Any) -> Route:
    """The schema's example as a `Route`, with `changes` applied."""
    return replace(route_from_json(example_json()), **changes)
