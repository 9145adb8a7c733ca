"""Bus messages against their JSON Schemas in `schemas/` and the examples beside them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wildside_common import codec
from wildside_common.messages import (
    MESSAGE_TYPES,
    BoundingBox,
    EnrichmentJob,
    GenerateRouteJob,
    GeoPoint,
    Message,
    RouteGenerationStatus,
    RouteStatus,
)

pytestmark = pytest.mark.unit

# The `schema_errors` fixture (conftest.py): schema name, instance -> validation errors.
SchemaErrors = Callable[[str, Any], list[str]]

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
EXAMPLES = SCHEMAS / "examples"


def examples() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(EXAMPLES.glob("*.json")):
        name = path.name.split(".", 1)[0]
        found.append((name, path))
    return found


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
def test_every_message_type_has_a_schema_and_an_example(name: str) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f"/{name}.schema.json")
    assert schema["title"] == name
    assert schema["description"]
    assert schema["x-wildside-schema-version"] == MESSAGE_TYPES[name].schema_version
    assert (EXAMPLES / f"{name}.json").is_file()


def test_every_schema_and_example_belongs_to_a_message_type() -> None:
    schema_names = {
        path.name.removesuffix(".schema.json") for path in SCHEMAS.glob("*.schema.json")
    }
    assert schema_names == set(MESSAGE_TYPES) | {"Route"}  # Route: test_route_codec.py
    assert {name for name, _ in examples()} <= set(MESSAGE_TYPES)


@pytest.mark.parametrize(("name", "path"), examples(), ids=lambda value: getattr(value, "name", ""))
def test_example_validates_decodes_and_reencodes(
    name: str, path: Path, schema_errors: SchemaErrors
) -> None:
    document = json.loads(path.read_text())
    assert schema_errors(name, document) == []
    model = MESSAGE_TYPES[name].from_wire(document)
    wire = model.to_wire()
    assert schema_errors(name, wire) == []
    again = codec.decode(MESSAGE_TYPES[name], codec.encode(model))
    assert again == model


def test_status_schema_is_the_seeds_schema() -> None:
    schema = json.loads((SCHEMAS / "RouteGenerationStatus.schema.json").read_text())
    assert schema["required"] == ["type", "request_id", "status", "progress"]
    assert schema["properties"]["type"] == {"type": "string", "const": "route_generation_status"}
    assert schema["properties"]["status"]["enum"] == [status.value for status in RouteStatus]
    assert schema["properties"]["progress"] == {"type": "integer", "minimum": 0, "maximum": 100}
    assert schema["properties"]["timestamp"] == {"type": "string", "format": "date-time"}


def test_status_schema_transitions_match_the_model() -> None:
    from wildside_common.messages import can_transition

    schema = json.loads((SCHEMAS / "RouteGenerationStatus.schema.json").read_text())
    for current, allowed in schema["x-wildside-transitions"].items():
        for new in RouteStatus:
            assert can_transition(RouteStatus(current), new) == (new.value in allowed)


def test_only_an_open_request_may_be_cancelled_and_cancelled_is_final() -> None:
    from wildside_common.messages import can_transition

    cancelled = RouteStatus.CANCELLED
    assert cancelled.final
    assert [s for s in RouteStatus if can_transition(s, cancelled)] == [
        RouteStatus.QUEUED,
        RouteStatus.RUNNING,
    ]
    assert not any(can_transition(cancelled, new) for new in RouteStatus)
    assert not can_transition(None, cancelled)


# -- generated models ---------------------------------------------------------------------

uuids = st.uuids().map(str)
themes = st.lists(st.from_regex(r"[a-z][a-z0-9_-]{0,39}", fullmatch=True), max_size=6)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-7))]),
)
lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
lngs = st.floats(min_value=-180, max_value=180, allow_nan=False, exclude_min=True)
points = st.builds(GeoPoint, lat=lats, lng=lngs)
text = st.text(max_size=80)


@st.composite
def boxes(draw: st.DrawFn) -> BoundingBox:
    lat = sorted([draw(lats), draw(lats)])
    lng = sorted([draw(lngs), draw(lngs)])
    return BoundingBox(lat[0], lng[0], lat[1], lng[1])


route_jobs = st.builds(
    GenerateRouteJob,
    request_id=uuids,
    user_id=uuids,
    start=points,
    duration_minutes=st.integers(1, 1440),
    themes=themes.map(tuple),
    submitted_at=moments,
    end=st.none() | points,
    seed=st.none() | st.integers(-(2**63), 2**63 - 1),
    idempotency_key=st.none() | text,
    cache_key=st.none() | text,
)
statuses = st.builds(
    RouteGenerationStatus,
    request_id=uuids,
    status=st.sampled_from(
        [RouteStatus.QUEUED, RouteStatus.RUNNING, RouteStatus.SUCCEEDED, RouteStatus.CANCELLED]
    ),
    progress=st.integers(0, 100),
    timestamp=moments,
    error=st.none() | text,
) | st.builds(
    RouteGenerationStatus,
    request_id=uuids,
    status=st.just(RouteStatus.FAILED),
    progress=st.integers(0, 100),
    timestamp=moments,
    error=text.filter(bool),
)
enrichment_jobs = st.builds(
    EnrichmentJob,
    job_id=uuids,
    bbox=boxes(),
    themes=themes.map(tuple),
    requested_at=moments,
    request_id=st.none() | uuids,
    reason=st.none() | text,
)


@settings(max_examples=150, deadline=None, database=None)
@given(st.one_of(route_jobs, statuses, enrichment_jobs))
def test_generated_models_round_trip_through_msgpack_and_validate(
    schema_errors: SchemaErrors, message: Message
) -> None:
    payload = codec.encode(message)
    decoded = codec.decode(type(message), payload)
    assert decoded == message
    wire = msgpack.unpackb(payload, raw=False)
    assert schema_errors(message.schema_name, wire) == []
    assert codec.encode(decoded) == payload


def test_schema_headers_name_the_message_and_its_version() -> None:
    job = GenerateRouteJob.from_wire(json.loads((EXAMPLES / "GenerateRouteJob.json").read_text()))
    assert codec.schema_headers(job) == {
        "Wildside-Schema": "GenerateRouteJob",
        "Wildside-Schema-Version": str(GenerateRouteJob.schema_version),
    }
