"""OpenAPI paths and schemas of the places endpoints (merged by `openapi`)."""

from __future__ import annotations

from typing import Any

from wildside_gateway.places.domain.places import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    MAX_THEMES,
    WALKER_TAGS,
)
from wildside_gateway.shared.openapi import (
    NO_SESSION,
    SECURITY,
    UNAVAILABLE,
    error,
    object_schema,
    ok,
    page_of,
    page_parameters,
    ref,
)

POI_ID = {
    "name": "poi_id",
    "in": "path",
    "required": True,
    "description": "n, w or r (node, way, relation) and the OpenStreetMap id, canonically "
    "(no sign, no leading zero): n123. Any other spelling is 400, an unknown element 404",
    "schema": {"type": "string", "pattern": "^[nwr][1-9][0-9]{0,18}$"},
}
DEGREES = r"-?(0|[1-9][0-9]{0,2})(\.[0-9]{1,15})?"


def places_paths() -> dict[str, Any]:
    filters = [
        {
            "name": "bbox",
            "in": "query",
            "required": True,
            "description": "min_lng,min_lat,max_lng,max_lat in plain decimal degrees (west <= "
            "east, south <= north): the POIs inside it. A box of more than "
            "POI_MAX_BBOX_SQ_DEGREES (default 0.05) square degrees is 400 with details.code "
            "area_too_large",
            "schema": {"type": "string", "pattern": f"^{DEGREES}(,{DEGREES}){{3}}$"},
        },
        {
            "name": "themes",
            "in": "query",
            "description": f"1 to {MAX_THEMES} comma-separated theme ids "
            "(GET /api/v1/interest-themes): the POIs having any of them. An unknown id is "
            "400 with details.code unknown_theme",
            "schema": {"type": "string", "pattern": "^[a-z][a-z0-9_-]*(,[a-z][a-z0-9_-]*)*$"},
        },
    ]
    return {
        "/api/v1/pois": {
            "get": {
                "summary": "The places inside a box, most popular first, keyset paged",
                "security": SECURITY,
                "parameters": [*page_parameters(DEFAULT_LIMIT, MAX_LIMIT), *filters],
                "responses": {
                    "200": ok(page_of("PoiSummary")),
                    "400": error(
                        "Bad bbox (details.code area_too_large when too large), unknown "
                        "theme (unknown_theme), bad limit or cursor (invalid_limit, "
                        "invalid_cursor, unsupported_direction)"
                    ),
                    "401": NO_SESSION,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/api/v1/pois/{poi_id}": {
            "get": {
                "summary": "One place: the tags a walker cares about and its provenance",
                "security": SECURITY,
                "parameters": [POI_ID],
                "responses": {
                    "200": ok(ref("PoiDetail")),
                    "400": error("Not a canonical POI id"),
                    "401": NO_SESSION,
                    "404": error("No such place"),
                    "503": UNAVAILABLE,
                },
            }
        },
    }


def places_schemas() -> dict[str, Any]:
    text = {"type": "string"}
    maybe = {"type": ["string", "null"]}
    stamp = {"type": "string", "format": "date-time"}
    osm = {
        "type": {"type": "string", "enum": ["node", "way", "relation"]},
        "id": {"type": "integer", "minimum": 1},
        "url": {"type": "string", "format": "uri"},
    }
    summary = {
        "id": {"type": "string", "pattern": "^[nwr][1-9][0-9]{0,18}$"},
        "osm": object_schema(list(osm), osm),
        "name": maybe,
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lng": {"type": "number", "minimum": -180, "maximum": 180},
        "themes": {"type": "array", "items": text},
        "popularity": {"type": "number", "minimum": 0, "maximum": 1},
    }
    address = {part: maybe for part in ("street", "housenumber", "postcode", "city")}
    tags: dict[str, Any] = {key: maybe for key in WALKER_TAGS}
    tags["address"] = {"anyOf": [object_schema(list(address), address), {"type": "null"}]}
    provenance = {
        "source": {"type": "string", "enum": ["osm_ingest", "overpass"]},
        "source_url": {"type": ["string", "null"], "format": "uri"},
        "created_at": stamp,
        "updated_at": stamp,
        "attribution": text,
    }
    return {
        "PoiSummary": object_schema(list(summary), summary),
        "PoiDetail": object_schema(
            [*summary, "tags", "provenance"],
            {
                **summary,
                "tags": object_schema(list(tags), tags),
                "provenance": object_schema(list(provenance), provenance),
            },
        ),
    }
