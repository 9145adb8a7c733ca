"""Analytics events against their schemas, and the switch-off without an API key."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator, FormatChecker

from wildside_common.analytics import (
    EVENT_TYPES,
    SCHEMA_VERSION,
    AnalyticsSettings,
    NullAnalytics,
    PostHogAnalytics,
    RouteCancelled,
    RouteGenerated,
    RouteRequested,
    UserSavedRoute,
    analytics_from_settings,
    payload,
)

pytestmark = pytest.mark.unit
SCHEMAS = Path(__file__).resolve().parents[3] / "schemas" / "analytics"


def schema(name: str) -> dict:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text())


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(schema(name), format_checker=FormatChecker())


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.name)
def test_each_event_has_a_schema_matching_its_fields(event_type) -> None:
    found = schema(event_type.name)
    fields = {f.name for f in dataclasses.fields(event_type)} - {"user_id"}
    assert set(found["required"]) == fields | {"schema_version", "service"}
    assert set(found["properties"]) == set(found["required"])
    assert found["x-wildside-schema-version"] == SCHEMA_VERSION
    assert found["x-wildside-model"].endswith(f".{event_type.name}")


def test_every_schema_file_belongs_to_an_event() -> None:
    names = {path.name.removesuffix(".schema.json") for path in SCHEMAS.glob("*.schema.json")}
    assert names == {event_type.name for event_type in EVENT_TYPES}


themes = st.lists(st.sampled_from(["history", "art", "nature", "food", "parks"]), max_size=4)
ids = st.uuids(version=4).map(str)


@given(
    ids,
    ids,
    st.integers(10, 480),
    themes,
    st.booleans(),
    st.booleans(),
    st.booleans(),
)
def test_route_requested_payloads_validate(user, request_id, minutes, chosen, a, b, c) -> None:
    event = RouteRequested(user, request_id, minutes, tuple(chosen), a, b, c)
    body = payload(event, "gateway")
    validator("RouteRequested").validate(body)
    assert "user_id" not in body and body["themes"] == chosen


@given(
    ids,
    st.floats(0, 50_000, allow_nan=False),
    st.floats(0, 600, allow_nan=False),
    st.integers(0, 30),
    themes,
    st.booleans(),
    st.floats(0, 60, allow_nan=False),
)
def test_route_generated_payloads_validate(request_id, metres, minutes, pois, matched, line, solve):
    event = RouteGenerated(
        str(uuid.uuid4()), request_id, 60, metres, minutes, pois, tuple(matched), line, solve
    )
    validator("RouteGenerated").validate(payload(event, "router"))


@pytest.mark.parametrize("stage", ["queued", "running"])
def test_route_cancelled_payloads_validate_with_an_open_stage_only(stage: str) -> None:
    event = RouteCancelled(str(uuid.uuid4()), str(uuid.uuid4()), stage)
    checker = validator("RouteCancelled")
    body = payload(event, "gateway")
    checker.validate(body)
    assert not checker.is_valid({**body, "stage": "succeeded"})


@given(ids, ids, st.integers(10, 480), st.floats(0, 50_000, allow_nan=False), st.integers(0, 30))
def test_user_saved_route_payloads_validate(saved, request_id, minutes, metres, stops) -> None:
    event = UserSavedRoute(str(uuid.uuid4()), saved, request_id, minutes, metres, stops)
    body = payload(event, "gateway")
    validator("UserSavedRoute").validate(body)
    assert "user_id" not in body and "name" not in body
    assert not validator("UserSavedRoute").is_valid({**body, "stops": -1})


def test_a_payload_missing_a_field_or_with_an_unknown_one_is_refused() -> None:
    body = payload(
        RouteRequested(str(uuid.uuid4()), str(uuid.uuid4()), 60, (), False, False, False), "gateway"
    )
    checker = validator("RouteRequested")
    assert not checker.is_valid({k: v for k, v in body.items() if k != "from_cache"})
    assert not checker.is_valid({**body, "lat": 60.17})
    assert checker.is_valid({**body, "$lib": "posthog-python"})


def test_without_an_api_key_analytics_are_off() -> None:
    settings = AnalyticsSettings(None, "http://127.0.0.1:9", 10, 1.0, 100)
    assert isinstance(analytics_from_settings(settings, "gateway"), NullAnalytics)
    keyed = dataclasses.replace(settings, api_key="phc_x")
    assert isinstance(analytics_from_settings(keyed, "gateway"), PostHogAnalytics)
