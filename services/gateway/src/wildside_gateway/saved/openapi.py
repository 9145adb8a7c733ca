"""OpenAPI paths and schemas of saved routes and of "my route requests" (merged by
`openapi`)."""

from __future__ import annotations

from typing import Any

from wildside_gateway.shared.openapi import (
    BAD_PAGE,
    CROSS_SITE,
    NO_SESSION,
    NOT_JSON,
    SECURITY,
    UNAVAILABLE,
    body,
    error,
    object_schema,
    ok,
    page_of,
    page_parameters,
    ref,
)

UUID = {"type": "string", "format": "uuid"}
INSTANT = {"type": "string", "format": "date-time"}


NOT_YOURS = error("No such saved route (missing, or another user's)")
BAD_ID = error("The id is not a UUID (details.field: id)")
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
            "200": ok(page_of("RequestSummary")),
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
                "requestBody": body(ref("SaveRouteRequest")),
                "responses": {
                    "201": {
                        **ok(ref("SavedRouteSummary"), "Saved"),
                        "headers": LOCATION,
                    },
                    "400": error(f"Bad body: request_id is not a UUID, or not {BAD_NAME}"),
                    "401": NO_SESSION,
                    "403": CROSS_SITE,
                    "404": error("No such route request of the caller (or it expired)"),
                    "409": error(
                        "conflict: the request has not succeeded (details.reason "
                        "not_succeeded, details.status) or the Idempotency-Key was used with "
                        "another body; limit_reached: SAVED_ROUTES_MAX saved routes already "
                        "(details.limit)"
                    ),
                    "413": error("Body too large"),
                    "415": NOT_JSON,
                    "429": error("Rate limited"),
                    "503": UNAVAILABLE,
                },
            },
            "get": {
                "summary": "My saved routes, newest first, keyset paged",
                "security": SECURITY,
                "parameters": page_parameters(20, 100),
                "responses": {
                    "200": ok(page_of("SavedRouteSummary")),
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
                    "200": ok(ref("SavedRoute")),
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
                "requestBody": body(ref("RenameSavedRoute")),
                "responses": {
                    "200": ok(ref("SavedRouteSummary")),
                    "400": error(f"The id is not a UUID, or not {BAD_NAME}"),
                    "401": NO_SESSION,
                    "403": CROSS_SITE,
                    "404": NOT_YOURS,
                    "413": error("Body too large"),
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


NAME = {"type": "string", "minLength": 1, "maxLength": 100, "description": "Trimmed"}


def saved_schemas() -> dict[str, Any]:
    walk = object_schema(
        ["start", "duration_minutes", "themes", "distance_m", "stops"],
        {
            "start": ref("GeoPoint"),
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
        "summary": ref("WalkSummary"),
    }
    return {
        "WalkSummary": walk,
        "RequestSummary": object_schema(
            ["request_id", "status", "progress", "created_at", "summary"],
            {
                "request_id": UUID,
                "status": {"type": "string"},
                "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                "created_at": INSTANT,
                "summary": ref("WalkSummary"),
            },
        ),
        "SaveRouteRequest": {
            **object_schema(["request_id", "name"], {"request_id": UUID, "name": NAME}),
            "additionalProperties": False,
        },
        "RenameSavedRoute": {
            **object_schema(["name"], {"name": NAME}),
            "additionalProperties": False,
        },
        "SavedRouteSummary": object_schema(list(saved), saved),
        "SavedRoute": object_schema([*saved, "route"], {**saved, "route": ref("Route")}),
    }
