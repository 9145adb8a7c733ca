"""The gateway's OpenAPI document, built here and checked in as `schemas/openapi.json`.

`python -m wildside_gateway.openapi > schemas/openapi.json` (`make openapi`) writes it;
a test fails when the served document and the checked-in file differ.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from typing import Any

import orjson

from wildside_gateway.identity.openapi import (
    CROSS_SITE,
    NOT_JSON,
    SECURITY_SCHEMES,
    identity_paths,
    identity_schemas,
)
from wildside_gateway.places.openapi import places_paths, places_schemas
from wildside_gateway.saved.openapi import listing_operation, saved_paths, saved_schemas

ERROR_CODES = [
    "invalid_request",
    "unauthorized",
    "forbidden",
    "csrf_rejected",
    "not_found",
    "conflict",
    "already_final",
    "limit_reached",
    "rate_limited",
    "too_many_attempts",
    "weak_password",
    "username_taken",
    "signup_disabled",
    "reauthentication_required",
    "wrong_password",
    "last_admin",
    "service_unavailable",
    "timeout",
    "internal_error",
]


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _json(
    schema: dict[str, Any], description: str, headers: dict[str, Any] | None = None
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


GEO_POINT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["lat", "lng"],
    "properties": {
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "lng": {"type": "number", "exclusiveMinimum": -180, "maximum": 180},
    },
}
ROUTE_REQUEST = {
    "type": "object",
    "additionalProperties": False,
    "required": ["start", "duration_minutes"],
    "properties": {
        "start": _ref("GeoPoint"),
        "end": {"anyOf": [_ref("GeoPoint"), {"type": "null"}]},
        "duration_minutes": {"type": "integer", "minimum": 10, "maximum": 480},
        "preferences": {"type": "array", "maxItems": 20, "items": {"type": "string"}},
        "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": 2147483647},
    },
}
ROUTE_STATE = {
    "type": "object",
    "required": ["request_id", "status", "progress"],
    "properties": {
        "request_id": {"type": "string", "format": "uuid"},
        "status": {
            "type": "string",
            "enum": ["queued", "running", "succeeded", "failed", "cancelled"],
        },
        "progress": {"type": "integer", "minimum": 0, "maximum": 100},
        "error": {"type": "string"},
        "route": _ref("Route"),
    },
}


def _route_schema() -> dict[str, Any]:
    """schemas/Route.schema.json (shipped in wildside_common), as a component: its own
    `$schema` and `$id` are left out, the document's dialect is the same (2020-12)."""
    path = resources.files("wildside_common").joinpath("data/Route.schema.json")
    schema: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return {k: v for k, v in schema.items() if k not in ("$schema", "$id")}


ERROR = {
    "type": "object",
    "required": ["code", "message", "trace_id", "details"],
    "properties": {
        "code": {"type": "string", "enum": ERROR_CODES},
        "message": {"type": "string"},
        "trace_id": {"type": "string"},
        "details": {"type": "object"},
    },
}
RETRY_AFTER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Seconds to wait before asking again",
    }
}


def _paths() -> dict[str, Any]:
    ops = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {
        "/health/live": {"get": {"summary": "Liveness", "responses": {"200": ops}}},
        "/health/ready": {
            "get": {
                "summary": "Readiness (dependencies answer)",
                "responses": {"200": ops, "503": ops},
            }
        },
        "/api/v1/routes": {
            "post": {
                "summary": "Request a walking route",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("RouteRequest")}},
                },
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "required": ["request_id"],
                            "properties": {"request_id": {"type": "string", "format": "uuid"}},
                        },
                        "Accepted: the job is on the bus",
                        {
                            "Location": {
                                "schema": {"type": "string", "format": "uri"},
                                "description": "The request's URL, under PUBLIC_BASE_URL",
                            }
                        },
                    ),
                    "400": _error("Invalid request"),
                    "401": _error("No session"),
                    "403": CROSS_SITE,
                    "413": _error("Body too large"),
                    "415": NOT_JSON,
                    "429": _error("Rate limited"),
                    "503": _error("Bus or database unavailable"),
                    "504": _error("Timed out"),
                },
            },
            "get": listing_operation(),
        },
        "/api/v1/routes/{request_id}": {
            "get": {
                "summary": "A route request's status, and its route once done",
                "parameters": [
                    {
                        "name": "request_id",
                        "in": "path",
                        "required": True,
                        "description": "A UUID in canonical form (8-4-4-4-12 hexadecimal "
                        "digits, either case); any other spelling names no request: 404",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json(_ref("RouteState"), "Finished (succeeded, failed or cancelled)"),
                    "202": _json(_ref("RouteState"), "Still queued or running", RETRY_AFTER),
                    "401": _error("No session"),
                    "404": _error("Unknown request"),
                    "503": _error("Database unavailable"),
                },
            },
            "delete": {
                "summary": "Cancel a route request that is queued or running",
                "description": (
                    "Stores `cancelled` (a final status), publishes it on the bus and to the"
                    " request's WebSocket subscribers; the router never starts a queued job"
                    " and stops a running one at its next progress check. When the router"
                    " finishes at the same moment, exactly one final status is stored: this"
                    " answers 202 if the cancel won, 409 `already_final` if the route did."
                    " Cancels have their own per-user rate limit (RATE_LIMIT_PER_MINUTE)."
                ),
                "parameters": [
                    {
                        "name": "request_id",
                        "in": "path",
                        "required": True,
                        "description": "A UUID in canonical form (8-4-4-4-12 hexadecimal "
                        "digits, either case); any other spelling is 400",
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "202": _json(
                        {
                            "type": "object",
                            "required": ["request_id", "status"],
                            "properties": {
                                "request_id": {"type": "string", "format": "uuid"},
                                "status": {"type": "string", "const": "cancelled"},
                            },
                        },
                        "Cancelled: stored and announced",
                    ),
                    "400": _error("The request id is not a UUID"),
                    "401": _error("No session"),
                    "403": CROSS_SITE,
                    "404": _error("Unknown request (or another user's)"),
                    "409": _error("already_final: the request has already ended"),
                    "429": _error("Rate limited"),
                    "503": _error("Database unavailable"),
                },
            },
        },
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Wildside gateway",
            "version": "1.0.0",
            "description": (
                "Walking-tour routes. Map data (c) OpenStreetMap contributors, ODbL.\n\n"
                "Browsers: POST, PUT, PATCH and DELETE authenticated by the session cookie, and"
                " logins, are refused with 403 csrf_rejected when their Origin (or, without"
                " it, Referer) is not an allowed origin; Bearer requests are exempt. Request"
                " bodies must be Content-Type: application/json (415 otherwise). CORS answers"
                " allowed origins only, with credentials. Absolute links (pagination,"
                " Location) are under PUBLIC_BASE_URL. /metrics is on the metrics port."
            ),
        },
        "paths": {**_paths(), **saved_paths(), **identity_paths(), **places_paths()},
        "components": {
            "schemas": {
                "GeoPoint": GEO_POINT,
                "RouteRequest": ROUTE_REQUEST,
                "RouteState": ROUTE_STATE,
                "Route": _route_schema(),
                "Error": ERROR,
                **identity_schemas(),
                **saved_schemas(),
                **places_schemas(),
            },
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def render() -> bytes:
    return orjson.dumps(document(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


if __name__ == "__main__":
    sys.stdout.buffer.write(render())
