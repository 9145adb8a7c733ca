"""Which tile requests are route tiles, and whose route they show (pure rules).

Martin serves `get_route_tile` at `/get_route_tile/{z}/{x}/{y}?request_id=<uuid>` (and
its TileJSON at `/get_route_tile`); behind Traefik the path starts with `/tiles`.
Traefik's forward-auth tells tiles-auth the original request in `X-Forwarded-Uri`.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

from wildside_common.errors import InvalidInput

ROUTE_SOURCE = "get_route_tile"


def route_tile_request_id(forwarded_uri: str | None) -> str | None:
    """The request id a route-tile URI asks for; None when the URI is not a route tile.

    A route tile without a valid `request_id` is refused (InvalidInput), never passed on.
    """
    if not forwarded_uri:
        return None
    parts = urlsplit(forwarded_uri)
    segments = [segment for segment in parts.path.split("/") if segment]
    if segments[:1] == ["tiles"]:
        segments = segments[1:]
    if not segments or segments[0] != ROUTE_SOURCE:
        return None
    values = parse_qs(parts.query).get("request_id", [])
    if len(values) != 1:
        raise InvalidInput.field("request_id", "a route tile needs exactly one request_id")
    try:
        return str(uuid.UUID(values[0]))
    except ValueError:
        raise InvalidInput.field("request_id", "must be a UUID") from None


def may_see(owner: str | None, subject: str, role: str) -> bool:
    """A user sees their own routes; an admin sees any route that exists."""
    return owner is not None and (owner == subject or role == "admin")
