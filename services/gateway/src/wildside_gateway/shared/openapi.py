"""The pieces every area's OpenAPI module uses: the security schemes, the error and
page shapes, and small schema builders (merged by `wildside_gateway.openapi`)."""

from __future__ import annotations

from typing import Any

SECURITY: list[dict[str, list[str]]] = [{"sessionCookie": []}, {"bearerToken": []}]
SESSION_ENDS = (
    "A session lasts 2 h unless ended earlier: by POST /api/v1/logout (that session), by "
    "DELETE /api/v1/users/me (every session of the user), or by an operator (every session "
    "of the user: wildside-manage revoke-sessions, a role change, a password reset). An "
    "ended session is refused (401) within one second on every endpoint and by the tile "
    "server, and an open /ws socket is closed with 4401."
)
SECURITY_SCHEMES = {
    "sessionCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": SESSION_ENDS,
    },
    "bearerToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": SESSION_ENDS,
    },
}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


def ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


NO_SESSION = error(
    "No valid session (missing, expired, ended by logout or an operator, tampered or "
    "wrongly signed token)"
)
NOT_ADMIN = error("The session is not an administrator's")
UNAVAILABLE = error(
    "Database unavailable, or ended sessions cannot be read (Redis: sessions fail closed)"
)
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}
CROSS_SITE = error(
    "csrf_rejected: a request authenticated by the session cookie (or a login) whose Origin,"
    " or without it Referer, is not an allowed origin (ALLOWED_ORIGINS); Bearer is exempt"
)
NOT_JSON = error("The body is not declared Content-Type: application/json")
BAD_PAGE = error(
    "Bad limit or cursor: details.code is invalid_limit, invalid_cursor or unsupported_direction"
)


def page_parameters(default: int, maximum: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
        },
        {
            "name": "cursor",
            "in": "query",
            "description": "Opaque cursor from links.next or links.prev (url-safe base64)",
            "schema": {
                "type": "string",
                "maxLength": 2048,
                "pattern": "^([A-Za-z0-9_-]+={0,2})?$",
            },
        },
    ]


def page_of(item: str) -> dict[str, Any]:
    link = {"type": ["string", "null"], "format": "uri"}
    return {
        "type": "object",
        "required": ["data", "limit", "links"],
        "properties": {
            "data": {"type": "array", "items": ref(item)},
            "limit": {"type": "integer"},
            "links": {
                "type": "object",
                "required": ["self", "next", "prev"],
                "properties": {
                    "self": {"type": "string", "format": "uri"},
                    "next": link,
                    "prev": link,
                },
            },
        },
    }


def object_schema(
    required: list[str], properties: dict[str, Any], closed: bool = False
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "required": required, "properties": properties}
    if closed:
        schema["additionalProperties"] = False
    return schema
