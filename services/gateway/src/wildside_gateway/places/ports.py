"""The port the places use cases depend on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from wildside_common.pagination import PageParams, Window
from wildside_gateway.places.domain.places import PoiDetail, PoiId, PoiQuery, PoiSummary


class Places(Protocol):
    async def page(self, query: PoiQuery, params: PageParams) -> Window[PoiSummary]:
        """The POIs `query` selects, most popular first, then by (element type, id):
        up to `params.limit` from the cursor's position (see `assemble`)."""
        ...

    async def detail(self, poi_id: PoiId) -> PoiDetail | None:
        """One POI with its tags and provenance; None when there is no such element."""
        ...


class ThemeIds(Protocol):
    async def theme_ids(self) -> frozenset[str]:
        """The catalogue's theme ids (`interest_themes`)."""
        ...


@dataclass(frozen=True, slots=True)
class RelayedTile:
    """The development tile server's answer, as the gateway passes it on."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class TileUpstream(Protocol):
    """The development tile server (wildside-tiles-dev) behind the gateway's /tiles."""

    async def get(self, uri: str, headers: Mapping[str, str]) -> RelayedTile:
        """GET `uri` (path and query as the client sent them) with `headers`; raises
        Unavailable when the tile server does not answer."""
        ...
