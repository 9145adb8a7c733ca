"""OpenAPI paths and schemas of the identity and admin endpoints (merged by `openapi`)."""

from __future__ import annotations

from typing import Any

SECURITY: list[dict[str, list[str]]] = [{"sessionCookie": []}, {"bearerToken": []}]
SESSION_ENDS = (
    "A session lasts 2 h unless ended earlier: by POST /api/v1/logout (that session), or "
    "by an operator (every session of the user: wildside-manage revoke-sessions, a role "
    "change, a password reset). An ended session is refused (401) within one second on "
    "every endpoint and by the tile server, and an open /ws socket is closed with 4401."
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


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


NO_SESSION = _error(
    "No valid session (missing, expired, ended by logout or an operator, tampered or "
    "wrongly signed token)"
)
NOT_ADMIN = _error("The session is not an administrator's")
UNAVAILABLE = _error(
    "Database unavailable, or ended sessions cannot be read (Redis: sessions fail closed)"
)
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}
CROSS_SITE = _error(
    "csrf_rejected: a request authenticated by the session cookie (or a login) whose Origin,"
    " or without it Referer, is not an allowed origin (ALLOWED_ORIGINS); Bearer is exempt"
)
NOT_JSON = _error("The body is not declared Content-Type: application/json")
BAD_PAGE = _error(
    "Bad limit or cursor: details.code is invalid_limit, invalid_cursor or unsupported_direction"
)


def _page_parameters(default: int, maximum: int) -> list[dict[str, Any]]:
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


def _page_of(item: str) -> dict[str, Any]:
    link = {"type": ["string", "null"], "format": "uri"}
    return {
        "type": "object",
        "required": ["data", "limit", "links"],
        "properties": {
            "data": {"type": "array", "items": _ref(item)},
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


def _session_paths() -> dict[str, Any]:
    set_cookie = {
        "Set-Cookie": {
            "schema": {"type": "string"},
            "description": "session=<token>; HttpOnly; Path=/; Max-Age=7200; SameSite; Secure",
        }
    }
    return {
        "/api/v1/login": {
            "post": {
                "summary": "Log in: the profile, and a session cookie (2 h)",
                "description": (
                    "Throttled before the password is checked: after 5 failed logins for a "
                    "username (existing or not; compared case-insensitively) within 15 "
                    "minutes, or 100 attempts a minute from one client address, attempts are "
                    "refused with 429 too_many_attempts and Retry-After until the window "
                    "ends. A successful login clears the username's count."
                ),
                "security": [],
                "requestBody": _body(_ref("Credentials")),
                "responses": {
                    "200": {**_ok(_ref("UserProfile"), "Logged in"), "headers": set_cookie},
                    "400": _error("Blank or malformed username or password (details.field)"),
                    "401": _error("Wrong username or password (no cookie is set)"),
                    "403": CROSS_SITE,
                    "413": _error("Body too large"),
                    "415": NOT_JSON,
                    "429": {
                        **_error(
                            "Too many attempts (code too_many_attempts; details.limit is "
                            "username or address); the password was not checked"
                        ),
                        "headers": RETRY_AFTER,
                    },
                    "503": _error(
                        "Database unavailable, or login attempts cannot be counted (Redis: "
                        "login fails closed)"
                    ),
                },
            }
        },
        "/api/v1/logout": {
            "post": {
                "summary": (
                    "Log out: ends the session everywhere and clears the cookie (no body, no "
                    "Content-Type needed)"
                ),
                "description": (
                    "Revokes this session's token (its jti) until the token's own expiry: "
                    "the same token, as cookie or Bearer, is refused (401) within one second "
                    "by every gateway, on /ws (the socket is closed with 4401) and by the "
                    "tile server. Other sessions of the user stay valid."
                ),
                "security": SECURITY,
                "responses": {
                    "204": {"description": "Session ended, cookie cleared"},
                    "401": NO_SESSION,
                    "403": CROSS_SITE,
                    "503": _error(
                        "The session could not be ended (Redis unavailable): it is still "
                        "valid; retry"
                    ),
                },
            }
        },
    }


def _user_paths() -> dict[str, Any]:
    interests = {
        "summary": "Replace my interests (guarded by expected_revision)",
        "security": SECURITY,
        "requestBody": _body(_ref("InterestUpdate")),
        "responses": {
            "200": _ok(_ref("UserProfile"), "The updated profile"),
            "400": _error("Unknown or duplicate id (details.field names the index) or > 100 ids"),
            "401": NO_SESSION,
            "403": CROSS_SITE,
            "409": _error("Stale or missing expected_revision (details: expected, actual)"),
            "415": NOT_JSON,
            "503": UNAVAILABLE,
        },
    }
    return {
        "/api/v1/users/me": {
            "get": {
                "summary": "My profile",
                "security": SECURITY,
                "responses": {
                    "200": _ok(_ref("UserProfile")),
                    "401": NO_SESSION,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/api/v1/users/me/interests": {"put": interests},
        "/api/v1/interest-themes": {
            "get": {
                "summary": "The interest theme catalogue",
                "security": SECURITY,
                "responses": {
                    "200": _ok(
                        {
                            "type": "object",
                            "required": ["data"],
                            "properties": {
                                "data": {"type": "array", "items": _ref("InterestTheme")}
                            },
                        }
                    ),
                    "401": NO_SESSION,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/api/v1/users": {
            "get": {
                "summary": "Users by (created_at, id), keyset paged (admin)",
                "security": SECURITY,
                "parameters": _page_parameters(20, 100),
                "responses": {
                    "200": _ok(_page_of("UserSummary")),
                    "400": BAD_PAGE,
                    "401": NO_SESSION,
                    "403": NOT_ADMIN,
                    "503": UNAVAILABLE,
                },
            }
        },
    }


def _admin_paths() -> dict[str, Any]:
    filters = [
        {"name": name, "in": "query", "description": text, "schema": schema}
        for name, text, schema in (
            (
                "from",
                "fetched_at >= from (ISO 8601, years 1-9999 in UTC)",
                {"type": "string", "format": "date-time"},
            ),
            (
                "to",
                "fetched_at < to (ISO 8601, years 1-9999 in UTC)",
                {"type": "string", "format": "date-time"},
            ),
            (
                "bbox",
                "min_lng,min_lat,max_lng,max_lat: records whose box intersects it",
                {"type": "string", "pattern": "^[^,]+,[^,]+,[^,]+,[^,]+$"},
            ),
        )
    ]
    return {
        "/api/v1/admin/enrichment/provenance": {
            "get": {
                "summary": "Enrichment provenance, newest first, keyset paged (admin)",
                "security": SECURITY,
                "parameters": [*_page_parameters(50, 200), *filters],
                "responses": {
                    "200": _ok(_page_of("ProvenanceRecord")),
                    "400": _error("Bad limit, cursor, time range or bbox"),
                    "401": NO_SESSION,
                    "403": NOT_ADMIN,
                    "503": UNAVAILABLE,
                },
            }
        }
    }


def identity_paths() -> dict[str, Any]:
    """Every identity and admin path of the gateway."""
    return {**_session_paths(), **_user_paths(), **_admin_paths()}


def _object(
    required: list[str], properties: dict[str, Any], closed: bool = False
) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "required": required, "properties": properties}
    if closed:
        schema["additionalProperties"] = False
    return schema


def identity_schemas() -> dict[str, Any]:
    text, uuid = {"type": "string"}, {"type": "string", "format": "uuid"}
    stamp = {"type": "string", "format": "date-time"}
    role = {"type": "string", "enum": ["user", "admin"]}
    user = {"id": uuid, "username": text, "display_name": text, "role": role, "created_at": stamp}
    ids = {"type": "array", "maxItems": 100, "uniqueItems": True, "items": text}
    number = {"type": "number"}
    counts = {"pois_added": {"type": "integer"}, "pois_updated": {"type": "integer"}}
    counts["bytes"] = {"type": "integer"}
    box = {k: number for k in ("min_lat", "min_lng", "max_lat", "max_lng")}
    return {
        "Credentials": _object(
            ["username", "password"],
            {"username": {**text, "minLength": 1}, "password": {**text, "minLength": 1}},
            closed=True,
        ),
        "UserSummary": _object(list(user), user),
        "UserProfile": _object(
            [*user, "interest_theme_ids", "revision"],
            {**user, "interest_theme_ids": ids, "revision": {"type": "integer", "minimum": 0}},
        ),
        "InterestTheme": _object(
            ["id", "name", "description"], {"id": text, "name": text, "description": text}
        ),
        "InterestUpdate": _object(
            ["interest_theme_ids"],
            {
                "interest_theme_ids": ids,
                "expected_revision": {
                    "type": ["integer", "null"],
                    "minimum": 0,
                    "maximum": 2147483647,
                },
            },
            closed=True,
        ),
        "ProvenanceRecord": _object(
            ["id", "job_id", "source_url", "fetched_at", "bbox", "themes", "counts"],
            {
                "id": uuid,
                "job_id": uuid,
                "source_url": {"type": "string", "format": "uri"},
                "fetched_at": stamp,
                "bbox": _object(list(box), box),
                "themes": {"type": "array", "items": text},
                "counts": _object(list(counts), counts),
            },
        ),
    }
