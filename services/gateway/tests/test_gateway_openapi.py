"""The OpenAPI document: served == checked in, and it documents every identity route."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from gateway_identity_fakes import FakeUsers, identity_app
from starlette.applications import Starlette
from starlette.routing import Route

from wildside_gateway.openapi import document, render
from wildside_gateway.shared.adapters.inbound.openapi import openapi_route

pytestmark = pytest.mark.unit
CHECKED_IN = Path(__file__).resolve().parents[3] / "schemas" / "openapi.json"


async def test_the_served_document_is_the_checked_in_file() -> None:
    app = Starlette(routes=[openapi_route()])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gw"
    ) as client:
        served = await client.get("/openapi.json")
    assert served.content == render() == CHECKED_IN.read_bytes(), "run `make openapi`"


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
