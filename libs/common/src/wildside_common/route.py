"""A planned walk, the product's main output, and its one JSON codec.

The router builds a `Route`, stores it (PostgreSQL, jsonb) and caches it (Redis); the
gateway reads it back from either and sends it in its HTTP responses. All of them go
through `route_to_json` / `route_from_json` (or the bytes helpers), so the format has
one definition: `schemas/Route.schema.json` (an example inside it).

Evolving the format: add optional fields only (clients and stored routes of the last
day must keep reading). `score` and a stop's `arrival_minutes` were added so: a route
stored before them decodes with None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from wildside_common.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class Stop:
    """A point of the walk: the start, the end, or a place visited (`osm` set)."""

    lat: float
    lng: float
    name: str
    osm: str | None = None  # "node/123" for a place; None for the start and the end
    themes: tuple[str, ...] = ()
    dwell_minutes: float | None = None
    arrival_minutes: float | None = None  # minutes from the start to the arrival here

    def __post_init__(self) -> None:
        if not -90 <= self.lat <= 90 or not -180 <= self.lng <= 180:
            raise InvalidInput.field("points", "a coordinate is out of range")
        if self.osm is None and (self.themes or self.dwell_minutes is not None):
            raise InvalidInput.field("points", "only a place (with osm) has themes and dwell")
        if self.osm is not None and self.dwell_minutes is None:
            raise InvalidInput.field("points", "a place needs dwell_minutes")
        if self.osm is None and self.arrival_minutes is not None:
            raise InvalidInput.field("points", "only a place has arrival_minutes")


@dataclass(frozen=True, slots=True)
class Route:
    """A walk from its first stop to its last (docs/engine.md, "Result")."""

    stops: tuple[Stop, ...]
    geometry: tuple[tuple[float, float], ...]  # GeoJSON LineString positions, (lng, lat)
    distance_m: float
    duration_minutes: float  # walking plus dwell
    walk_minutes: float
    themes_matched: tuple[str, ...]
    pois_considered: int
    proven_optimal: bool
    optimality_gap: float | None  # (bound - score) / bound; None when no bound is known
    engine: str
    attribution: str
    straight_line: bool  # no street network: legs are straight lines
    sparse_area: bool = False  # few matching places: enrichment was requested
    score: float | None = None  # the solver's objective: the chosen places' scores summed

    def __post_init__(self) -> None:
        if len(self.stops) < 2:
            raise InvalidInput.field("points", "must hold the start and the end")
        if len(self.geometry) < 2:
            raise InvalidInput.field("geometry", "a LineString needs two positions")
        if self.pois_considered < 0:
            raise InvalidInput.field("pois_considered", "must not be negative")

    @property
    def places(self) -> tuple[Stop, ...]:
        """The places visited, in order (the stops between the start and the end)."""
        return self.stops[1:-1]


def route_to_json(route: Route) -> dict[str, Any]:
    """The route as the API sends it and the stores keep it."""
    return {
        "points": [_stop_to_json(stop) for stop in route.stops],
        "distance_m": route.distance_m,
        "duration_minutes": route.duration_minutes,
        "walk_minutes": route.walk_minutes,
        "themes_matched": list(route.themes_matched),
        "geometry": {
            "type": "LineString",
            "coordinates": [list(position) for position in route.geometry],
        },
        "straight_line": route.straight_line,
        "sparse_area": route.sparse_area,
        "pois_considered": route.pois_considered,
        "proven_optimal": route.proven_optimal,
        "optimality_gap": route.optimality_gap,
        "score": route.score,
        "engine": route.engine,
        "attribution": route.attribution,
    }


def route_from_json(data: Any) -> Route:
    """The route in `data`; raises InvalidInput naming the first field that is wrong."""
    data = _object(data, "route")
    geometry = _object(data.get("geometry"), "geometry")
    if geometry.get("type") != "LineString":
        raise InvalidInput.field("geometry", "must be a LineString")
    return Route(
        stops=tuple(_stop_from_json(item) for item in _array(data.get("points"), "points")),
        geometry=tuple(_position(item) for item in _array(geometry.get("coordinates"), "geometry")),
        distance_m=_number(data, "distance_m"),
        duration_minutes=_number(data, "duration_minutes"),
        walk_minutes=_number(data, "walk_minutes"),
        themes_matched=_strings(data.get("themes_matched"), "themes_matched"),
        pois_considered=_integer(data, "pois_considered"),
        proven_optimal=_boolean(data, "proven_optimal"),
        optimality_gap=_optional_number(data, "optimality_gap"),
        engine=_string(data, "engine"),
        attribution=_string(data, "attribution"),
        straight_line=_boolean(data, "straight_line"),
        sparse_area=_boolean(data, "sparse_area"),
        score=_optional_number(data, "score"),
    )


def route_to_bytes(route: Route) -> bytes:
    """The route's JSON, encoded (the Redis route cache's value)."""
    return orjson.dumps(route_to_json(route))


def route_from_bytes(raw: bytes) -> Route:
    """The route in JSON bytes; raises InvalidInput when they are not one."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("route: not JSON") from exc
    return route_from_json(data)


def _stop_to_json(stop: Stop) -> dict[str, Any]:
    body: dict[str, Any] = {"lat": stop.lat, "lng": stop.lng, "name": stop.name}
    if stop.osm is not None:
        body.update(osm=stop.osm, themes=list(stop.themes), dwell_minutes=stop.dwell_minutes)
    if stop.arrival_minutes is not None:
        body["arrival_minutes"] = stop.arrival_minutes
    return body


def _stop_from_json(value: Any) -> Stop:
    data = _object(value, "points")
    place = data.get("osm") is not None
    return Stop(
        lat=_number(data, "lat", signed=True),
        lng=_number(data, "lng", signed=True),
        name=_string(data, "name"),
        osm=_string(data, "osm") if place else None,
        themes=_strings(data.get("themes"), "themes") if place else (),
        dwell_minutes=_number(data, "dwell_minutes") if place else None,
        arrival_minutes=_optional_number(data, "arrival_minutes"),
    )


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput.field(field, "must be an object")
    return value


def _array(value: Any, field: str) -> Sequence[Any]:
    if not isinstance(value, list | tuple):
        raise InvalidInput.field(field, "must be an array")
    return value


def _position(value: Any) -> tuple[float, float]:
    items = _array(value, "geometry")
    if len(items) != 2:
        raise InvalidInput.field("geometry", "a position is [lng, lat]")
    lng, lat = (_finite(item, "geometry") for item in items)
    return (lng, lat)


def _finite(value: Any, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidInput.field(field, "must be a finite number")
    return float(value)


def _number(data: Mapping[str, Any], field: str, signed: bool = False) -> float:
    number = _finite(data.get(field), field)
    if number < 0 and not signed:
        raise InvalidInput.field(field, "must not be negative")
    return number


def _optional_number(data: Mapping[str, Any], field: str) -> float | None:
    return None if data.get(field) is None else _number(data, field)


def _integer(data: Mapping[str, Any], field: str) -> int:
    value = data.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput.field(field, "must be an integer")
    return value


def _boolean(data: Mapping[str, Any], field: str) -> bool:
    value = data.get(field)
    if not isinstance(value, bool):
        raise InvalidInput.field(field, "must be true or false")
    return value


def _string(data: Mapping[str, Any], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str):
        raise InvalidInput.field(field, "must be a string")
    return value


def _strings(value: Any, field: str) -> tuple[str, ...]:
    items = _array(value, field)
    if not all(isinstance(item, str) for item in items):
        raise InvalidInput.field(field, "must be an array of strings")
    return tuple(items)
