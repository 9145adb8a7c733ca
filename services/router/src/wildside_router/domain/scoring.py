"""How much a walker would value each candidate, and how long they would stay there.

score = 100 x relevance x quality x diversity

- relevance: the best weight, in the walker's profile, of the candidate's themes. A
  theme the walker chose weighs 1, any other theme `OTHER_THEME_WEIGHT`; no themes chosen
  is the balanced profile (every theme 1). A place with no theme (a named landmark the
  ingest kept for its wikidata/wikipedia tags) weighs `UNTHEMED_WEIGHT` in the balanced
  profile, `OTHER_THEME_WEIGHT` when the walker chose themes.
- quality: 0.25 + 0.75 x popularity (the ingest's prior from wikidata, wikipedia,
  heritage, tourism, name, website, opening hours tags), times `UNNAMED_FACTOR` for a
  place without a name (a bench, a tree): such places score low but not zero.
- diversity: diminishing returns while candidates are picked in score order: the k-th
  earlier pick of the same category ("amenity=bench") multiplies by
  `SAME_CATEGORY_DECAY`^k, and a name already picked by `SAME_NAME_DECAY`^k (the four
  statues called "Lyhdynkantajat" are one sight). The solver sees static scores, so the
  diversity is folded into them before solving.

Dwell time: the dwell minutes (themes.py) of the candidate's most relevant theme, the
shortest among equally relevant ones; `default_dwell` for a place with no theme.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from wildside_common.errors import InvalidInput
from wildside_common.themes import ThemeRules
from wildside_router.domain.candidates import Candidate

OTHER_THEME_WEIGHT = 0.15
UNTHEMED_WEIGHT = 0.3
UNNAMED_FACTOR = 0.1
SAME_CATEGORY_DECAY = 0.7
SAME_NAME_DECAY = 0.25
SCORE_SCALE = 100.0


@dataclass(frozen=True, slots=True)
class InterestProfile:
    """Per-theme weights in [0, 1] and the themes the walker asked for."""

    weights: Mapping[str, float]
    chosen: frozenset[str]

    def __post_init__(self) -> None:
        for theme, weight in self.weights.items():
            if not 0.0 <= weight <= 1.0:
                raise InvalidInput.field("weights", f"{theme}: must be between 0 and 1")

    @classmethod
    def of(cls, themes: Iterable[str], known: Iterable[str]) -> InterestProfile:
        """The walker's profile; unknown theme ids are ignored (they match nothing)."""
        known_set = set(known)
        chosen = frozenset(t for t in themes if t in known_set)
        if not chosen:
            return cls({t: 1.0 for t in known_set}, frozenset())
        return cls({t: 1.0 if t in chosen else OTHER_THEME_WEIGHT for t in known_set}, chosen)

    def relevance(self, themes: Sequence[str]) -> float:
        """The best weight among `themes`; for none, `UNTHEMED_WEIGHT` in a balanced
        profile and `OTHER_THEME_WEIGHT` when the walker chose themes."""
        if not themes:
            return OTHER_THEME_WEIGHT if self.chosen else UNTHEMED_WEIGHT
        return max(self.weights.get(t, 0.0) for t in themes)

    def matches(self, themes: Iterable[str]) -> list[str]:
        """The walker's chosen themes among `themes` (all of them for a balanced profile)."""
        if not self.chosen:
            return sorted(set(themes))
        return sorted(set(themes) & self.chosen)


@dataclass(frozen=True, slots=True)
class ScoredCandidate:
    """A candidate with its final score and dwell minutes."""

    candidate: Candidate
    score: float
    dwell_minutes: float


def base_score(candidate: Candidate, profile: InterestProfile) -> float:
    """Relevance x quality, scaled; diversity is applied by `select_candidates`."""
    quality = 0.25 + 0.75 * candidate.popularity
    if not (candidate.name and candidate.name.strip()):
        quality *= UNNAMED_FACTOR
    return SCORE_SCALE * profile.relevance(candidate.themes) * quality


def dwell_minutes(
    candidate: Candidate, profile: InterestProfile, rules: ThemeRules, default_dwell: float
) -> float:
    """Minutes spent at the candidate: its most relevant theme's dwell (see module doc)."""
    known = [t for t in candidate.themes if t in profile.weights]
    if not known:
        return default_dwell
    best = max(profile.weights[t] for t in known)
    return min(rules.dwell_minutes(t) for t in known if profile.weights[t] == best)


def select_candidates(
    candidates: Iterable[Candidate],
    profile: InterestProfile,
    rules: ThemeRules,
    limit: int,
    default_dwell: float = 5.0,
) -> list[ScoredCandidate]:
    """The `limit` best candidates, scores discounted for repeated categories and names.

    Greedy in base-score order (ties by OSM reference, so the result is deterministic):
    each pick's score is discounted by how many of its category and name came before.
    """
    ordered = sorted(candidates, key=lambda c: (-base_score(c, profile), c.osm))
    seen_category: Counter[str] = Counter()
    seen_name: Counter[str] = Counter()
    picked: list[ScoredCandidate] = []
    for candidate in ordered:
        name = (candidate.name or "").strip().casefold()
        factor = SAME_CATEGORY_DECAY ** seen_category[candidate.category]
        if name:
            factor *= SAME_NAME_DECAY ** seen_name[name]
            seen_name[name] += 1
        seen_category[candidate.category] += 1
        score = base_score(candidate, profile) * factor
        picked.append(
            ScoredCandidate(
                candidate, score, dwell_minutes(candidate, profile, rules, default_dwell)
            )
        )
    picked.sort(key=lambda s: (-s.score, s.candidate.osm))
    return picked[:limit]


def matching_places(candidates: Iterable[Candidate], profile: InterestProfile) -> int:
    """How many named candidates carry a theme the walker wants: the sparse-area test."""
    return sum(1 for c in candidates if c.name and c.themes and profile.relevance(c.themes) >= 1.0)
