"""`wildside_common.route`: the codec round-trips, agrees with schemas/Route.schema.json,
and refuses what is not a route."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wildside_common.errors import InvalidInput
from wildside_common.route import (
    Route,
    Stop,
    route_from_bytes,
    route_from_json,
    route_to_bytes,
    route_to_json,
)
from wildside_common.testing.routes import example_json, example_route, route_schema

pytestmark = pytest.mark.unit
SchemaErrors = Callable[[str, Any], list[str]]
SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"

minutes = st.floats(0, 1e4, allow_nan=False)
metres = st.floats(0, 1e7, allow_nan=False)
lats = st.floats(-90, 90, allow_nan=False)
lngs = st.floats(-180, 180, allow_nan=False)
names = st.text(max_size=20)
ends = st.builds(Stop, lats, lngs, names)
places = st.builds(
    Stop,
    lats,
    lngs,
    names,
    st.sampled_from(["node", "way", "relation"]).flatmap(
        lambda kind: st.integers(1, 2**40).map(lambda n: f"{kind}/{n}")
    ),
    st.lists(names, max_size=3).map(tuple),
    minutes,
    st.none() | minutes,
)
routes = st.builds(
    Route,
    stops=st.tuples(ends, st.lists(places, max_size=5), ends).map(
        lambda parts: (parts[0], *parts[1], parts[2])
    ),
    geometry=st.lists(st.tuples(lngs, lats), min_size=2, max_size=10).map(tuple),
    distance_m=metres,
    duration_minutes=minutes,
    walk_minutes=minutes,
    themes_matched=st.lists(names, max_size=4).map(tuple),
    pois_considered=st.integers(0, 10_000),
    proven_optimal=st.booleans(),
    optimality_gap=st.none() | st.floats(0, 1),
    engine=names,
    attribution=names,
    straight_line=st.booleans(),
    sparse_area=st.booleans(),
    score=st.none() | st.floats(0, 1e6),
)


@given(route=routes)
def test_a_route_survives_its_json_and_its_json_is_what_the_schema_describes(
    route: Route, schema_errors: SchemaErrors
) -> None:
    document = route_to_json(route)
    assert route_from_json(document) == route
    assert route_from_json(json.loads(json.dumps(document))) == route
    assert route_from_bytes(route_to_bytes(route)) == route
    assert schema_errors("Route", document) == []


def test_the_example_validates_decodes_and_reencodes_unchanged(schema_errors: SchemaErrors) -> None:
    example = example_json()
    assert schema_errors("Route", example) == []
    route = route_from_json(example)
    assert route_to_json(route) == example
    assert [stop.name for stop in route.places] == ["Havis Amanda", "Helsinki Cathedral"]
    assert route.places[1].arrival_minutes == 18.1 and route.score == 1.7325


def test_the_shipped_schema_is_the_one_in_schemas() -> None:
    schema = json.loads((SCHEMAS / "Route.schema.json").read_text())
    assert schema == route_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Route" and schema["$id"].endswith("/Route.schema.json")


def test_a_route_stored_before_scores_and_arrivals_still_reads(schema_errors: SchemaErrors) -> None:
    old = copy.deepcopy(example_json())
    del old["score"]
    for point in old["points"]:
        point.pop("arrival_minutes", None)
    assert schema_errors("Route", old) == []
    route = route_from_json(old)
    assert route.score is None and all(p.arrival_minutes is None for p in route.stops)
    assert route == example_route(
        score=None, stops=tuple(Stop(p.lat, p.lng, p.name, p.osm, p.themes, p.dwell_minutes)
                                for p in example_route().stops)
    )  # fmt: skip


def _without(field: str) -> Callable[[dict[str, Any]], None]:
    return lambda route: route.pop(field)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(route: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = route
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return change


MALFORMED = {
    "no points": _without("points"),
    "no distance": _without("distance_m"),
    "no sparse_area": _without("sparse_area"),
    "one point": _set("points", [{"lat": 1.0, "lng": 2.0, "name": "Start"}]),
    "points not an array": _set("points", {"lat": 1.0}),
    "a point not an object": _set("points.1", [60.1, 24.9]),
    "latitude out of range": _set("points.0.lat", 91.0),
    "latitude a string": _set("points.0.lat", "60.1"),
    "a place without dwell": lambda route: route["points"][1].pop("dwell_minutes"),
    "themes not strings": _set("points.1.themes", [1]),
    "distance negative": _set("distance_m", -1.0),
    "distance a boolean": _set("distance_m", True),
    "distance infinite": _set("distance_m", float("inf")),
    "pois_considered a float": _set("pois_considered", 5.5),
    "proven_optimal a number": _set("proven_optimal", 1),
    "engine missing": _without("engine"),
    "geometry a point": _set("geometry.type", "Point"),
    "geometry one position": _set("geometry.coordinates", [[24.9, 60.1]]),
    "a position of three numbers": _set("geometry.coordinates.0", [24.9, 60.1, 5.0]),
}


@pytest.mark.parametrize("change", MALFORMED.values(), ids=list(MALFORMED))
def test_a_malformed_route_is_invalid_input(change: Callable[[dict[str, Any]], None]) -> None:
    document = copy.deepcopy(example_json())
    change(document)
    with pytest.raises(InvalidInput):
        route_from_json(document)


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b"null", b'{"points": []}'])
def test_bytes_that_are_not_a_route_are_invalid_input(raw: bytes) -> None:
    with pytest.raises(InvalidInput):
        route_from_bytes(raw)
