from __future__ import annotations

import pytest
from enricher_fakes import answer, node, relation, way

from wildside_common.places.poi import make_poi
from wildside_common.themes import load_theme_rules
from wildside_enricher.domain.answer import IncompleteAnswer, MalformedAnswer, read_answer

pytestmark = pytest.mark.unit
RULES = load_theme_rules()


def test_nodes_ways_and_relations_become_poi_records_with_themes():
    body = answer(
        [
            node(11, 60.1701, 24.9402, amenity="cafe", name="Kahvila"),
            way(12, 60.1702, 24.9403, historic="castle", wikidata="Q1"),
            relation(13, 60.1703, 24.9404, leisure="park", name="Puisto"),
        ]
    )
    result = read_answer(body, RULES)
    assert [(p.element_type, p.osm_id) for p in result.pois] == [
        ("node", 11),
        ("relation", 13),
        ("way", 12),
    ]
    cafe = result.pois[0]
    assert cafe == make_poi("node", 11, 24.9402, 60.1701, {"amenity": "cafe", "name": "Kahvila"},
                            ("food",))  # fmt: skip
    assert result.pois[2].themes == RULES.themes_for({"historic": "castle", "wikidata": "Q1"})
    assert (result.elements, result.skipped) == (3, 0)


def test_elements_without_point_or_theme_are_skipped():
    body = answer(
        [
            {"type": "way", "id": 1, "tags": {"amenity": "cafe"}},  # no center
            node(2, 95.0, 24.9, amenity="cafe"),  # latitude out of range
            node(3, 60.1, 24.9, highway="bus_stop"),  # no theme
            {"type": "area", "id": 4, "tags": {}},
            {"type": "node", "id": "5", "lat": 60.1, "lon": 24.9, "tags": {"amenity": "cafe"}},
            node(6, 60.1, 24.9, historic="no"),  # "no" is not historic
            node(7, 60.1, 24.9, tourism="artwork"),
        ]
    )
    result = read_answer(body, RULES)
    assert [p.osm_id for p in result.pois] == [7]
    assert result.skipped == 6


def test_duplicate_elements_yield_one_record():
    body = answer([node(8, 60.1, 24.9, amenity="cafe"), node(8, 60.2, 24.9, amenity="cafe")])
    result = read_answer(body, RULES)
    assert len(result.pois) == 1 and result.pois[0].lat == 60.2


@pytest.mark.parametrize(
    "body",
    [b"<html><body>502 Bad Gateway</body></html>", b"[1, 2]", b'{"version": 0.6}',
     b'{"elements": {"type": "node"}}', b""],
)  # fmt: skip
def test_malformed_bodies_are_refused(body):
    with pytest.raises(MalformedAnswer, match="malformed Overpass answer"):
        read_answer(body, RULES)


def test_a_runtime_error_remark_means_a_partial_answer():
    body = answer(
        [node(9, 60.1, 24.9, amenity="cafe")],
        remark='runtime error: Query timed out in "query" at line 3 after 26 seconds.',
    )
    with pytest.raises(IncompleteAnswer, match="timed out"):
        read_answer(body, RULES)
