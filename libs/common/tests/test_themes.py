"""Unit tests of the OSM tag -> theme mapping."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wildside_common.errors import InvalidInput
from wildside_common.themes import TagRule, ThemeRules, load_theme_rules, parse_theme_rules

pytestmark = pytest.mark.unit

BASELINE = (
    Path(__file__).resolve().parents[1] / "src/wildside_common/db/migrations/0001.baseline.sql"
)


def test_theme_ids_are_the_interest_themes_of_the_baseline_schema() -> None:
    seeded = set(re.findall(r"\('([a-z]+)', '[A-Z][a-z]+', '", BASELINE.read_text()))
    assert len(seeded) == 8
    assert set(load_theme_rules().theme_ids) == seeded


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"historic": "memorial"}, ("history",)),
        ({"historic": "castle", "heritage": "2"}, ("architecture", "history")),
        ({"tourism": "artwork"}, ("art",)),
        ({"tourism": "museum", "museum": "art"}, ("art", "culture")),
        ({"tourism": "museum", "museum": "history"}, ("culture", "history")),
        ({"leisure": "park"}, ("nature",)),
        ({"natural": "tree"}, ("nature",)),
        ({"tourism": "viewpoint"}, ("nature",)),
        ({"amenity": "cafe"}, ("food",)),
        ({"shop": "bakery"}, ("food",)),
        ({"amenity": "marketplace"}, ("food", "shopping")),
        ({"building": "cathedral"}, ("architecture",)),
        ({"amenity": "place_of_worship"}, ("architecture", "culture")),
        ({"man_made": "lighthouse"}, ("architecture",)),
        ({"amenity": "library"}, ("culture",)),
        ({"shop": "books"}, ("shopping",)),
        ({"amenity": "cinema"}, ("entertainment",)),
        ({"tourism": "zoo"}, ("entertainment",)),
        ({"leisure": "playground"}, ("entertainment",)),
        ({"amenity": "cafe;restaurant"}, ("food",)),
        ({"amenity": "parking"}, ()),
        ({"highway": "footway"}, ()),
        ({"historic": "no"}, ()),
        ({}, ()),
    ],
)
def test_themes_for(tags: dict[str, str], expected: tuple[str, ...]) -> None:
    assert load_theme_rules().themes_for(tags) == expected


def test_themes_are_sorted_and_unique() -> None:
    tags = {"historic": "monument", "memorial": "statue", "tourism": "artwork", "heritage": "1"}
    themes = load_theme_rules().themes_for(tags)
    assert themes == tuple(sorted(set(themes)))
    assert themes == ("architecture", "art", "history")


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"amenity": "cafe"}, True),
        ({"name": "Some Hall", "wikidata": "Q123"}, True),
        ({"name": "Some Hall", "wikipedia": "fi:Jokin"}, True),
        ({"wikidata": "Q123"}, False),
        ({"name": "Kauppakatu"}, False),
        ({"amenity": "bench", "name": "Bench"}, False),
    ],
)
def test_is_poi(tags: dict[str, str], expected: bool) -> None:
    assert load_theme_rules().is_poi(tags) is expected


def test_rules_for_returns_only_requested_themes() -> None:
    rules = load_theme_rules().rules_for(["art"])
    assert rules and {rule.theme for rule in rules} == {"art"}
    assert TagRule("art", "tourism", ("artwork", "gallery")) in rules


def test_rules_for_refuses_unknown_theme() -> None:
    with pytest.raises(InvalidInput, match="unknown themes: golf"):
        load_theme_rules().rules_for(["art", "golf"])


def test_dwell_minutes_is_data_driven_and_positive() -> None:
    rules = load_theme_rules()
    assert all(rules.dwell_minutes(theme) > 0 for theme in rules.theme_ids)
    assert rules.dwell_minutes("food") == 30
    with pytest.raises(InvalidInput):
        rules.dwell_minutes("golf")


def test_load_is_cached() -> None:
    assert load_theme_rules() is load_theme_rules()


def test_parse_custom_document() -> None:
    rules = parse_theme_rules(
        {
            "themes": {
                "water": {"dwell_minutes": 5, "rules": [{"key": "natural", "values": ["water"]}]}
            }
        }
    )
    assert rules.theme_ids == ("water",)
    assert rules.themes_for({"natural": "water"}) == ("water",)
    assert rules.themes_for({"natural": "tree"}) == ()


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"themes": {}},
    ],
)
def test_parse_refuses_bad_documents(bad: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        parse_theme_rules(bad)


def test_tag_rule_validates() -> None:
    with pytest.raises(InvalidInput):
        TagRule("art", "", None)
    with pytest.raises(InvalidInput):
        TagRule("art", "tourism", ())


def test_rules_without_dwell_are_refused() -> None:
    with pytest.raises(InvalidInput, match="without a dwell"):
        ThemeRules([TagRule("art", "tourism", None)], {})
