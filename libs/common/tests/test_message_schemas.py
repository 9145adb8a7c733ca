"""Bus messages against their JSON Schemas in `schemas/` and the examples beside them."""

from __future__ import annotations

import json
import re
import uuid
from datetime import UTC, datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from wildside_common import codec
from wildside_common.errors import InvalidInput
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

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
EXAMPLES = SCHEMAS / "examples"
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.I)

FORMATS = FormatChecker()


def _is_rfc3339(value: object) -> bool:
    # jsonschema checks date-time only with an optional package; this is the same rule.
    if not isinstance(value, str):
        return True
    if not RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value)
    return True


def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()


FORMATS.checks("date-time", raises=ValueError)(_is_rfc3339)
FORMATS.checks("uuid", raises=ValueError)(_is_uuid)


@cache
def validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMATS)


def errors(name: str, instance: Any) -> list[str]:
    return [error.message for error in validator(name).iter_errors(instance)]


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
    assert schema_names == set(MESSAGE_TYPES)
    assert {name for name, _ in examples()} <= set(MESSAGE_TYPES)


@pytest.mark.parametrize(("name", "path"), examples(), ids=lambda value: getattr(value, "name", ""))
def test_example_validates_decodes_and_reencodes(name: str, path: Path) -> None:
    document = json.loads(path.read_text())
    assert errors(name, document) == []
    model = MESSAGE_TYPES[name].from_wire(document)
    wire = model.to_wire()
    assert errors(name, wire) == []
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
    status=st.sampled_from([RouteStatus.QUEUED, RouteStatus.RUNNING, RouteStatus.SUCCEEDED]),
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
def test_generated_models_round_trip_through_msgpack_and_validate(message: Message) -> None:
    payload = codec.encode(message)
    decoded = codec.decode(type(message), payload)
    assert decoded == message
    wire = msgpack.unpackb(payload, raw=False)
    assert errors(message.schema_name, wire) == []
    assert codec.encode(decoded) == payload


def test_schema_headers_name_the_message_and_its_version() -> None:
    job = GenerateRouteJob.from_wire(json.loads((EXAMPLES / "GenerateRouteJob.json").read_text()))
    assert codec.schema_headers(job) == {
        "Wildside-Schema": "GenerateRouteJob",
        "Wildside-Schema-Version": str(GenerateRouteJob.schema_version),
    }


# -- invalid payloads -------------------------------------------------------------------------


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text())
    return document


@pytest.mark.parametrize(
    "payload",
    [b"", b"\xc1", b"\x93\x01\x02", b"\xa5hello", b"\x81\x01\x02", b"\xdc\xff", b"\x82\xa1a"],
    ids=["empty", "never-used-byte", "array", "string", "int-key", "truncated", "short-map"],
)
@pytest.mark.parametrize("kind", sorted(MESSAGE_TYPES))
def test_garbage_bytes_raise_invalid_input(kind: str, payload: bytes) -> None:
    with pytest.raises(InvalidInput):
        codec.decode(MESSAGE_TYPES[kind], payload)


INVALID = [
    ("GenerateRouteJob", "request_id", "not-a-uuid"),
    ("GenerateRouteJob", "user_id", 12),
    ("GenerateRouteJob", "start", {"lat": 91.0, "lng": 24.9}),
    ("GenerateRouteJob", "start", {"lat": 60.1, "lng": -180.0}),
    ("GenerateRouteJob", "start", {"lat": "60.1", "lng": 24.9}),
    ("GenerateRouteJob", "start", {"lat": True, "lng": 24.9}),
    ("GenerateRouteJob", "start", [60.1, 24.9]),
    ("GenerateRouteJob", "end", {"lat": 60.1, "lng": 180.5}),
    ("GenerateRouteJob", "duration_minutes", 0),
    ("GenerateRouteJob", "duration_minutes", 1441),
    ("GenerateRouteJob", "duration_minutes", "60"),
    ("GenerateRouteJob", "themes", "history"),
    ("GenerateRouteJob", "themes", ["History"]),
    ("GenerateRouteJob", "themes", [""]),
    ("GenerateRouteJob", "submitted_at", "yesterday"),
    ("GenerateRouteJob", "submitted_at", "2026-11-22T02:15:54"),
    ("GenerateRouteJob", "seed", "42"),
    ("GenerateRouteJob", "seed", 2**63),
    ("GenerateRouteJob", "idempotency_key", 7),
    ("RouteGenerationStatus", "type", "route_status"),
    ("RouteGenerationStatus", "request_id", "uuid"),
    ("RouteGenerationStatus", "status", "done"),
    ("RouteGenerationStatus", "progress", 101),
    ("RouteGenerationStatus", "progress", -1),
    ("RouteGenerationStatus", "progress", "50"),
    ("RouteGenerationStatus", "error", 5),
    ("RouteGenerationStatus", "timestamp", "not a time"),
    ("EnrichmentJob", "job_id", "6f1d2c3b-8a4e"),
    ("EnrichmentJob", "bbox", {"min_lat": -91, "min_lng": 24.9, "max_lat": 60.1, "max_lng": 25}),
    ("EnrichmentJob", "bbox", {"min_lat": "a", "min_lng": 24.9, "max_lat": 60.1, "max_lng": 25}),
    ("EnrichmentJob", "bbox", {"min_lat": 60.1, "min_lng": 24.9, "max_lat": 60.2}),
    ("EnrichmentJob", "themes", [1]),
    ("EnrichmentJob", "request_id", "nope"),
    ("EnrichmentJob", "reason", ["x"]),
    ("EnrichmentJob", "requested_at", 1732241754),
]


@pytest.mark.parametrize(("kind", "field", "value"), INVALID, ids=lambda v: str(v)[:30])
def test_invalid_fields_are_refused_by_model_and_schema(kind: str, field: str, value: Any) -> None:
    document = example(kind)
    document[field] = value
    assert errors(kind, document), "the schema should refuse it too"
    with pytest.raises(InvalidInput):
        MESSAGE_TYPES[kind].from_wire(document)
    with pytest.raises(InvalidInput):
        codec.decode(MESSAGE_TYPES[kind], msgpack.packb(document))


@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("GenerateRouteJob", "request_id"),
        ("GenerateRouteJob", "start"),
        ("GenerateRouteJob", "submitted_at"),
        ("GenerateRouteJob", "duration_minutes"),
        ("RouteGenerationStatus", "status"),
        ("RouteGenerationStatus", "progress"),
        ("RouteGenerationStatus", "type"),
        ("EnrichmentJob", "bbox"),
        ("EnrichmentJob", "job_id"),
    ],
)
def test_missing_required_fields_are_refused(kind: str, field: str) -> None:
    document = example(kind)
    del document[field]
    assert errors(kind, document)
    with pytest.raises(InvalidInput):
        MESSAGE_TYPES[kind].from_wire(document)


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("GenerateRouteJob", "duration_minutes", 60.0),
        (
            "EnrichmentJob",
            "bbox",
            {"min_lat": 60.2, "min_lng": 24.9, "max_lat": 60.1, "max_lng": 25},
        ),
    ],
    ids=["float-duration", "inverted-bbox"],
)
def test_model_refuses_what_json_schema_cannot_express(kind: str, field: str, value: Any) -> None:
    # JSON Schema counts 60.0 as an integer and cannot compare two fields; the model can.
    document = example(kind)
    document[field] = value
    with pytest.raises(InvalidInput):
        codec.decode(MESSAGE_TYPES[kind], msgpack.packb(document))


def test_failed_status_needs_an_error_in_model_and_schema() -> None:
    document = example("RouteGenerationStatus.failed")
    del document["error"]
    assert errors("RouteGenerationStatus", document)
    with pytest.raises(InvalidInput) as caught:
        RouteGenerationStatus.from_wire(document)
    assert caught.value.details["field"] == "error"


def test_invalid_input_names_the_nested_field() -> None:
    document = example("GenerateRouteJob")
    document["start"] = {"lat": 95.0, "lng": 24.9}
    with pytest.raises(InvalidInput) as caught:
        GenerateRouteJob.from_wire(document)
    assert caught.value.details["field"] == "start.lat"


def test_constructor_normalises_ids_so_equal_messages_compare_equal() -> None:
    upper = str(uuid.uuid4()).upper()
    status = RouteGenerationStatus(upper, RouteStatus.RUNNING, 10)
    assert status.request_id == upper.lower()
    assert RouteGenerationStatus.from_wire(status.to_wire()) == status
