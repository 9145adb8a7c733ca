"""POI records: point, name, tags, themes, popularity and the content hash.

One element of OpenStreetMap, written to `pois` by the ingest (from an extract) or the
enricher (from an Overpass answer): both build it with `make_poi`, so the same element
with the same tags gives the same row, whichever source saw it.

Popularity is a data-driven prior in [0, 1] computed from the tags alone (docs/ingest.md,
"Popularity"): elements with encyclopaedia entries, heritage status, a tourism role, a
name, a website and opening hours are more likely to be worth a walker's detour.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

ElementType = str  # "node" | "way" | "relation"

PoiSource = Literal["osm_ingest", "overpass"]
INGEST: Final = "osm_ingest"  # an extract loaded by `ingest-osm`
OVERPASS: Final = "overpass"  # an Overpass answer fetched by the enricher
SOURCES: tuple[PoiSource, ...] = (INGEST, OVERPASS)


def claims_unchanged_rows(source: PoiSource) -> bool:
    """Whether a write from `source` takes over a row whose content it would not change.

    An extract's load does: the row becomes the ingest's, so a later extract without the
    element removes it. An Overpass answer does not: an ingest row seen again unchanged
    stays the ingest's (a changed one becomes the enricher's, as any changed row does).
    """
    return source == INGEST


# (tag key, accepted values or None for any, weight); the weights sum to 1.0.
POPULARITY_WEIGHTS: tuple[tuple[str, frozenset[str] | None, float], ...] = (
    ("wikidata", None, 0.30),
    ("wikipedia", None, 0.20),
    ("heritage", None, 0.15),
    (
        "tourism",
        frozenset(
            {
                "attraction",
                "museum",
                "artwork",
                "viewpoint",
                "gallery",
                "zoo",
                "theme_park",
                "aquarium",
            }
        ),
        0.15,
    ),
    ("name", None, 0.10),
    ("website", None, 0.05),
    ("opening_hours", None, 0.05),
)


def popularity(tags: Mapping[str, str]) -> float:
    """The tag-based popularity prior in [0, 1], rounded to 2 decimals for stable rows."""
    score = 0.0
    for key, values, weight in POPULARITY_WEIGHTS:
        value = tags.get(key)
        if value and value != "no" and (values is None or value in values):
            score += weight
    return round(min(score, 1.0), 2)


def canonical_tags(tags: Mapping[str, str]) -> str:
    """Tags as compact JSON with sorted keys: the same tags always give the same text."""
    return _CANONICAL(tags if type(tags) is dict else dict(tags))


# json.dumps with these options builds a new encoder on every call; one is enough.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class PoiRecord:
    """One `pois` row (a trusted constructor: built by `make_poi`)."""

    element_type: ElementType
    osm_id: int
    lon: float
    lat: float
    name: str | None
    tags_json: str
    themes: tuple[str, ...]
    popularity: float
    content_hash: str


def make_poi(
    element_type: ElementType,
    osm_id: int,
    lon: float,
    lat: float,
    tags: Mapping[str, str],
    themes: tuple[str, ...],
) -> PoiRecord:
    """Build a POI row; the hash covers everything written, so any change is seen."""
    lon, lat = round(lon, 7), round(lat, 7)  # OSM's own precision: stable across reruns
    tags_json = canonical_tags(tags)
    score = popularity(tags)
    name = tags.get("name") or None
    digest = hashlib.sha256(
        f"{lon:.7f}|{lat:.7f}|{tags_json}|{','.join(themes)}|{score:.2f}".encode()
    ).hexdigest()
    return PoiRecord(element_type, osm_id, lon, lat, name, tags_json, themes, score, digest)
