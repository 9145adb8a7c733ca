"""The shared mapping from OpenStreetMap tags to Wildside interest themes.

The rules are data (`wildside_common/data/theme_rules.json`, documented in
docs/themes.md), so the ingest filter, the router's scoring and the enricher's Overpass
queries all agree on what "history" or "food" means. Theme ids are the slugs of the
`interest_themes` table.

    rules = load_theme_rules()
    rules.themes_for({"tourism": "artwork"})   # ("art",)
    rules.is_poi({"name": "X", "wikidata": "Q1"})  # True
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from wildside_common.errors import InvalidInput

__all__ = ["TagRule", "ThemeRules", "load_theme_rules", "parse_theme_rules"]


@dataclass(frozen=True)
class TagRule:
    """One tag test: `key` present, and its value in `values` (None = any value)."""

    theme: str
    key: str
    values: tuple[str, ...] | None

    def __post_init__(self) -> None:
        if not self.theme or not self.key:
            raise InvalidInput("a tag rule needs a theme and a key")
        if self.values is not None and not self.values:
            raise InvalidInput(f"rule {self.theme}/{self.key}: values must be null or non-empty")

    def matches(self, tags: Mapping[str, str]) -> bool:
        """True when `tags` satisfy this rule; `a;b` values are tested one by one."""
        value = tags.get(self.key)
        if value is None or value == "no":
            return False
        if self.values is None:
            return True
        if value in self.values:
            return True
        return ";" in value and any(part.strip() in self.values for part in value.split(";"))


class ThemeRules:
    """The set of tag rules for every theme, with per-theme dwell times."""

    def __init__(
        self,
        rules: Iterable[TagRule],
        dwell: Mapping[str, float],
        reference_keys: Iterable[str] = ("wikidata", "wikipedia"),
    ) -> None:
        self._rules = tuple(rules)
        self._dwell = dict(dwell)
        self._reference_keys = tuple(reference_keys)
        unknown = {rule.theme for rule in self._rules} - set(self._dwell)
        if unknown:
            raise InvalidInput(f"rules name themes without a dwell time: {sorted(unknown)}")
        # Index by key: each element is tested only against rules for keys it carries.
        self._by_key: dict[str, list[TagRule]] = {}
        for rule in self._rules:
            self._by_key.setdefault(rule.key, []).append(rule)

    @property
    def theme_ids(self) -> tuple[str, ...]:
        """Every theme id the rules know, sorted."""
        return tuple(sorted(self._dwell))

    @property
    def rules(self) -> tuple[TagRule, ...]:
        """All rules, in file order."""
        return self._rules

    def themes_for(self, tags: Mapping[str, str]) -> tuple[str, ...]:
        """The sorted, unique theme ids whose rules match `tags`."""
        found: set[str] = set()
        by_key = self._by_key
        for key in tags:
            candidates = by_key.get(key)
            if candidates is None:
                continue
            for rule in candidates:
                if rule.theme not in found and rule.matches(tags):
                    found.add(rule.theme)
        return tuple(sorted(found))

    def rules_for(self, themes: Iterable[str]) -> tuple[TagRule, ...]:
        """The rules of the given themes, in file order; unknown theme ids are refused."""
        wanted = set(themes)
        unknown = wanted - set(self._dwell)
        if unknown:
            raise InvalidInput(f"unknown themes: {', '.join(sorted(unknown))}")
        return tuple(rule for rule in self._rules if rule.theme in wanted)

    def dwell_minutes(self, theme: str) -> float:
        """The default time a walker spends at a POI of `theme`."""
        try:
            return self._dwell[theme]
        except KeyError:
            raise InvalidInput(f"unknown theme: {theme}") from None

    def is_poi(self, tags: Mapping[str, str]) -> bool:
        """The ingest filter: any theme matches, or a named element with wikidata/wikipedia."""
        if self.themes_for(tags):
            return True
        return bool(tags.get("name")) and any(tags.get(k) for k in self._reference_keys)


def parse_theme_rules(document: Mapping[str, Any]) -> ThemeRules:
    """Build `ThemeRules` from the JSON document's structure (see theme_rules.json)."""
    themes = document.get("themes")
    if not isinstance(themes, Mapping) or not themes:
        raise InvalidInput("theme rules: 'themes' must be a non-empty object")
    rules: list[TagRule] = []
    dwell: dict[str, float] = {}
    for theme, spec in themes.items():
        dwell[theme] = float(spec["dwell_minutes"])
        for raw in spec["rules"]:
            values = raw.get("values")
            rules.append(TagRule(theme, str(raw["key"]), None if values is None else tuple(values)))
    keys = document.get("poi_reference_keys", ("wikidata", "wikipedia"))
    return ThemeRules(rules, dwell, tuple(keys))


@lru_cache(maxsize=1)
def load_theme_rules() -> ThemeRules:
    """The packaged rules (`data/theme_rules.json`), parsed once per process."""
    text = resources.files("wildside_common").joinpath("data/theme_rules.json").read_text("utf-8")
    return parse_theme_rules(json.loads(text))
