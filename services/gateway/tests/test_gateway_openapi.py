"""The API documents: served == checked in (OpenAPI and AsyncAPI), the OpenAPI document
documents every identity route, and its error enums are the error tree's codes."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from gateway_identity_fakes import FakeUsers, identity_app
from starlette.applications import Starlette
from starlette.routing import Route

from wildside_common.errors import DomainError
from wildside_gateway import asyncapi
from wildside_gateway.openapi import ERROR_CODES, codes_by_status, document, render
from wildside_gateway.shared.adapters.inbound.openapi import asyncapi_route, openapi_route

pytestmark = pytest.mark.unit
CHECKED_IN = Path(__file__).resolve().parents[3] / "schemas" / "openapi.json"


async def test_the_served_document_is_the_checked_in_file() -> None:
    app = Starlette(routes=[openapi_route()])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as client:
        served = await client.get("/openapi.json")
    assert served.content == render() == CHECKED_IN.read_bytes(), "run `make openapi`"


async def test_the_served_asyncapi_document_is_the_checked_in_yaml() -> None:
    app = Starlette(routes=[asyncapi_route()])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as client:
        served = await client.get("/asyncapi.json")
    assert served.headers["content-type"] == "application/json"
    assert served.content == asyncapi.served(), "run `make openapi`"
    assert served.content == asyncapi.render(asyncapi.bundle()), "run `make openapi`"
    bundled = served.json()
    assert "/ws" in {channel["address"] for channel in bundled["channels"].values()}
    text = served.text
    assert '"$ref": "./' not in text  # every schema file is bundled in
    assert bundled["components"]["schemas"]["RouteGenerationStatus"]["title"] == (
        "RouteGenerationStatus"
    )


def _codes(kind: type[DomainError]) -> set[str]:
    found = {kind.code}
    for sub in kind.__subclasses__():
        found |= _codes(sub)
    return found


def test_the_error_enums_are_the_error_trees_codes() -> None:
    # The gateway's own error kinds (in its domain packages) count, loaded or not.
    assert "too_many_attempts" in ERROR_CODES
    # Every code an HTTP answer can carry; invalid_message only in /ws error frames.
    assert set(ERROR_CODES) == _codes(DomainError) - {"invalid_message"}
    error = document()["components"]["schemas"]["Error"]
    assert error["properties"]["code"]["enum"] == ERROR_CODES
    assert codes_by_status()[409] == [
        "already_final",
        "conflict",
        "last_admin",
        "limit_reached",
        "username_taken",
    ]
    assert codes_by_status()[429] == ["rate_limited", "too_many_attempts"]
    for path, item in document()["paths"].items():
        for method, operation in item.items():
            for status, response in operation["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if int(status) < 400 or schema is None or "allOf" not in schema:
                    continue
                narrowed = schema["allOf"][1]["properties"]["code"]["enum"]
                assert narrowed == codes_by_status()[int(status)], (path, method, status)


def test_route_submission_documents_idempotency_and_links_to_its_state() -> None:
    doc = document()
    post = doc["paths"]["/api/v1/routes"]["post"]
    assert {"$ref": "#/components/parameters/IdempotencyKey"} in post["parameters"]
    assert doc["components"]["parameters"]["IdempotencyKey"]["name"] == "Idempotency-Key"
    assert post["responses"]["409"] == {"$ref": "#/components/responses/IdempotencyConflict"}
    conflict = doc["components"]["responses"]["IdempotencyConflict"]
    schema = conflict["content"]["application/json"]["schema"]
    assert schema["allOf"][1]["properties"]["code"]["enum"] == ["conflict"]
    link = post["responses"]["202"]["links"]["GetRouteRequest"]
    target = doc["paths"]["/api/v1/routes/{request_id}"]["get"]
    assert link["operationId"] == target["operationId"]
    assert link["parameters"] == {"request_id": "$response.body#/request_id"}


def test_every_identity_route_is_documented_with_its_errors() -> None:
    _, wiring = identity_app(FakeUsers())
    paths = document()["paths"]
    routes = [route for route in wiring.routes if isinstance(route, Route)]
    assert len(routes) == 8
    assert sum(len((route.methods or set()) - {"HEAD"}) for route in routes) == 10
    public = {("POST", "/api/v1/login"), ("POST", "/api/v1/users")}  # log in, sign up
    for route in routes:
        for method in (route.methods or set()) - {"HEAD"}:
            operation = paths[route.path][method.lower()]
            codes = set(operation["responses"])
            if (method, route.path) in public:
                assert operation["security"] == [] and "429" in codes, route.path
            else:
                assert "401" in codes, route.path
                assert operation["security"], route.path
            if "admin" in route.path or route.path == "/api/v1/users":
                assert {"400", "403"} <= codes
    assert "sessionCookie" in document()["components"]["securitySchemes"]
    json.dumps(document())  # serialisable as is
