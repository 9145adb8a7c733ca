"""One suite over both implementations of the Places port: the in-memory fake and the
PostgreSQL adapter against a real database (rows written by the shared POI upsert, as
the ingest writes them). Each test works in a box of its own, far from other rows."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from gateway_place_fakes import FakePlaces

from wildside_common.pagination import PageParams
from wildside_common.pg import create_pool
from wildside_common.places.poi import INGEST, make_poi
from wildside_common.places.postgres import upsert_pois
from wildside_gateway.places.adapters.outbound.postgres import PostgresPlaces
from wildside_gateway.places.domain.places import BoundingBox, PoiId, PoiQuery

pytestmark = pytest.mark.contract
Add = Callable[[PoiId, float, float, dict[str, Any], tuple[str, ...]], Awaitable[None]]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(database_url, 4, stateless=True, custom_plans=True)
    yield created
    await created.close()


@pytest.fixture(params=["fake", "postgres"])
async def places(request, pool) -> tuple[Any, Add]:
    if request.param == "fake":
        fake = FakePlaces()

        async def add_fake(poi_id, lng, lat, tags, themes) -> None:
            record = make_poi(poi_id.element_type, poi_id.osm_id, lng, lat, tags, themes)
            fake.add(poi_id, record.lon, record.lat, tags, themes, record.popularity)

        return fake, add_fake

    async def add_row(poi_id, lng, lat, tags, themes) -> None:
        record = make_poi(poi_id.element_type, poi_id.osm_id, lng, lat, tags, themes)
        async with pool.acquire() as conn, conn.transaction():
            await upsert_pois(conn, [record], INGEST)

    return PostgresPlaces(pool), add_row


@pytest.fixture
def origin() -> tuple[float, float]:
    """A corner of this test's own 0.1 x 0.1 degree cell (somewhere in the Sahara)."""
    return round(10.0 + random.randrange(1000) * 0.1, 1), round(
        20.0 + random.randrange(100) * 0.1, 1
    )


def fresh_id(element_type: str = "node") -> PoiId:
    return PoiId(element_type, random.randrange(10**12, 10**15))


# Tags giving popularity 0.1 (a name), 0.4 (+wikidata), 0.6 (+wikipedia), 0.75 (+heritage).
TIERS = [
    {"name": "Plain"},
    {"name": "Noted", "wikidata": "Q1"},
    {"name": "Famous", "wikidata": "Q2", "wikipedia": "fi:X"},
    {"name": "Landmark", "wikidata": "Q3", "wikipedia": "fi:Y", "heritage": "2"},
]


def box_around(origin: tuple[float, float], size: float = 0.05) -> BoundingBox:
    lng, lat = origin
    return BoundingBox(lng, lat, lng + size, lat + size)


async def everything(store, query: PoiQuery, limit: int) -> list[str]:
    """Every page's ids, walking next links from the first page."""
    seen: list[str] = []
    params = PageParams(limit)
    while True:
        window = await store.page(query, params)
        seen.extend(str(item.poi_id) for item in window.items)
        if window.next_cursor is None:
            return seen
        params = PageParams(limit, window.next_cursor)


async def test_the_box_holds_its_places_most_popular_first(places, origin) -> None:
    store, add = places
    lng, lat = origin
    ids = []
    for i, tags in enumerate(TIERS):
        poi_id = fresh_id()
        ids.append(poi_id)
        await add(poi_id, lng + 0.01 + i * 0.001, lat + 0.01, tags, ("history",))
    await add(fresh_id(), lng + 0.09, lat + 0.09, TIERS[3], ("history",))  # outside the box
    window = await store.page(PoiQuery(box_around(origin)), PageParams(10))
    assert [item.poi_id for item in window.items] == ids[::-1]
    assert [item.popularity for item in window.items] == [0.75, 0.6, 0.4, 0.1]
    first = window.items[0]
    assert first.name == "Landmark" and first.themes == ("history",)
    assert abs(first.lng - (lng + 0.013)) < 1e-6 and abs(first.lat - (lat + 0.01)) < 1e-6
    assert window.next_cursor is None and window.prev_cursor is None


async def test_themes_select_places_having_any_of_them(places, origin) -> None:
    store, add = places
    lng, lat = origin
    art, food, both = fresh_id(), fresh_id(), fresh_id("way")
    await add(art, lng + 0.01, lat + 0.01, TIERS[0], ("art",))
    await add(food, lng + 0.02, lat + 0.01, TIERS[1], ("food",))
    await add(both, lng + 0.03, lat + 0.01, TIERS[2], ("art", "history"))
    box = box_around(origin)
    art_only = await store.page(PoiQuery(box, ("art",)), PageParams(10))
    assert [item.poi_id for item in art_only.items] == [both, art]
    food_or_history = await store.page(PoiQuery(box, ("food", "history")), PageParams(10))
    assert [item.poi_id for item in food_or_history.items] == [both, food]


async def test_pages_walk_every_place_once_forward_and_back(places, origin) -> None:
    store, add = places
    lng, lat = origin
    # Ties in popularity broken by (element type, id): same tier, several types.
    for i in range(13):
        element_type = ("node", "way", "relation")[i % 3]
        await add(fresh_id(element_type), lng + 0.001 * (i + 1), lat + 0.002, TIERS[i % 2], ())
    query = PoiQuery(box_around(origin))
    whole = [str(item.poi_id) for item in (await store.page(query, PageParams(50))).items]
    assert len(whole) == 13
    assert await everything(store, query, 4) == whole
    # Back from the last page to the first, through the prev cursors.
    params = PageParams(4)
    pages = []
    while True:
        window = await store.page(query, params)
        pages.append([str(item.poi_id) for item in window.items])
        if window.next_cursor is None:
            break
        params = PageParams(4, window.next_cursor)
    back = await store.page(query, PageParams(4, window.prev_cursor))
    assert [str(item.poi_id) for item in back.items] == pages[-2]


async def test_one_place_has_its_tags_and_provenance(places, origin) -> None:
    store, add = places
    lng, lat = origin
    poi_id = fresh_id("way")
    tags = {
        "name": "Museum",
        "tourism": "museum",
        "opening_hours": "Tu-Su 11:00-18:00",
        "website": "https://museum.example",
        "wheelchair": "yes",
        "addr:street": "Katu",
        "addr:housenumber": "1",
    }
    await add(poi_id, lng + 0.01, lat + 0.01, tags, ("culture",))
    found = await store.detail(poi_id)
    assert found is not None
    view = found.view()
    assert view["id"] == str(poi_id) and view["osm"]["type"] == "way"
    assert view["tags"]["opening_hours"] == "Tu-Su 11:00-18:00"
    assert view["tags"]["wheelchair"] == "yes" and view["tags"]["wikidata"] is None
    assert view["tags"]["address"] == {
        "street": "Katu",
        "housenumber": "1",
        "postcode": None,
        "city": None,
    }
    assert view["provenance"]["source"] == "osm_ingest"
    assert await store.detail(fresh_id()) is None
