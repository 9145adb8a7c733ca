"""Serves the OpenAPI document at /openapi.json."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_gateway.openapi import render


def openapi_route() -> Route:
    body = render()

    async def openapi(_: Request) -> Response:
        return Response(body, media_type="application/json")

    return Route("/openapi.json", openapi, methods=["GET"])
