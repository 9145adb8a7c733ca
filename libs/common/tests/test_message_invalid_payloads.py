"""Malformed bus payloads: refused with InvalidInput by the codec, the model and the schema."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wildside_common import codec
from wildside_common.errors import InvalidInput
from wildside_common.messages import (
    MESSAGE_TYPES,
    GenerateRouteJob,
    RouteGenerationStatus,
    RouteStatus,
)

pytestmark = pytest.mark.unit

# The `schema_errors` fixture (conftest.py): schema name, instance -> validation errors.
SchemaErrors = Callable[[str, Any], list[str]]
EXAMPLES = Path(__file__).resolve().parents[3] / "schemas" / "examples"


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
def test_invalid_fields_are_refused_by_model_and_schema(
    kind: str, field: str, value: Any, schema_errors: SchemaErrors
) -> None:
    document = example(kind)
    document[field] = value
    assert schema_errors(kind, document), "the schema should refuse it too"
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
def test_missing_required_fields_are_refused(
    kind: str, field: str, schema_errors: SchemaErrors
) -> None:
    document = example(kind)
    del document[field]
    assert schema_errors(kind, document)
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


def test_failed_status_needs_an_error_in_model_and_schema(schema_errors: SchemaErrors) -> None:
    document = example("RouteGenerationStatus.failed")
    del document["error"]
    assert schema_errors("RouteGenerationStatus", document)
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


# -- fuzzing ----------------------------------------------------------------------------------

# Any value msgpack can carry.
wire_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=40)
    | st.binary(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=8,
)
# Near misses of the real fields' types, so the fuzzer probes the edges, not only garbage.
near_misses = (
    st.lists(st.text(max_size=12), max_size=3)
    | st.integers(-5, 1500)
    | st.floats(-200, 200)
    | st.fixed_dictionaries({"lat": st.floats(-100, 100), "lng": st.floats(-200, 200)})
    | st.dictionaries(
        st.sampled_from(["min_lat", "min_lng", "max_lat", "max_lng"]), st.floats(-200, 200)
    )
)
FUZZ = settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@FUZZ
@given(kind=st.sampled_from(sorted(MESSAGE_TYPES)), payload=st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_invalid_input(kind: str, payload: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        codec.decode(MESSAGE_TYPES[kind], payload)


@FUZZ
@given(data=st.data(), kind=st.sampled_from(sorted(MESSAGE_TYPES)))
def test_a_field_replaced_by_anything_is_refused_or_still_valid(
    schema_errors: SchemaErrors, data: st.DataObject, kind: str
) -> None:
    # Whatever the model accepts, the schema accepts too: they never disagree that way.
    document = example(kind)
    field = data.draw(st.sampled_from([*sorted(document), "end", "seed", "error", "reason"]))
    document[field] = data.draw(wire_values | near_misses)
    try:
        model = codec.decode(MESSAGE_TYPES[kind], msgpack.packb(document))
    except InvalidInput:
        return
    assert schema_errors(kind, model.to_wire()) == []
    # The document itself validates too, but for one leniency: a null optional reads as absent.
    present = {key: value for key, value in document.items() if value is not None}
    assert schema_errors(kind, present) == []
