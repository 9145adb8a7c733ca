"""Places for the map: which POIs a request asks for and what the API shows of them.

    GET /api/v1/pois?bbox=min_lng,min_lat,max_lng,max_lat[&themes=a,b][&limit=&cursor=]
    GET /api/v1/pois/{id}

A POI's id is its OpenStreetMap element in one canonical spelling: `n`, `w` or `r` (node,
way, relation) and the element's id in decimal without a sign or leading zero (`n123`).
Anything else names no POI and is refused (400), not looked up.

The box is four plain decimals (`-?digits[.digits]`: no exponent, sign `+`, `nan`,
`inf`, underscore or space), west <= east and south <= north in degrees; a box wider
than `PlaceRules.max_area` square degrees is refused with `details.code`
`area_too_large` (a map at street level asks for far less). Themes are the catalogue's
slugs, comma-separated; an unknown one is refused (`unknown_theme`), so a typo is never
an empty map. A POI matches when it has any of the themes asked for.

Listing order: most popular first, then by element (type, id): a unique, total key.
The cursor key is `[popularity in hundredths, element type, element id]`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wildside_common.errors import InvalidInput
from wildside_common.pagination import INVALID_CURSOR, Key, PageParams

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
DEFAULT_MAX_AREA = 0.05  # square degrees: ~ 2.5 km x 2.2 km at Helsinki's latitude
AREA_TOO_LARGE = "area_too_large"
UNKNOWN_THEME = "unknown_theme"
MAX_THEMES = 20
ATTRIBUTION = "(c) OpenStreetMap contributors, ODbL"

ELEMENT_TYPES = {"n": "node", "w": "way", "r": "relation"}
PREFIXES = {name: prefix for prefix, name in ELEMENT_TYPES.items()}
OSM_ID_MAX = 2**63 - 1
_POI_ID = re.compile(r"([nwr])([1-9][0-9]{0,18})")
_DEGREES = re.compile(r"-?(?:0|[1-9][0-9]{0,2})(?:\.[0-9]{1,15})?")

# The tags a walker cares about, shown as they are (missing ones as null).
WALKER_TAGS = ("opening_hours", "website", "wikipedia", "wikidata", "wheelchair")
ADDRESS_TAGS = ("street", "housenumber", "postcode", "city")


@dataclass(frozen=True, slots=True, order=True)
class PoiId:
    """One OpenStreetMap element: `element_type` node, way or relation, and its id."""

    element_type: str
    osm_id: int

    def __post_init__(self) -> None:
        if self.element_type not in PREFIXES or not 1 <= self.osm_id <= OSM_ID_MAX:
            raise ValueError(f"not a POI id: {self.element_type} {self.osm_id}")

    @classmethod
    def parse(cls, text: str) -> PoiId:
        """The id `text` spells canonically; InvalidInput (field `id`) otherwise."""
        matched = _POI_ID.fullmatch(text)
        if matched is None or int(matched[2]) > OSM_ID_MAX:
            raise InvalidInput.field(
                "id", "must be n, w or r and an OpenStreetMap id (e.g. n123), canonically"
            )
        return cls(ELEMENT_TYPES[matched[1]], int(matched[2]))

    def __str__(self) -> str:
        return f"{PREFIXES[self.element_type]}{self.osm_id}"

    def osm(self) -> dict[str, Any]:
        return {
            "type": self.element_type,
            "id": self.osm_id,
            "url": f"https://www.openstreetmap.org/{self.element_type}/{self.osm_id}",
        }


def _degrees(text: str) -> float:
    if not _DEGREES.fullmatch(text):
        raise InvalidInput.field("bbox", "must hold four plain decimal numbers")
    value = float(text)
    if not math.isfinite(value):  # unreachable with the pattern; kept as the invariant
        raise InvalidInput.field("bbox", "must hold four plain decimal numbers")
    return value


@dataclass(frozen=True, slots=True)
class BoundingBox:
    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float

    def __post_init__(self) -> None:
        if not -180 <= self.min_lng <= self.max_lng <= 180:
            raise InvalidInput.field("bbox", "needs -180 <= min_lng <= max_lng <= 180")
        if not -90 <= self.min_lat <= self.max_lat <= 90:
            raise InvalidInput.field("bbox", "needs -90 <= min_lat <= max_lat <= 90")

    @classmethod
    def parse(cls, text: str) -> BoundingBox:
        parts = text.split(",")
        if len(parts) != 4:
            raise InvalidInput.field("bbox", "must be min_lng,min_lat,max_lng,max_lat")
        return cls(*(_degrees(part) for part in parts))

    @property
    def area(self) -> float:
        """Square degrees (lon x lat, planar: the measure POI_MAX_BBOX_SQ_DEGREES uses)."""
        return (self.max_lng - self.min_lng) * (self.max_lat - self.min_lat)

    def corners(self) -> tuple[float, float, float, float]:
        return self.min_lng, self.min_lat, self.max_lng, self.max_lat


@dataclass(frozen=True, slots=True)
class PlaceRules:
    """What a listing may ask for: the catalogue's theme ids and the largest box."""

    themes: frozenset[str]
    max_area: float = DEFAULT_MAX_AREA

    def __post_init__(self) -> None:
        if not (math.isfinite(self.max_area) and self.max_area > 0):
            raise ValueError("the largest box must be a positive area")


def parse_themes(text: str, known: frozenset[str]) -> tuple[str, ...]:
    """`a,b` as sorted distinct theme ids; every one must be in the catalogue."""
    names = text.split(",")
    if len(names) > MAX_THEMES or any(not name for name in names):
        raise InvalidInput.field(
            "themes", f"must be 1 to {MAX_THEMES} comma-separated theme ids, none empty"
        )
    unknown = sorted(set(names) - known)
    if unknown:
        raise InvalidInput.field(
            "themes",
            f"unknown theme(s): {', '.join(unknown)}",
            code=UNKNOWN_THEME,
            unknown=unknown,
            known=sorted(known),
        )
    return tuple(sorted(set(names)))


@dataclass(frozen=True, slots=True)
class PoiQuery:
    """The POIs inside `box` having any of `themes` (every POI when empty)."""

    box: BoundingBox
    themes: tuple[str, ...] = ()

    @classmethod
    def parse(cls, query: Mapping[str, str], rules: PlaceRules) -> PoiQuery:
        """The query's `bbox` (required) and `themes` (optional), checked by `rules`."""
        raw_box = query.get("bbox")
        if raw_box is None:
            raise InvalidInput.field("bbox", "is required: min_lng,min_lat,max_lng,max_lat")
        box = BoundingBox.parse(raw_box)
        if box.area > rules.max_area * (1 + 1e-9):  # decimal input, binary floats
            raise InvalidInput.field(
                "bbox",
                f"covers {box.area:.4g} square degrees, more than {rules.max_area:g}: zoom in",
                code=AREA_TOO_LARGE,
                max_sq_degrees=rules.max_area,
            )
        raw_themes = query.get("themes")
        themes = parse_themes(raw_themes, rules.themes) if raw_themes is not None else ()
        return cls(box, themes)


def rank(popularity: float) -> int:
    """Popularity in hundredths (rows hold it rounded to 2 decimals): the cursor's key."""
    return round(popularity * 100)


@dataclass(frozen=True, slots=True)
class PoiSummary:
    """One POI as the listing shows it (trusted: built from database rows)."""

    poi_id: PoiId
    name: str | None
    lat: float
    lng: float
    themes: tuple[str, ...]
    popularity: float

    def key(self) -> Key:
        return (rank(self.popularity), self.poi_id.element_type, self.poi_id.osm_id)

    def view(self) -> dict[str, Any]:
        return {
            "id": str(self.poi_id),
            "osm": self.poi_id.osm(),
            "name": self.name,
            "lat": self.lat,
            "lng": self.lng,
            "themes": list(self.themes),
            "popularity": self.popularity,
        }


def position(params: PageParams) -> tuple[int, str, int] | None:
    """Where a cursor of this listing points: (rank, element type, element id); None on
    the first page; `invalid_cursor` for any key this listing never made."""
    if params.cursor is None:
        return None
    key = params.cursor.key
    if len(key) == 3:
        score, element_type, osm_id = key
        if (
            type(score) is int
            and 0 <= score <= 100
            and element_type in PREFIXES
            and type(osm_id) is int
            and 1 <= osm_id <= OSM_ID_MAX
        ):
            assert isinstance(element_type, str)
            return score, element_type, osm_id
    raise InvalidInput(
        "cursor: not a cursor of this listing", {"field": "cursor", "code": INVALID_CURSOR}
    )


def walker_tags(tags: Mapping[str, Any]) -> dict[str, Any]:
    """The tags a walker cares about: each of WALKER_TAGS (null when absent) and the
    address (`addr:*`: street, housenumber, postcode, city; null when none is set)."""
    shown: dict[str, Any] = {key: _text(tags.get(key)) for key in WALKER_TAGS}
    address = {part: _text(tags.get(f"addr:{part}")) for part in ADDRESS_TAGS}
    shown["address"] = address if any(value is not None for value in address.values()) else None
    return shown


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a POI row came from: the writer (`osm_ingest` or `overpass`), when it was
    first and last written, and the extract or Overpass query that wrote it, when known."""

    source: str
    created_at: datetime
    updated_at: datetime
    source_url: str | None

    def view(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "source_url": self.source_url,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "attribution": ATTRIBUTION,
        }


@dataclass(frozen=True, slots=True)
class PoiDetail:
    summary: PoiSummary
    tags: Mapping[str, Any]
    provenance: Provenance

    def view(self) -> dict[str, Any]:
        return {
            **self.summary.view(),
            "tags": walker_tags(self.tags),
            "provenance": self.provenance.view(),
        }
