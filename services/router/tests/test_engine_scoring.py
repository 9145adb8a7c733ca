"""Scoring: theme weights, popularity, unnamed places, diversity, dwell times."""

from __future__ import annotations

import pytest
from engine_fakes import ORIGIN, offset, place

from wildside_common.themes import load_theme_rules
from wildside_router.domain.candidates import reach_area
from wildside_router.domain.scoring import (
    InterestProfile,
    base_score,
    dwell_minutes,
    matching_places,
    select_candidates,
)

pytestmark = pytest.mark.unit
RULES = load_theme_rules()


def profile(*themes: str) -> InterestProfile:
    return InterestProfile.of(themes, RULES.theme_ids)


def test_chosen_themes_outscore_the_others_and_balanced_weighs_all_alike() -> None:
    history = place(1, ORIGIN, ("history",))
    food = place(2, ORIGIN, ("food",), tags={"amenity": "cafe"})
    assert base_score(history, profile("history")) > 5 * base_score(food, profile("history"))
    balanced = profile()
    assert base_score(history, balanced) == base_score(food, balanced)
    assert profile("no-such-theme").chosen == frozenset()  # unknown ids: balanced


def test_popularity_raises_and_a_missing_name_sinks_the_score() -> None:
    p = profile("nature")
    famous = place(1, ORIGIN, ("nature",), popularity=0.9)
    plain = place(2, ORIGIN, ("nature",), popularity=0.1)
    tree = place(3, ORIGIN, ("nature",), name=None, popularity=0.0)
    assert base_score(famous, p) > base_score(plain, p) > base_score(tree, p) > 0
    assert base_score(tree, p) < 0.2 * base_score(plain, p)


def test_repeated_categories_and_names_have_diminishing_returns() -> None:
    p = profile("art")
    benches = [place(i, ORIGIN, ("art",), name=f"Statue {i}", tags={"tourism": "artwork"})
               for i in range(1, 6)]  # fmt: skip
    twins = [place(10 + i, ORIGIN, ("art",), name="Lyhdynkantajat", tags={"x": "y"})
             for i in range(3)]  # fmt: skip
    mural = place(20, ORIGIN, ("art",), name="Mural", popularity=0.3, tags={"man_made": "wall"})
    chosen = select_candidates([*benches, *twins, mural], p, RULES, limit=20)
    by_id = {s.candidate.osm_id: s.score for s in chosen}
    assert by_id[1] > by_id[2] > by_id[3] > by_id[4] > by_id[5]
    assert by_id[10] > 3 * by_id[11]
    # A less popular place of a new kind beats the fifth of the same kind.
    assert by_id[20] > by_id[5]


def test_selection_is_capped_by_score_and_deterministic() -> None:
    p = profile("history")
    places = [place(i, ORIGIN, popularity=(i % 7) / 7, name=f"P{i}",
                    tags={"historic": f"kind{i % 5}"}) for i in range(40)]  # fmt: skip
    first = select_candidates(places, p, RULES, limit=10)
    again = select_candidates(list(reversed(places)), p, RULES, limit=10)
    assert [s.candidate.osm for s in first] == [s.candidate.osm for s in again]
    assert len(first) == 10
    scores = [s.score for s in first]
    assert scores == sorted(scores, reverse=True)


def test_dwell_comes_from_the_theme_rules() -> None:
    cafe_museum = place(1, ORIGIN, ("culture", "food"), tags={"amenity": "cafe"})
    assert dwell_minutes(cafe_museum, profile("food"), RULES, 5) == RULES.dwell_minutes("food")
    assert dwell_minutes(cafe_museum, profile("culture"), RULES, 5) == RULES.dwell_minutes(
        "culture"
    )
    # Balanced: the shortest of the equally relevant themes.
    assert dwell_minutes(cafe_museum, profile(), RULES, 5) == min(
        RULES.dwell_minutes("culture"), RULES.dwell_minutes("food")
    )
    assert dwell_minutes(place(2, ORIGIN, ()), profile(), RULES, 4.5) == 4.5


def test_matching_places_counts_named_places_of_wanted_themes() -> None:
    places = [
        place(1, ORIGIN, ("history",)),
        place(2, ORIGIN, ("history",), name=None),
        place(3, ORIGIN, ("food",)),
    ]
    assert matching_places(places, profile("history")) == 1
    assert matching_places(places, profile()) == 2


def test_reach_area_disc_and_ellipse() -> None:
    disc = reach_area(ORIGIN, None, 2000)
    assert disc.round_trip and disc.radius_m == 1000
    assert disc.contains(*_ll(offset(990, 0))) and not disc.contains(*_ll(offset(1010, 0)))
    end = offset(0, 1000)
    ellipse = reach_area(ORIGIN, end, 1400)
    assert ellipse.contains(*_ll(offset(0, 500)))
    assert ellipse.contains(*_ll(offset(480, 500)))  # 2 x sqrt(500^2+480^2) = 1386
    assert not ellipse.contains(*_ll(offset(500, 500)))  # 1414 > 1400
    assert not ellipse.contains(*_ll(offset(0, -300)))
    box = disc.bbox()
    # Latitude correction: at 60 N a degree of longitude is half a degree of latitude.
    ratio = (box.max_lng - box.min_lng) / (box.max_lat - box.min_lat)
    assert ratio == pytest.approx(2.0, rel=0.02)


def _ll(point: object) -> tuple[float, float]:
    return point.lat, point.lng  # type: ignore[attr-defined]


def test_unthemed_landmarks_are_filler_for_a_walker_with_themes() -> None:
    landmark = place(1, ORIGIN, (), popularity=0.7, tags={"amenity": "pharmacy"})
    statue = place(2, ORIGIN, ("art",), popularity=0.3, tags={"tourism": "artwork"})
    assert base_score(landmark, profile("art")) < 0.5 * base_score(statue, profile("art"))
    assert base_score(landmark, profile()) > base_score(landmark, profile("art"))
