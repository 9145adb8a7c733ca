"""Reading an Overpass JSON answer into POI records (`wildside_common.places`).

    {"version": 0.6, "generator": "Overpass API ...", "osm3s": {...},
     "elements": [{"type": "node", "id": 1, "lat": 60.1, "lon": 24.9, "tags": {...}},
                  {"type": "way", "id": 2, "center": {"lat": ..., "lon": ...}, "tags": {...}}],
     "remark": "runtime error: Query timed out ..."}      # only when something went wrong

A body that is not such a document is malformed (`MalformedAnswer`, never retried).
A `remark` reporting a runtime error means the answer is partial (`IncompleteAnswer`,
retried later): nothing from it is written. Elements that cannot be placed (no point)
or match no theme are skipped one by one and counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from wildside_common.errors import InvalidInput, Unavailable
from wildside_common.places.poi import PoiRecord, make_poi
from wildside_common.themes import ThemeRules

ELEMENT_TYPES = ("node", "way", "relation")


class MalformedAnswer(InvalidInput):
    """The body is not an Overpass JSON answer."""


class IncompleteAnswer(Unavailable):
    """Overpass stopped early (timeout, memory): the answer is partial, try again later."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The POIs an answer yields and how many elements were skipped."""

    pois: tuple[PoiRecord, ...]
    elements: int
    skipped: int


def read_answer(body: bytes, rules: ThemeRules) -> Answer:
    """Parse and convert a whole answer (CPU-bound: run it off the event loop)."""
    elements = parse_elements(body)
    pois: dict[tuple[str, int], PoiRecord] = {}
    skipped = 0
    for element in elements:
        poi = element_poi(element, rules)
        if poi is None:
            skipped += 1
        else:
            # Duplicates would make one upsert touch a row twice; the last one wins.
            pois[(poi.element_type, poi.osm_id)] = poi
    ordered = tuple(pois[key] for key in sorted(pois))
    return Answer(ordered, len(elements), skipped)


def parse_elements(body: bytes) -> Sequence[Any]:
    """The `elements` list of a JSON answer; raises `MalformedAnswer` or `IncompleteAnswer`."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise MalformedAnswer("malformed Overpass answer: not JSON") from None
    if not isinstance(document, dict):
        raise MalformedAnswer("malformed Overpass answer: not a JSON object")
    remark = document.get("remark")
    if isinstance(remark, str) and "error" in remark.lower():
        raise IncompleteAnswer(f"Overpass answer is incomplete: {remark[:200]}")
    elements = document.get("elements")
    if not isinstance(elements, list):
        raise MalformedAnswer("malformed Overpass answer: no elements list")
    return elements


def element_poi(element: Any, rules: ThemeRules) -> PoiRecord | None:
    """One element as a POI record, or None when it has no usable point or no theme."""
    if not isinstance(element, Mapping) or element.get("type") not in ELEMENT_TYPES:
        return None
    osm_id = element.get("id")
    if isinstance(osm_id, bool) or not isinstance(osm_id, int) or osm_id <= 0:
        return None
    tags = _tags(element.get("tags"))
    point = _point(element if element["type"] == "node" else element.get("center"))
    if tags is None or point is None:
        return None
    themes = rules.themes_for(tags)
    if not themes:
        return None
    return make_poi(element["type"], osm_id, point[0], point[1], tags, themes)


def _tags(raw: Any) -> dict[str, str] | None:
    if not isinstance(raw, Mapping):
        return None
    return {str(key): str(value) for key, value in raw.items()}


def _point(holder: Any) -> tuple[float, float] | None:
    """(lon, lat) from an object with `lat` and `lon`, when both are valid WGS84."""
    if not isinstance(holder, Mapping):
        return None
    lat, lon = holder.get("lat"), holder.get("lon")
    for value in (lat, lon):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if not math.isfinite(value):
            return None
    if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0):  # type: ignore[operator]
        return None
    return float(lon), float(lat)  # type: ignore[arg-type]
