"""Serves the API documents: the OpenAPI document at /openapi.json, the AsyncAPI document
(the bus and /ws) at /asyncapi.json."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wildside_gateway import asyncapi
from wildside_gateway.openapi import render


def _serve(path: str, body: bytes) -> Route:
    async def document(_: Request) -> Response:
        return Response(body, media_type="application/json")

    return Route(path, document, methods=["GET"])


def openapi_route() -> Route:
    return _serve("/openapi.json", render())


def asyncapi_route() -> Route:
    return _serve("/asyncapi.json", asyncapi.served())
