"""OpenAPI paths and schemas of the identity and admin endpoints (merged by `openapi`)."""

from __future__ import annotations

from typing import Any

from wildside_gateway.shared.openapi import (
    BAD_PAGE,
    CROSS_SITE,
    NO_SESSION,
    NOT_ADMIN,
    NOT_JSON,
    RETRY_AFTER,
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
                "requestBody": body(ref("Credentials")),
                "responses": {
                    "200": {**ok(ref("UserProfile"), "Logged in"), "headers": set_cookie},
                    "400": error("Blank or malformed username or password (details.field)"),
                    "401": error("Wrong username or password (no cookie is set)"),
                    "403": CROSS_SITE,
                    "413": error("Body too large"),
                    "415": NOT_JSON,
                    "429": {
                        **error(
                            "Too many attempts (code too_many_attempts; details.limit is "
                            "username or address); the password was not checked"
                        ),
                        "headers": RETRY_AFTER,
                    },
                    "503": error(
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
                    "503": error(
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
        "requestBody": body(ref("InterestUpdate")),
        "responses": {
            "200": ok(ref("UserProfile"), "The updated profile"),
            "400": error("Unknown or duplicate id (details.field names the index) or > 100 ids"),
            "401": NO_SESSION,
            "403": CROSS_SITE,
            "409": error("Stale or missing expected_revision (details: expected, actual)"),
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
                    "200": ok(ref("UserProfile")),
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
                    "200": ok(
                        {
                            "type": "object",
                            "required": ["data"],
                            "properties": {
                                "data": {"type": "array", "items": ref("InterestTheme")}
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
                "parameters": page_parameters(20, 100),
                "responses": {
                    "200": ok(page_of("UserSummary")),
                    "400": BAD_PAGE,
                    "401": NO_SESSION,
                    "403": NOT_ADMIN,
                    "503": UNAVAILABLE,
                },
            }
        },
    }


def _account_paths() -> dict[str, Any]:
    """Sign-up, leaving and the export (merged into the /api/v1/users paths)."""
    set_cookie = {
        "Set-Cookie": {
            "schema": {"type": "string"},
            "description": "session=<token>, as POST /api/v1/login sets it",
        },
        "Location": {"schema": {"type": "string", "format": "uri"}, "description": "/users/me"},
    }
    sign_up = {
        "summary": "Sign up: a new account (role user), logged in as by POST /api/v1/login",
        "description": (
            "Usernames: 3-32 ASCII letters, digits, '_' and '-', unique ignoring letter "
            "case. Passwords (NIST SP 800-63B): 10-128 characters of any kind, not the "
            "username, not one of the 30,000 most common passwords (zxcvbn's list, "
            "compared ignoring case); no composition rules. Off unless SIGNUP_ENABLED "
            "(403 signup_disabled); at most SIGNUP_ATTEMPTS_PER_HOUR attempts per client "
            "address an hour (429 too_many_attempts, details.limit signup)."
        ),
        "security": [],
        "requestBody": body(ref("SignUp")),
        "responses": {
            "201": {**ok(ref("UserProfile"), "Created and logged in"), "headers": set_cookie},
            "400": error(
                "weak_password (details.reason: too_short, too_long, matches_username, "
                "common), or invalid_request naming details.field (username, display_name)"
            ),
            "403": error("signup_disabled, or csrf_rejected (a foreign Origin)"),
            "409": error("username_taken: the username is someone's, in any letter case"),
            "413": error("Body too large"),
            "415": NOT_JSON,
            "429": {
                **error("Too many sign-ups from this address (code too_many_attempts)"),
                "headers": RETRY_AFTER,
            },
            "503": error("Database unavailable, or sign-ups cannot be counted (Redis)"),
        },
    }
    leave = {
        "summary": "Leave: delete my account and everything that is mine",
        "description": (
            "Deletes the user with their route requests and routes, idempotency keys and "
            "interests, ends every session of theirs (refused within one second everywhere;"
            " open /ws sockets are closed with 4401) and clears the cookie. Needs the "
            "password in the body, or no body and a session issued less than five minutes "
            "ago (log in again first). Password guesses count as failed logins (429)."
        ),
        "security": SECURITY,
        "requestBody": {
            "required": False,
            "content": {"application/json": {"schema": ref("Departure")}},
        },
        "responses": {
            "204": {"description": "Deleted, sessions ended, cookie cleared"},
            "400": error("Malformed body (details.field)"),
            "401": NO_SESSION,
            "403": error(
                "wrong_password; reauthentication_required (no password and a session older "
                "than five minutes); or csrf_rejected"
            ),
            "409": error("last_admin: the only administrator cannot leave"),
            "415": NOT_JSON,
            "429": {
                **error("Too many password guesses (too_many_attempts)"),
                "headers": RETRY_AFTER,
            },
            "503": UNAVAILABLE,
        },
    }
    export = {
        "summary": "Export everything that is mine, as one JSON document",
        "description": (
            "The profile with interests, and one member per kind of data: route_requests "
            "(each with its route, while kept: 24 h) and idempotency_keys. Members may be "
            "added; a client keeps what it does not know."
        ),
        "security": SECURITY,
        "responses": {
            "200": ok(ref("AccountExport")),
            "401": NO_SESSION,
            "503": UNAVAILABLE,
        },
    }
    return {"sign_up": sign_up, "leave": leave, "export": export}


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
                "parameters": [*page_parameters(50, 200), *filters],
                "responses": {
                    "200": ok(page_of("ProvenanceRecord")),
                    "400": error("Bad limit, cursor, time range or bbox"),
                    "401": NO_SESSION,
                    "403": NOT_ADMIN,
                    "503": UNAVAILABLE,
                },
            }
        }
    }


def identity_paths() -> dict[str, Any]:
    """Every identity and admin path of the gateway."""
    users = _user_paths()
    accounts = _account_paths()
    users["/api/v1/users"]["post"] = accounts["sign_up"]
    users["/api/v1/users/me"]["delete"] = accounts["leave"]
    users["/api/v1/users/me/export"] = {"get": accounts["export"]}
    return {**_session_paths(), **users, **_admin_paths()}


EXPORTED_REQUEST = (
    "id",
    "status",
    "progress",
    "error",
    "request",
    "created_at",
    "updated_at",
    "expires_at",
    "result",
)


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
        "Credentials": object_schema(
            ["username", "password"],
            {"username": {**text, "minLength": 1}, "password": {**text, "minLength": 1}},
            closed=True,
        ),
        "SignUp": object_schema(
            ["username", "password", "display_name"],
            {
                "username": {
                    **text,
                    "minLength": 3,
                    "maxLength": 32,
                    "pattern": "^[A-Za-z0-9_-]+$",
                },
                "password": {**text, "minLength": 10, "maxLength": 128},
                "display_name": {**text, "minLength": 1, "maxLength": 128},
            },
            closed=True,
        ),
        "Departure": object_schema(
            [], {"password": {**text, "minLength": 1, "maxLength": 1024}}, closed=True
        ),
        "AccountExport": object_schema(
            ["exported_at", "profile", "route_requests", "saved_routes", "idempotency_keys"],
            {
                "exported_at": stamp,
                "profile": ref("UserProfile"),
                "route_requests": {"type": "array", "items": ref("ExportedRouteRequest")},
                "saved_routes": {
                    "type": "array",
                    "items": object_schema(
                        ["id", "request_id", "name", "request", "route", "created_at"],
                        {
                            "id": uuid,
                            "request_id": uuid,
                            "name": {"type": "string"},
                            "request": {"type": "object"},
                            "route": {"type": "object"},
                            "created_at": stamp,
                            "updated_at": stamp,
                        },
                    ),
                },
                "idempotency_keys": {
                    "type": "array",
                    "items": object_schema(
                        ["key", "request_id", "response_status", "created_at", "expires_at"],
                        {
                            "key": uuid,
                            "request_id": uuid,
                            "response_status": {"type": "integer"},
                            "created_at": stamp,
                            "expires_at": stamp,
                        },
                    ),
                },
            },
        ),
        "ExportedRouteRequest": object_schema(
            [*EXPORTED_REQUEST],
            {
                "id": uuid,
                "status": {"type": "string", "enum": ["queued", "running", "succeeded", "failed"]},
                "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                "error": {"type": ["string", "null"]},
                "request": {"type": "object", "description": "The request's body, as sent"},
                "created_at": stamp,
                "updated_at": stamp,
                "expires_at": stamp,
                "result": {
                    "anyOf": [
                        object_schema(
                            ["route", "created_at"],
                            {"route": {"type": "object"}, "created_at": stamp},
                        ),
                        {"type": "null"},
                    ]
                },
            },
        ),
        "UserSummary": object_schema(list(user), user),
        "UserProfile": object_schema(
            [*user, "interest_theme_ids", "revision"],
            {**user, "interest_theme_ids": ids, "revision": {"type": "integer", "minimum": 0}},
        ),
        "InterestTheme": object_schema(
            ["id", "name", "description"], {"id": text, "name": text, "description": text}
        ),
        "InterestUpdate": object_schema(
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
        "ProvenanceRecord": object_schema(
            ["id", "job_id", "source_url", "fetched_at", "bbox", "themes", "counts"],
            {
                "id": uuid,
                "job_id": uuid,
                "source_url": {"type": "string", "format": "uri"},
                "fetched_at": stamp,
                "bbox": object_schema(list(box), box),
                "themes": {"type": "array", "items": text},
                "counts": object_schema(list(counts), counts),
            },
        ),
    }
