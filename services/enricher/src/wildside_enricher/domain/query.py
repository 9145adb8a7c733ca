"""The Overpass QL query for an area and a set of themes, and the area's collapse key.

The tag tests come from the one shared mapping (`wildside_common.themes`), so the
enricher asks Overpass for exactly what the ingest keeps and the router scores:

    [out:json][timeout:180][maxsize:536870912][bbox:60.1,24.9,60.2,25.0];
    (nwr["historic"]["historic"!="no"];nwr["amenity"~"(^|;) *(cafe|pub) *(;|$)"];);
    out center tags;

Rules sharing a key are merged into one clause (a key tested for any value wins over
its value lists). `out center` gives ways and relations a point Overpass computes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from wildside_common.errors import InvalidInput
from wildside_common.messages import BoundingBox
from wildside_common.themes import TagRule, ThemeRules

_REGEX_SPECIAL = set("\\.^$|?*+()[]{}")


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """What one query may cost: Overpass's own limits, the largest area, the collapse grid."""

    timeout_seconds: int = 180
    maxsize_bytes: int = 512 * 1024 * 1024
    max_area_sq_degrees: float = 0.25
    grid_degrees: float = 0.001

    def __post_init__(self) -> None:
        if self.timeout_seconds < 1:
            raise InvalidInput.field("timeout_seconds", "must be at least 1")
        if self.maxsize_bytes < 1024:
            raise InvalidInput.field("maxsize_bytes", "must be at least 1024")
        if self.max_area_sq_degrees <= 0 or self.grid_degrees <= 0:
            raise InvalidInput("area limit and grid must be positive")


@dataclass(frozen=True, slots=True)
class AreaQuery:
    """One planned Overpass request: the QL text, its themes and its collapse key."""

    bbox: BoundingBox
    themes: tuple[str, ...]
    ql: str
    collapse_key: str


def plan_query(
    bbox: BoundingBox, themes: Iterable[str], rules: ThemeRules, limits: QueryLimits
) -> AreaQuery:
    """Plan the request for a job; an empty theme list means every theme.

    Raises `InvalidInput` for unknown themes or an area over the configured limit:
    retrying such a job can never succeed.
    """
    wanted = tuple(sorted(set(themes))) or rules.theme_ids
    area = (bbox.max_lat - bbox.min_lat) * (bbox.max_lng - bbox.min_lng)
    if area > limits.max_area_sq_degrees:
        raise InvalidInput.field(
            "bbox", f"covers {area:.4f} square degrees, over {limits.max_area_sq_degrees}"
        )
    ql = overpass_ql(rules.rules_for(wanted), bbox, limits)
    return AreaQuery(bbox, wanted, ql, collapse_key(bbox, wanted, limits.grid_degrees))


def overpass_ql(rules: Sequence[TagRule], bbox: BoundingBox, limits: QueryLimits) -> str:
    """`[out:json]` QL selecting every node, way and relation matching any rule."""
    corners = ",".join(
        f"{value:.7f}" for value in (bbox.min_lat, bbox.min_lng, bbox.max_lat, bbox.max_lng)
    )
    header = (
        f"[out:json][timeout:{limits.timeout_seconds}]"
        f"[maxsize:{limits.maxsize_bytes}][bbox:{corners}];"
    )
    clauses = "".join(f"nwr{selector};" for selector in _selectors(rules))
    return f"{header}\n({clauses});\nout center tags;"


def _selectors(rules: Sequence[TagRule]) -> list[str]:
    by_key: dict[str, set[str] | None] = {}
    for rule in rules:
        if rule.key in by_key and by_key[rule.key] is None:
            continue
        if rule.values is None:
            by_key[rule.key] = None
        else:
            by_key.setdefault(rule.key, set()).update(rule.values)  # type: ignore[union-attr]
    selectors = []
    for key in sorted(by_key):
        values = by_key[key]
        quoted = _string(key)
        if values is None:
            # `historic=no` means "not historic", as `TagRule.matches` reads it.
            selectors.append(f'[{quoted}][{quoted}!="no"]')
        else:
            # Match one value of a `a;b` list too, as `TagRule.matches` does.
            options = "|".join(_regex_literal(value) for value in sorted(values))
            selectors.append(f"[{quoted}~{_string(f'(^|;) *({options}) *(;|$)')}]")
    return selectors


def _regex_literal(value: str) -> str:
    return "".join(f"\\{char}" if char in _REGEX_SPECIAL else char for char in value)


def _string(text: str) -> str:
    """A QL string literal: backslashes and double quotes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def collapse_key(bbox: BoundingBox, themes: Sequence[str], grid: float) -> str:
    """Jobs for the same area (edges snapped to the nearest `grid` line) and themes share it."""
    cells = tuple(
        round(value / grid) for value in (bbox.min_lat, bbox.min_lng, bbox.max_lat, bbox.max_lng)
    )
    text = f"{grid}|{cells}|{','.join(sorted(set(themes)))}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]
