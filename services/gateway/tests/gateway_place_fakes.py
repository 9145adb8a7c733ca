"""In-memory fakes of the places ports (test_places_contract runs the same suite against
them and the PostgreSQL adapter)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from wildside_common.pagination import Direction, PageParams, Window, assemble
from wildside_gateway.places.domain.places import (
    PoiDetail,
    PoiId,
    PoiQuery,
    PoiSummary,
    Provenance,
    position,
)
from wildside_gateway.places.ports import RelayedTile

THEMES = frozenset({"history", "art", "nature", "food", "architecture", "culture"})
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class FakeThemes:
    async def theme_ids(self) -> frozenset[str]:
        return THEMES


class FakePlaces:
    def __init__(self) -> None:
        self.rows: dict[PoiId, PoiDetail] = {}

    def add(
        self,
        poi_id: PoiId,
        lng: float,
        lat: float,
        tags: dict[str, Any],
        themes: tuple[str, ...],
        popularity: float,
        source: str = "osm_ingest",
    ) -> None:
        summary = PoiSummary(poi_id, tags.get("name"), lat, lng, themes, popularity)
        self.rows[poi_id] = PoiDetail(summary, tags, Provenance(source, EPOCH, EPOCH, None))

    async def page(self, query: PoiQuery, params: PageParams) -> Window[PoiSummary]:
        box = query.box
        chosen = [
            row.summary
            for row in self.rows.values()
            if box.min_lng <= row.summary.lng <= box.max_lng
            and box.min_lat <= row.summary.lat <= box.max_lat
            and (not query.themes or set(query.themes) & set(row.summary.themes))
        ]

        def order(item: PoiSummary) -> tuple[int, str, int]:
            score, element_type, osm_id = item.key()
            assert isinstance(score, int) and isinstance(element_type, str)
            assert isinstance(osm_id, int)
            return -score, element_type, osm_id

        chosen.sort(key=order)
        at = position(params)
        if at is not None:
            mark = (-at[0], at[1], at[2])
            if params.direction is Direction.PREV:
                chosen = [item for item in chosen if order(item) < mark][::-1]
            else:
                chosen = [item for item in chosen if order(item) > mark]
        return assemble(chosen[: params.limit + 1], params, PoiSummary.key)

    async def detail(self, poi_id: PoiId) -> PoiDetail | None:
        return self.rows.get(poi_id)


class EchoTileUpstream:
    """A tile server that answers with what it was asked (test_tile_relay_contract checks
    HttpTileUpstream against a real server doing the same)."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, str]]] = []

    async def get(self, uri: str, headers) -> RelayedTile:
        self.asked.append((uri, dict(headers)))
        body = f"{uri}|{','.join(sorted(headers))}".encode()
        return RelayedTile(
            200,
            {"content-type": "application/x-protobuf", "etag": '"e"', "x-internal": "1"},
            body,
        )
