"""The places use cases: list the POIs in a map's box, show one POI; in development,
pass /tiles requests on to the development tile server (same origin for the map).

Both need a logged-in user (the principal; any role): places are public map data, but
the API serves the app's users only, as the tiles do.
"""

from __future__ import annotations

from collections.abc import Mapping

from wildside_common.errors import NotFound
from wildside_common.pagination import PageParams, Window
from wildside_gateway.places.domain.places import (
    PlaceRules,
    PoiDetail,
    PoiId,
    PoiQuery,
    PoiSummary,
)
from wildside_gateway.places.ports import Places, RelayedTile, ThemeIds, TileUpstream
from wildside_gateway.shared.domain.principal import Principal


class PlaceService:
    def __init__(self, places: Places, themes: ThemeIds, max_area: float) -> None:
        self.places = places
        self.themes = themes
        self.max_area = max_area

    async def pois(
        self, principal: Principal, query: Mapping[str, str], params: PageParams
    ) -> Window[PoiSummary]:
        """The listing's page for the raw query (`bbox`, `themes`); InvalidInput when
        the box or a theme is wrong (see domain/places.py)."""
        rules = PlaceRules(await self.themes.theme_ids(), self.max_area)
        return await self.places.page(PoiQuery.parse(query, rules), params)

    async def poi(self, principal: Principal, raw_id: str) -> PoiDetail:
        """One POI by its canonical id (InvalidInput otherwise); NotFound when absent."""
        found = await self.places.detail(PoiId.parse(raw_id))
        if found is None:
            raise NotFound("no such place")
        return found


# What the tile server needs to decide (the session) and to validate (the ETag), and
# what the map needs back: nothing else crosses.
FORWARDED = ("authorization", "cookie", "if-none-match")
RETURNED = ("content-type", "etag", "cache-control", "www-authenticate", "trace-id")


class TileRelay:
    """Development only: the gateway's /tiles is the development tile server's, which
    decides every request with tiles-auth's rules (the gateway decides nothing here)."""

    def __init__(self, upstream: TileUpstream) -> None:
        self.upstream = upstream

    async def relay(self, uri: str, headers: Mapping[str, str]) -> RelayedTile:
        sent = {name: headers[name] for name in FORWARDED if name in headers}
        answer = await self.upstream.get(uri, sent)
        kept = {name: answer.headers[name] for name in RETURNED if name in answer.headers}
        return RelayedTile(answer.status, kept, answer.body)
