"""The POI rules both writers share (`wildside_common.places.poi`): the row an element's
tags give, its popularity and hash, and which source takes over an unchanged row."""

from __future__ import annotations

import pytest

from wildside_common.places.poi import (
    INGEST,
    OVERPASS,
    SOURCES,
    claims_unchanged_rows,
    make_poi,
    popularity,
)

pytestmark = pytest.mark.unit


def test_popularity_is_bounded_and_data_driven() -> None:
    assert popularity({}) == 0
    assert popularity({"name": "X"}) == 0.1
    full = {
        "wikidata": "Q",
        "wikipedia": "w",
        "heritage": "1",
        "tourism": "museum",
        "name": "n",
        "website": "u",
        "opening_hours": "24/7",
    }
    assert popularity(full) == 1.0
    assert popularity({"tourism": "hotel"}) == 0


def test_a_no_value_earns_no_popularity() -> None:
    assert popularity({"heritage": "no", "wikidata": ""}) == 0


def test_content_hash_is_deterministic_and_sensitive() -> None:
    a = make_poi("node", 1, 24.9, 60.1, {"b": "2", "a": "1"}, ("food",))
    b = make_poi("node", 1, 24.9, 60.1, {"a": "1", "b": "2"}, ("food",))
    c = make_poi("node", 1, 24.9000001, 60.1, {"a": "1", "b": "2"}, ("food",))
    assert a == b and a.tags_json == '{"a":"1","b":"2"}'
    assert c.content_hash != a.content_hash


def test_the_hash_covers_themes_and_popularity() -> None:
    base = make_poi("node", 1, 24.9, 60.1, {"amenity": "cafe"}, ("food",))
    assert make_poi("node", 1, 24.9, 60.1, {"amenity": "cafe"}, ()).content_hash != (
        base.content_hash
    )
    named = make_poi("node", 1, 24.9, 60.1, {"amenity": "cafe", "name": "A"}, ("food",))
    assert (named.popularity, base.popularity) == (0.1, 0)
    assert named.content_hash != base.content_hash


def test_the_point_is_rounded_to_osm_precision_and_an_empty_name_is_none() -> None:
    poi = make_poi("way", 7, 24.123456789, 60.987654321, {"name": "", "historic": "yes"}, ())
    assert (poi.lon, poi.lat) == (24.1234568, 60.9876543)
    assert poi.name is None and (poi.element_type, poi.osm_id) == ("way", 7)


def test_only_an_extract_takes_over_unchanged_rows() -> None:
    assert SOURCES == (INGEST, OVERPASS) == ("osm_ingest", "overpass")
    assert claims_unchanged_rows(INGEST)
    assert not claims_unchanged_rows(OVERPASS)
