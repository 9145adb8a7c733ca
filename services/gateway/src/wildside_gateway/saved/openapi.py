"""OpenAPI paths and schemas of saved routes and of "my route requests" (merged by
`openapi`)."""

from __future__ import annotations

from typing import Any

from wildside_gateway.identity.openapi import (
    BAD_PAGE,
    CROSS_SITE,
    NO_SESSION,
    NOT_JSON,
    SECURITY,
    UNAVAILABLE,
)
from wildside_gateway.identity.openapi import _page_of as page_of
from wildside_gateway.identity.openapi import _page_parameters as page_parameters

UUID = {"type": "string", "format": "uuid"}
INSTANT = {"type": "string", "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


NOT_YOURS = _error("No such saved route (missing, or another user's)")
BAD_ID = _error("The id is not a UUID (details.field: id)")
BAD_NAME = "the name, trimmed, is 1 to 100 characters (details.field: name)"
ID_PARAMETER = {
    "name": "saved_id",
    "in": "path",
    "required": True,
    "description": "A saved route's id: a UUID (anything else is 400)",
    "schema": {"type": "string"},
}
IDEMPOTENCY_KEY = {"$ref": "#/components/parameters/IdempotencyKey"}  # in `openapi`
LOCATION = {
    "Location": {
        "schema": {"type": "string", "format": "uri"},
        "description": "The saved route's URL, under PUBLIC_BASE_URL",
    }
}


def listing_operation() -> dict[str, Any]:
    """GET /api/v1/routes (merged into the routes' path item by `openapi`)."""
    return {
        "summary": "My route requests within the retention window (24 h), newest first, "
        "keyset paged",
        "security": SECURITY,
        "parameters": page_parameters(20, 100),
        "responses": {
            "200": _ok(page_of("RequestSummary")),
            "400": BAD_PAGE,
            "401": NO_SESSION,
            "503": UNAVAILABLE,
        },
    }


def saved_paths() -> dict[str, Any]:
    return {
        "/api/v1/saved-routes": {
            "post": {
                "summary": "Save a succeeded route, with no expiry",
                "security": SECURITY,
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": _body(_ref("SaveRouteRequest")),
                "responses": {
                    "201": {
                        **_ok(_ref("SavedRouteSummary"), "Saved"),
                        "headers": LOCATION,
                    },
                    "400": _error(f"Bad body: request_id is not a UUID, or not {BAD_NAME}"),
                    "401": NO_SESSION,
                    "403": CROSS_SITE,
                    "404": _error("No such route request of the caller (or it expired)"),
                    "409": _error(
                        "conflict: the request has not succeeded (details.reason "
                        "not_succeeded, details.status) or the Idempotency-Key was used with "
                        "another body; limit_reached: SAVED_ROUTES_MAX saved routes already "
                        "(details.limit)"
                    ),
                    "413": _error("Body too large"),
                    "415": NOT_JSON,
                    "429": _error("Rate limited"),
                    "503": UNAVAILABLE,
                },
            },
            "get": {
                "summary": "My saved routes, newest first, keyset paged",
                "security": SECURITY,
                "parameters": page_parameters(20, 100),
                "responses": {
                    "200": _ok(page_of("SavedRouteSummary")),
                    "400": BAD_PAGE,
                    "401": NO_SESSION,
                    "503": UNAVAILABLE,
                },
            },
        },
        "/api/v1/saved-routes/{saved_id}": {
            "get": {
                "summary": "A saved route with its route",
                "security": SECURITY,
                "parameters": [ID_PARAMETER],
                "responses": {
                    "200": _ok(_ref("SavedRoute")),
                    "400": BAD_ID,
                    "401": NO_SESSION,
                    "404": NOT_YOURS,
                    "503": UNAVAILABLE,
                },
            },
            "patch": {
                "summary": "Rename a saved route",
                "security": SECURITY,
                "parameters": [ID_PARAMETER],
                "requestBody": _body(_ref("RenameSavedRoute")),
                "responses": {
                    "200": _ok(_ref("SavedRouteSummary")),
                    "400": _error(f"The id is not a UUID, or not {BAD_NAME}"),
                    "401": NO_SESSION,
                    "403": CROSS_SITE,
                    "404": NOT_YOURS,
                    "413": _error("Body too large"),
                    "415": NOT_JSON,
                    "503": UNAVAILABLE,
                },
            },
            "delete": {
                "summary": "Delete a saved route",
                "security": SECURITY,
                "parameters": [ID_PARAMETER],
                "responses": {
                    "204": {"description": "Deleted"},
                    "400": BAD_ID,
                    "401": NO_SESSION,
                    "403": CROSS_SITE,
                    "404": NOT_YOURS,
                    "503": UNAVAILABLE,
                },
            },
        },
    }


def _object(required: list[str], properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


NAME = {"type": "string", "minLength": 1, "maxLength": 100, "description": "Trimmed"}


def saved_schemas() -> dict[str, Any]:
    walk = _object(
        ["start", "duration_minutes", "themes", "distance_m", "stops"],
        {
            "start": _ref("GeoPoint"),
            "duration_minutes": {"type": "integer"},
            "themes": {"type": "array", "items": {"type": "string"}},
            "distance_m": {"type": ["number", "null"], "description": "null until a route"},
            "stops": {
                "type": ["integer", "null"],
                "description": "Places visited (start and end excluded); null until a route",
            },
        },
    )
    saved = {
        "id": UUID,
        "name": NAME,
        "request_id": UUID,
        "created_at": INSTANT,
        "updated_at": INSTANT,
        "summary": _ref("WalkSummary"),
    }
    return {
        "WalkSummary": walk,
        "RequestSummary": _object(
            ["request_id", "status", "progress", "created_at", "summary"],
            {
                "request_id": UUID,
                "status": {"type": "string"},
                "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                "created_at": INSTANT,
                "summary": _ref("WalkSummary"),
            },
        ),
        "SaveRouteRequest": {
            **_object(["request_id", "name"], {"request_id": UUID, "name": NAME}),
            "additionalProperties": False,
        },
        "RenameSavedRoute": {**_object(["name"], {"name": NAME}), "additionalProperties": False},
        "SavedRouteSummary": _object(list(saved), saved),
        "SavedRoute": _object([*saved, "route"], {**saved, "route": _ref("Route")}),
    }
