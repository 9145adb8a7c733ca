"""The filter set: which POIs (by theme) and whether the walking network a run loads.

Filter names (docs/ingest.md, "Filters"):

    all       every theme, `wiki` and `network` (the default)
    pois      every theme and `wiki`
    <theme>   one interest theme's tag rules (history, art, nature, ...; theme_rules.json)
    wiki      named elements carrying a wikidata or wikipedia tag
    network   the walking network (street nodes and edges)

The canonical form (sorted, expanded names joined by commas) is recorded in provenance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from wildside_common.errors import InvalidInput
from wildside_common.themes import ThemeRules

WIKI = "wiki"
NETWORK = "network"
REFERENCE_KEYS = ("wikidata", "wikipedia")


@dataclass(frozen=True, slots=True)
class FilterSet:
    """A validated selection of filters over a set of theme rules."""

    rules: ThemeRules
    themes: frozenset[str]
    wiki: bool
    network: bool

    def __post_init__(self) -> None:
        unknown = self.themes - set(self.rules.theme_ids)
        if unknown:
            raise InvalidInput(f"unknown filter: {', '.join(sorted(unknown))}")
        if not (self.themes or self.wiki or self.network):
            raise InvalidInput("filters: select at least one filter")

    @classmethod
    def parse(cls, rules: ThemeRules, names: Iterable[str]) -> FilterSet:
        """Build from filter names (see the module docstring); unknown names are refused."""
        themes: set[str] = set()
        wiki = network = False
        known = set(rules.theme_ids)
        for raw in names:
            name = raw.strip().lower()
            if name in ("all", "pois"):
                themes |= known
                wiki = True
                network = network or name == "all"
            elif name == WIKI:
                wiki = True
            elif name == NETWORK:
                network = True
            elif name in known:
                themes.add(name)
            else:
                choices = ", ".join(["all", "pois", *sorted(known), WIKI, NETWORK])
                raise InvalidInput(f"unknown filter {raw.strip()!r} (choose from {choices})")
        return cls(rules, frozenset(themes), wiki, network)

    @property
    def canonical(self) -> str:
        """Sorted, expanded filter names: the provenance record of what was loaded."""
        names = sorted(self.themes)
        if self.wiki:
            names.append(WIKI)
        if self.network:
            names.append(NETWORK)
        return ",".join(names)

    @property
    def fingerprint(self) -> str:
        """The filters and every tag rule (the themes stored are all the rules give), as
        text: part of a run's input key (`run.input_key`)."""
        rules = [(r.theme, r.key, r.values) for r in self.rules.rules]
        return f"{self.canonical}|{rules!r}"

    @property
    def wants_pois(self) -> bool:
        """True when any POI filter is selected."""
        return bool(self.themes) or self.wiki

    def poi_keys(self) -> frozenset[str]:
        """Every tag key a POI must carry at least one of: a cheap pre-filter for the reader."""
        keys = {rule.key for rule in self.rules.rules_for(self.themes)}
        if self.wiki:
            keys.update(REFERENCE_KEYS)
        return frozenset(keys)

    def poi_themes(self, tags: Mapping[str, str]) -> tuple[str, ...] | None:
        """The element's themes when it passes the POI filters, else None.

        The themes stored are every theme the rules give, not only the selected ones:
        a filter chooses which POIs to load, not how they are described.
        """
        themes = self.rules.themes_for(tags)
        if any(theme in self.themes for theme in themes):
            return themes
        if self.wiki and tags.get("name") and any(tags.get(k) for k in REFERENCE_KEYS):
            return themes
        return None
