"""The gateway's OpenAPI document, built here and checked in as `schemas/openapi.json`.

`python -m wildside_gateway.openapi > schemas/openapi.json` (`make openapi`) writes it;
a test fails when the served document and the checked-in file differ.

Conventions every area's paths (`identity_paths`, ...) get from `finish`:
- An operation is protected (SECURITY: cookie or Bearer, and a 401 answer when it lists
  none) unless it says `"security": []`; a contract test calls each operation without
  credentials and expects 401 exactly where security is declared.
- An error response whose body is the Error envelope has its `code` narrowed to the codes
  an answer of that status can carry (`codes_by_status`, from the error tree).
- `{"$ref": "#/components/parameters/IdempotencyKey"}` and
  `{"$ref": "#/components/responses/IdempotencyConflict"}` are there for any operation
  that honours Idempotency-Key.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from importlib import resources
from typing import Any

import orjson

import wildside_gateway
from wildside_common.errors import DomainError, InvalidMessage
from wildside_common.transport.http import CODE_BY_STATUS, status_for
from wildside_gateway.identity.openapi import identity_paths, identity_schemas
from wildside_gateway.places.openapi import places_paths, places_schemas
from wildside_gateway.routes.domain.idempotency import HEADER as IDEMPOTENCY_HEADER
from wildside_gateway.saved.openapi import listing_operation, saved_paths, saved_schemas
from wildside_gateway.shared.openapi import (
    CROSS_SITE,
    NO_SESSION,
    NOT_JSON,
    SECURITY,
    SECURITY_SCHEMES,
    error,
    ref,
)

# Error kinds only the WebSocket sends (in its error frames: schemas/asyncapi.yaml).
WS_ONLY: tuple[type[DomainError], ...] = (InvalidMessage,)


def _load_gateway_errors() -> None:
    """Imports every `domain` module of the gateway, so the error kinds it defines
    (`TooManyAttempts`, ...) are subclasses of DomainError the document sees."""
    for module in pkgutil.walk_packages(wildside_gateway.__path__, "wildside_gateway."):
        if ".domain" in module.name:
            importlib.import_module(module.name)


def _error_kinds(root: type[DomainError] = DomainError) -> list[type[DomainError]]:
    kinds = [] if root in WS_ONLY else [root]
    for sub in root.__subclasses__():
        kinds.extend(_error_kinds(sub))
    return kinds


def codes_by_status() -> dict[int, list[str]]:
    """Every error code an HTTP answer of each status can carry: the error tree mapped by
    `status_for` (as `error_response` maps it), plus the framework's own answers
    (`CODE_BY_STATUS`: unknown path, wrong method); 500 is always `internal_error`."""
    _load_gateway_errors()
    found: dict[int, set[str]] = {500: {"internal_error"}}
    for kind in _error_kinds():
        status = status_for(kind.__new__(kind))  # not initialised: only its type counts
        found.setdefault(status, set()).add(kind.code if status != 500 else "internal_error")
    for status, code in CODE_BY_STATUS.items():
        found.setdefault(status, set()).add(code)
    return {status: sorted(codes) for status, codes in sorted(found.items())}


ERROR_CODES = sorted({code for codes in codes_by_status().values() for code in codes})


def _json(
    schema: dict[str, Any],
    description: str,
    headers: dict[str, Any] | None = None,
    links: dict[str, Any] | None = None,
) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    if links:
        response["links"] = links
    return response


# Reusable by any operation that honours Idempotency-Key (routes.domain.idempotency).
IDEMPOTENCY_KEY_REF = {"$ref": "#/components/parameters/IdempotencyKey"}
IDEMPOTENCY_CONFLICT_REF = {"$ref": "#/components/responses/IdempotencyConflict"}
PARAMETERS = {
    "IdempotencyKey": {
        "name": IDEMPOTENCY_HEADER,
        "in": "header",
        "required": False,
        "description": (
            "A UUID (8-4-4-4-12 hexadecimal digits) the client chooses per logical request "
            "and repeats on retries; bound to the user and the payload for 24 h. Any other "
            "spelling is 400 invalid_request (details.field Idempotency-Key)."
        ),
        "schema": {"type": "string", "format": "uuid"},
    }
}
IDEMPOTENCY_CONFLICT = error(
    "conflict: the Idempotency-Key was already used with a different payload "
    "(details.reason); nothing was accepted"
)


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
        "start": ref("GeoPoint"),
        "end": {"anyOf": [ref("GeoPoint"), {"type": "null"}]},
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
        "route": ref("Route"),
        "rerouted_from": {
            "type": "string",
            "format": "uuid",
            "description": "The walk this request reroutes (a live walk's reroute, "
            "docs/live-walk.md): its route request's or saved route's id.",
        },
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
        "/health/live": {"get": {"summary": "Liveness", "security": [], "responses": {"200": ops}}},
        "/health/ready": {
            "get": {
                "summary": "Readiness (dependencies answer)",
                "security": [],
                "responses": {"200": ops, "503": ops},
            }
        },
        "/openapi.json": {
            "get": {
                "summary": "This document (schemas/openapi.json)",
                "security": [],
                "responses": {"200": ops},
            }
        },
        "/asyncapi.json": {
            "get": {
                "summary": (
                    "The AsyncAPI document: the message bus and the /ws status stream "
                    "(schemas/asyncapi.yaml as JSON, its schema files bundled in)"
                ),
                "security": [],
                "responses": {"200": ops},
            }
        },
        "/api/v1/routes": {
            "post": {
                "operationId": "submitRoute",
                "summary": "Request a walking route",
                "description": (
                    "With an Idempotency-Key, a retry (the same key and the same payload, "
                    "within 24 h) is answered with the first request's 202 and "
                    "Idempotent-Replayed: true, never refused or rate limited; the same key "
                    "with a different payload is 409 conflict."
                ),
                "parameters": [IDEMPOTENCY_KEY_REF],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": ref("RouteRequest")}},
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
                            },
                            "Idempotent-Replayed": {
                                "schema": {"type": "string", "enum": ["true"]},
                                "description": "Present on a replay of an Idempotency-Key",
                            },
                        },
                        links={
                            "GetRouteRequest": {
                                "operationId": "getRouteRequest",
                                "parameters": {"request_id": "$response.body#/request_id"},
                                "description": "The request's status, and its route once done",
                            }
                        },
                    ),
                    "400": error("Invalid request (or a malformed Idempotency-Key)"),
                    "401": error("No session"),
                    "403": CROSS_SITE,
                    "409": IDEMPOTENCY_CONFLICT_REF,
                    "413": error("Body too large"),
                    "415": NOT_JSON,
                    "429": error("Rate limited"),
                    "503": error("Bus or database unavailable"),
                    "504": error("Timed out"),
                },
            },
            "get": listing_operation(),
        },
        "/api/v1/routes/{request_id}": {
            "get": {
                "operationId": "getRouteRequest",
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
                    "200": _json(ref("RouteState"), "Finished (succeeded, failed or cancelled)"),
                    "202": _json(ref("RouteState"), "Still queued or running", RETRY_AFTER),
                    "401": error("No session"),
                    "404": error("Unknown request"),
                    "503": error("Database unavailable"),
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
                    "400": error("The request id is not a UUID"),
                    "401": error("No session"),
                    "403": CROSS_SITE,
                    "404": error("Unknown request (or another user's)"),
                    "409": error("already_final: the request has already ended"),
                    "429": error("Rate limited"),
                    "503": error("Database unavailable"),
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
        "paths": finish({**_paths(), **saved_paths(), **identity_paths(), **places_paths()}),
        "components": {
            "parameters": PARAMETERS,
            "responses": {
                "IdempotencyConflict": _with_codes("409", IDEMPOTENCY_CONFLICT, ["conflict"])
            },
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


METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _with_codes(
    status: str, response: dict[str, Any], only: list[str] | None = None
) -> dict[str, Any]:
    """An error response whose body is the Error envelope, its `code` narrowed to `only`
    or else to the codes an answer of that status can carry (`codes_by_status`)."""
    if not status.isdigit() or int(status) < 400:
        return response
    content = response.get("content", {}).get("application/json", {})
    if content.get("schema") != ref("Error"):
        return response
    codes = only if only is not None else codes_by_status()[int(status)]
    narrowed = {"allOf": [ref("Error"), {"properties": {"code": {"enum": codes}}}]}
    return {**response, "content": {"application/json": {"schema": narrowed}}}


def finish(paths: dict[str, Any]) -> dict[str, Any]:
    """The paths as served: an operation is protected unless it says `"security": []`
    (it gets SECURITY and, when it lists none, the 401 answer), and each error response
    lists the codes its status can carry."""
    finished: dict[str, Any] = {}
    for path, item in paths.items():
        finished[path] = dict(item)
        for method in METHODS:
            if method not in item:
                continue
            operation = dict(item[method])
            operation.setdefault("security", SECURITY)
            responses = dict(operation["responses"])
            if operation["security"] and "401" not in responses:
                responses["401"] = NO_SESSION
            operation["responses"] = {
                status: _with_codes(status, response) for status, response in responses.items()
            }
            finished[path][method] = operation
    return finished


def render() -> bytes:
    return orjson.dumps(document(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


if __name__ == "__main__":
    sys.stdout.buffer.write(render())
