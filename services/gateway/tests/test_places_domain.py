"""The places rules: the box, its area limit, themes, POI ids, the cursor, the views;
and the use cases over the in-memory fakes."""

from __future__ import annotations

import uuid

import pytest
from gateway_place_fakes import THEMES, FakePlaces, FakeThemes

from wildside_common.errors import InvalidInput, NotFound
from wildside_common.pagination import Cursor, Direction, PageParams
from wildside_gateway.places.app import PlaceService
from wildside_gateway.places.domain.places import (
    AREA_TOO_LARGE,
    UNKNOWN_THEME,
    BoundingBox,
    PlaceRules,
    PoiId,
    PoiQuery,
    position,
    walker_tags,
)
from wildside_gateway.shared.domain.principal import Principal

pytestmark = pytest.mark.unit
RULES = PlaceRules(THEMES, 0.05)
HELSINKI = "24.93,60.16,24.96,60.18"


def query(**values: str) -> PoiQuery:
    return PoiQuery.parse(values, RULES)


def test_a_box_is_four_plain_decimals() -> None:
    box = query(bbox=HELSINKI).box
    assert box.corners() == (24.93, 60.16, 24.96, 60.18)
    assert box.area == pytest.approx(0.03 * 0.02)
    assert query(bbox="-0.5,-1,0,-0.9").box.corners() == (-0.5, -1.0, 0.0, -0.9)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "24.93,60.16,24.96",
        "24.93,60.16,24.96,60.18,1",
        "24.93, 60.16,24.96,60.18",
        "+24.93,60.16,24.96,60.18",
        "2.4e1,60.16,24.96,60.18",
        "nan,60.16,24.96,60.18",
        "inf,60.16,24.96,60.18",
        "24_9,60.16,24.96,60.18",
        "024.93,60.16,24.96,60.18",
        "24.,60.16,24.96,60.18",
        "24.96,60.16,24.93,60.18",  # west of its own west edge
        "24.93,60.18,24.96,60.16",  # south above north
        "180,89.99,180.01,90",
        "24.93,90,24.96,90.01",
    ],
)
def test_a_malformed_box_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        query(bbox=raw)
    assert refused.value.details["field"] == "bbox"
    assert refused.value.details.get("code") != AREA_TOO_LARGE


def test_a_box_is_required() -> None:
    with pytest.raises(InvalidInput) as refused:
        query(themes="art")
    assert refused.value.details["field"] == "bbox"


def test_a_box_larger_than_the_limit_is_area_too_large() -> None:
    assert query(bbox="24.0,60.0,24.25,60.2").box.area == pytest.approx(0.05)  # the limit
    with pytest.raises(InvalidInput) as refused:
        query(bbox="24.0,60.0,24.26,60.2")
    assert refused.value.details["code"] == AREA_TOO_LARGE
    assert refused.value.details["max_sq_degrees"] == 0.05
    wider = PlaceRules(THEMES, 0.1)
    assert PoiQuery.parse({"bbox": "24.0,60.0,24.26,60.2"}, wider).box.area > 0.05


def test_themes_are_sorted_distinct_catalogue_ids() -> None:
    assert query(bbox=HELSINKI, themes="history,art,history").themes == ("art", "history")
    assert query(bbox=HELSINKI).themes == ()


@pytest.mark.parametrize("raw", ["", "art,", ",art", "art,,food", ",".join(["art"] * 21)])
def test_empty_or_too_many_themes_are_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        query(bbox=HELSINKI, themes=raw)
    assert refused.value.details["field"] == "themes"


@pytest.mark.parametrize("raw", ["magic", "art,Magic", "History", "art,history,shopping"])
def test_an_unknown_theme_is_refused_naming_it(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        query(bbox=HELSINKI, themes=raw)
    assert refused.value.details["code"] == UNKNOWN_THEME
    assert refused.value.details["unknown"] and set(refused.value.details["unknown"]) - THEMES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("n1", PoiId("node", 1)),
        ("w45", PoiId("way", 45)),
        ("r9223372036854775807", PoiId("relation", 2**63 - 1)),
    ],
)
def test_a_poi_id_is_read_canonically(raw: str, expected: PoiId) -> None:
    assert PoiId.parse(raw) == expected
    assert str(expected) == raw


@pytest.mark.parametrize(
    "raw",
    ["", "n", "n0", "n01", "N1", "x1", "node1", "node/1", "n-1", "n+1", "n1 ", "n1.0",
     "r9223372036854775808", "n\uff11", "w" + "9" * 20],
)  # fmt: skip
def test_a_non_canonical_poi_id_is_refused(raw: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        PoiId.parse(raw)
    assert refused.value.details["field"] == "id"


def test_a_cursor_of_this_listing_points_at_a_row() -> None:
    assert position(PageParams(5)) is None
    params = PageParams(5, Cursor((40, "way", 12), Direction.PREV, 2))
    assert position(params) == (40, "way", 12)


@pytest.mark.parametrize(
    "key",
    [
        (40, "way"),
        ("40", "way", 12),
        (101, "way", 12),
        (-1, "way", 12),
        (40, "street", 12),
        (40, "way", 0),
        (40, "way", "12"),
        (40, "way", 2**63),
        ("2026-01-01T00:00:00+00:00", "5f1b0d5e-0000-4000-8000-000000000000"),
    ],
)
def test_a_cursor_of_another_shape_is_invalid(key: tuple) -> None:
    with pytest.raises(InvalidInput) as refused:
        position(PageParams(5, Cursor(key)))
    assert refused.value.details == {"field": "cursor", "code": "invalid_cursor"}


def test_walker_tags_show_what_a_walker_needs_and_nothing_else() -> None:
    shown = walker_tags(
        {
            "opening_hours": "24/7",
            "wikidata": "Q1",
            "phone": "+358 1",
            "addr:city": "Helsinki",
            "website": "",
        }
    )
    assert shown == {
        "opening_hours": "24/7",
        "website": None,
        "wikipedia": None,
        "wikidata": "Q1",
        "wheelchair": None,
        "address": {"street": None, "housenumber": None, "postcode": None, "city": "Helsinki"},
    }
    assert walker_tags({})["address"] is None


def test_the_box_bounds_are_checked_when_built() -> None:
    with pytest.raises(InvalidInput):
        BoundingBox(10, 0, 9, 1)


PRINCIPAL = Principal(str(uuid.uuid4()))


async def test_the_service_lists_with_the_catalogue_and_the_limit() -> None:
    places = FakePlaces()
    places.add(PoiId("node", 7), 24.95, 60.17, {"name": "A"}, ("art",), 0.1)
    places.add(PoiId("node", 8), 24.95, 60.17, {"name": "B"}, ("food",), 0.4)
    service = PlaceService(places, FakeThemes(), 0.05)
    window = await service.pois(PRINCIPAL, {"bbox": HELSINKI}, PageParams(10))
    assert [str(item.poi_id) for item in window.items] == ["n8", "n7"]
    art = await service.pois(PRINCIPAL, {"bbox": HELSINKI, "themes": "art"}, PageParams(10))
    assert [str(item.poi_id) for item in art.items] == ["n7"]
    with pytest.raises(InvalidInput):
        await service.pois(PRINCIPAL, {"bbox": HELSINKI, "themes": "entertainmen"}, PageParams())
    narrow = PlaceService(places, FakeThemes(), 0.0001)
    with pytest.raises(InvalidInput) as refused:
        await narrow.pois(PRINCIPAL, {"bbox": HELSINKI}, PageParams())
    assert refused.value.details["code"] == AREA_TOO_LARGE


async def test_the_service_shows_one_place_or_not_found() -> None:
    places = FakePlaces()
    places.add(PoiId("way", 3), 24.95, 60.17, {"name": "A", "wikidata": "Q9"}, (), 0.4)
    service = PlaceService(places, FakeThemes(), 0.05)
    found = await service.poi(PRINCIPAL, "w3")
    assert found.view()["tags"]["wikidata"] == "Q9"
    assert found.view()["osm"] == {
        "type": "way",
        "id": 3,
        "url": "https://www.openstreetmap.org/way/3",
    }
    with pytest.raises(NotFound):
        await service.poi(PRINCIPAL, "n3")
    with pytest.raises(InvalidInput):
        await service.poi(PRINCIPAL, "way/3")
