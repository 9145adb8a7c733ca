from __future__ import annotations

import pytest

from wildside_common.errors import InvalidInput
from wildside_common.messages import BoundingBox
from wildside_common.themes import TagRule, ThemeRules, load_theme_rules
from wildside_enricher.domain.query import QueryLimits, collapse_key, overpass_ql, plan_query

pytestmark = pytest.mark.unit

BOX = BoundingBox(60.160, 24.940, 60.170, 24.960)


def test_query_is_json_with_timeout_maxsize_and_bbox():
    plan = plan_query(BOX, ["history"], load_theme_rules(), QueryLimits(25, 1_048_576))
    header = plan.ql.splitlines()[0]
    assert header == (
        "[out:json][timeout:25][maxsize:1048576][bbox:60.1600000,24.9400000,60.1700000,24.9600000];"
    )
    assert plan.ql.endswith("out center tags;")
    assert plan.themes == ("history",)


def test_every_rule_of_the_themes_is_a_clause_and_no_other():
    rules = load_theme_rules()
    plan = plan_query(BOX, ["history"], rules, QueryLimits())
    for rule in rules.rules_for(["history"]):
        assert f'nwr["{rule.key}"' in plan.ql
    assert '["historic"]["historic"!="no"]' in plan.ql  # any value but "no"
    assert '"amenity"' not in plan.ql  # a food key: not asked for


def test_rules_on_one_key_are_merged_and_values_match_inside_lists():
    rules = ThemeRules(
        [
            TagRule("food", "amenity", ("cafe", "pub")),
            TagRule("culture", "amenity", ("theatre",)),
            TagRule("art", "tourism", ("artwork",)),
            TagRule("art", "tourism", None),
        ],
        {"food": 1, "culture": 1, "art": 1},
    )
    ql = overpass_ql(rules.rules, BOX, QueryLimits())
    assert ql.count('nwr["amenity"') == 1
    assert 'nwr["amenity"~"(^|;) *(cafe|pub|theatre) *(;|$)"];' in ql
    # A key tested for any value makes its value lists redundant.
    assert 'nwr["tourism"]["tourism"!="no"];' in ql
    assert "artwork" not in ql


def test_values_are_escaped_for_regex_and_string():
    rules = ThemeRules([TagRule("x", 'we"ird', ("a.b", "c+d"))], {"x": 1})
    ql = overpass_ql(rules.rules, BOX, QueryLimits())
    assert 'nwr["we\\"ird"~"(^|;) *(a\\\\.b|c\\\\+d) *(;|$)"];' in ql


def test_no_themes_means_every_theme():
    rules = load_theme_rules()
    plan = plan_query(BOX, [], rules, QueryLimits())
    assert plan.themes == rules.theme_ids


def test_unknown_themes_and_huge_areas_are_refused():
    with pytest.raises(InvalidInput, match="unknown themes"):
        plan_query(BOX, ["astrology"], load_theme_rules(), QueryLimits())
    huge = BoundingBox(59.0, 24.0, 61.0, 26.0)
    with pytest.raises(InvalidInput, match="square degrees"):
        plan_query(huge, ["art"], load_theme_rules(), QueryLimits(max_area_sq_degrees=1.0))


def test_collapse_key_snaps_the_area_and_ignores_theme_order():
    near = BoundingBox(60.16001, 24.94002, 60.16998, 24.95999)
    assert collapse_key(BOX, ["art", "food"], 0.001) == collapse_key(near, ["food", "art"], 0.001)
    assert collapse_key(BOX, ["art"], 0.001) != collapse_key(BOX, ["food"], 0.001)
    moved = BoundingBox(60.180, 24.940, 60.190, 24.960)
    assert collapse_key(BOX, ["art"], 0.001) != collapse_key(moved, ["art"], 0.001)


@pytest.mark.parametrize(
    "limits",
    [
        {"timeout_seconds": 0},
        {"maxsize_bytes": 10},
        {"max_area_sq_degrees": 0},
        {"grid_degrees": -1},
    ],
)
def test_limits_validate(limits):
    with pytest.raises(InvalidInput):
        QueryLimits(**limits)
