"""Serving tiles without Martin (the development tile server): what a URI tiles-auth
has already let through asks for, the tile's validator, and the TileJSON document.

Only a URI `read_tile_uri` accepted reaches `tile_address`: one canonical spelling, so
splitting it is reading it exactly as tiles-auth decided on it. Martin's own behaviour is
kept where a map can tell: a composite id (`a,b`) is the sources' layers in one tile, an
empty tile is 204, the TileJSON is the function's SQL comment with the `tiles` URL added.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wildside_tiles_auth.domain.martin import query_params


@dataclass(frozen=True, slots=True)
class TileAddress:
    sources: tuple[str, ...]
    z: int
    x: int
    y: int
    params: Mapping[str, Any]


def tile_address(uri: str) -> TileAddress:
    """`/tiles/{ids}/{z}/{x}/{y}[?query]` (already accepted by `read_tile_uri`) read into
    its parts; the query as Martin hands it to a function (`query_params`)."""
    path, _, query = uri.partition("?")
    _, _, ids, z, x, y = path.split("/")
    return TileAddress(tuple(ids.split(",")), int(z), int(x), int(y), query_params(query))


def etag(tile: bytes) -> str:
    """A strong validator of the tile's bytes (the same tile, the same tag, any process)."""
    return '"' + hashlib.sha256(tile).hexdigest()[:32] + '"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether `If-None-Match` names `tag` (or `*`): answer 304 without the body."""
    if if_none_match is None:
        return False
    names = [name.strip().removeprefix("W/") for name in if_none_match.split(",")]
    return "*" in names or tag in names


def tilejson(
    sources: Sequence[str], comments: Sequence[str | None], base_url: str
) -> dict[str, Any]:
    """TileJSON 3.0.0 of `sources` from their functions' comments (Martin's convention),
    their vector layers merged in order, with the tile URL under `base_url`."""
    document: dict[str, Any] = {"tilejson": "3.0.0", "name": ",".join(sources)}
    layers: list[Any] = []
    for comment in comments:
        described = json.loads(comment) if comment else {}
        if not isinstance(described, dict):
            described = {}
        layers.extend(described.pop("vector_layers", []))
        for key, value in described.items():
            document.setdefault(key, value)
    document["vector_layers"] = layers
    document["tiles"] = [f"{base_url}/tiles/{','.join(sources)}/{{z}}/{{x}}/{{y}}"]
    return document


def catalog(sources: Sequence[str], comments: Sequence[str | None]) -> dict[str, Any]:
    """Martin's `/catalog` shape for the served sources: each with its description."""
    tiles: dict[str, Any] = {}
    for source, comment in zip(sources, comments, strict=True):
        described = json.loads(comment) if comment else {}
        entry: dict[str, Any] = {"content_type": "application/x-protobuf"}
        if isinstance(described, dict) and "description" in described:
            entry["description"] = described["description"]
        tiles[source] = entry
    return {"tiles": tiles}
