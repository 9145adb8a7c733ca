"""Which tile requests tiles-auth lets through to Martin, and whose route they show.

Traefik calls tiles-auth with the original request in `X-Forwarded-Uri` (its forwardAuth
middleware sets `req.URL.RequestURI()`: path and query, before the stripPrefix middleware
removes `/tiles`). Martin then reads what is left (martin.py models how, from Martin
1.3.1's source): it percent-decodes the path twice over, merges slashes, splits composite
ids on commas and hands every query parameter to every function source.

So tiles-auth decides on an allowlist over ONE canonical spelling and refuses the rest:

    /tiles/catalog                                   admins only
    /tiles/{ids}                                     TileJSON
    /tiles/{ids}/{z}/{x}/{y}                         a tile; 0 <= z <= 30, x and y < 2^z
    ids    = source (`,` source)*, each on the configured list, none twice
    query  = `?` name=value (`&` name=value)*, names [a-z][a-z0-9_]*, each once,
             values [A-Za-z0-9._~,-]*

Nothing in the path or query may be percent-encoded, and no `+`, `;`, `\\`, space, dot
segment, empty segment, trailing slash, upper-case id or number with a sign or leading
zero is accepted: each of those is a spelling Martin (or a proxy on the way) may read
differently from a plain parser, and no map client needs one. A request whose sources take
a `request_id` (alone or in a composite) needs exactly one, a plain UUID, and the caller
must check its owner; a `request_id` on a request whose sources take none is refused too,
so a function that reads one without being declared never runs unchecked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from wildside_common.errors import InvalidInput, NotFound

ROUTE_SOURCE = "get_route_tile"
# The map's own sources (migration 0006): places and the walking network, any user's.
POI_SOURCE = "get_poi_tile"
BASE_SOURCE = "get_base_tile"
DEFAULT_SOURCES = (ROUTE_SOURCE, POI_SOURCE, BASE_SOURCE)
MAX_ZOOM = 30
# Martin 1.3.1's reserved ids (martin/src/srv/server.rs RESERVED_KEYWORDS), plus the first
# segments of its other routes (`/tiles/...` is a redirect, then sprites, fonts, styles).
RESERVED = frozenset(
    {"_", "catalog", "config", "font", "health", "help", "index", "manifest", "metrics"}
    | {"refresh", "reload", "sprite", "status", "tiles", "sdf_sprite", "style"}
)
SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_URI = re.compile(
    r"/tiles/(?P<ids>[a-z0-9_,]+)"
    r"(?:/(?P<z>0|[1-9][0-9]?)/(?P<x>0|[1-9][0-9]{0,9})/(?P<y>0|[1-9][0-9]{0,9}))?"
    r"(?:\?(?P<query>[^#]*))?"
)
_PARAM = re.compile(r"(?P<name>[a-z][a-z0-9_]*)=(?P<value>[A-Za-z0-9._~,-]*)")
_HEX = "[0-9a-fA-F]"
_UUID = re.compile(rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}")
_NOT_SERVED = "no such tiles"


def source_name_problem(name: str) -> str | None:
    """Why `name` cannot be an allowlisted source id; None when it can."""
    if not SOURCE_NAME.fullmatch(name):
        return f"{name!r} is not a plain source id ([a-z][a-z0-9_]*)"
    if name in RESERVED:
        return f"{name!r} is one of Martin's own routes"
    return None


@dataclass(frozen=True, slots=True)
class TilePolicy:
    """The Martin sources users may read, and those among them that draw one route
    (`request_id`), which only that route's owner (or an admin) may read."""

    sources: frozenset[str]
    request_id_sources: frozenset[str]

    def __post_init__(self) -> None:
        for name in sorted(self.sources):
            problem = source_name_problem(name)
            if problem:
                raise ValueError(problem)
        extra = sorted(self.request_id_sources - self.sources)
        if extra:
            raise ValueError(f"{', '.join(extra)} not among the allowed sources")


DEFAULT_POLICY = TilePolicy(frozenset(DEFAULT_SOURCES), frozenset({ROUTE_SOURCE}))


@dataclass(frozen=True, slots=True)
class TileRequest:
    """A request tiles-auth may pass: its kind, sources and the route whose owner must
    be checked (None when no source takes a `request_id`)."""

    kind: Literal["catalog", "tilejson", "tile"]
    sources: tuple[str, ...] = ()
    request_id: str | None = None


def read_tile_uri(forwarded_uri: str | None, policy: TilePolicy = DEFAULT_POLICY) -> TileRequest:
    """The request `forwarded_uri` makes, when tiles-auth may pass it on.

    Raises NotFound for anything outside the grammar above or the allowlist (a missing
    URI included), InvalidInput (field `request_id`) when a route source lacks exactly
    one plain-UUID `request_id`.
    """
    if forwarded_uri == "/tiles/catalog":
        return TileRequest("catalog")
    matched = _URI.fullmatch(forwarded_uri or "")
    if matched is None:
        raise NotFound(_NOT_SERVED)
    sources = _sources(matched["ids"], policy)
    if matched["z"] is not None:
        _check_tile(int(matched["z"]), int(matched["x"]), int(matched["y"]))
    params = _params(matched["query"] or "")
    kind: Literal["tilejson", "tile"] = "tile" if matched["z"] is not None else "tilejson"
    takes_request_id = any(source in policy.request_id_sources for source in sources)
    if not takes_request_id:
        if "request_id" in params:
            raise NotFound(_NOT_SERVED)
        return TileRequest(kind, sources)
    return TileRequest(kind, sources, _request_id(params.get("request_id")))


def _sources(ids: str, policy: TilePolicy) -> tuple[str, ...]:
    sources = tuple(ids.split(","))
    if len(set(sources)) != len(sources) or not set(sources) <= policy.sources:
        raise NotFound(_NOT_SERVED)
    return sources


def _check_tile(z: int, x: int, y: int) -> None:
    if z > MAX_ZOOM or x >= 2**z or y >= 2**z:
        raise NotFound(_NOT_SERVED)


def _params(query: str) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for piece in query.split("&") if query else []:
        matched = _PARAM.fullmatch(piece)
        if matched is None:
            raise NotFound(_NOT_SERVED)
        params.setdefault(matched["name"], []).append(matched["value"])
    if any(len(values) > 1 for name, values in params.items() if name != "request_id"):
        raise NotFound(_NOT_SERVED)
    return params


def _request_id(values: list[str] | None) -> str:
    if not values or len(values) != 1:
        raise InvalidInput.field("request_id", "a route tile needs exactly one request_id")
    if not _UUID.fullmatch(values[0]):
        raise InvalidInput.field("request_id", "must be a UUID (8-4-4-4-12 hex digits)")
    return values[0].lower()


def may_see(owner: str | None, subject: str, role: str) -> bool:
    """A user sees their own routes; an admin sees any route that exists."""
    return owner is not None and (owner == subject or role == "admin")


def may_read_catalog(role: str) -> bool:
    """Martin's catalog lists every source: admins only (users get 404, as if absent)."""
    return role == "admin"
