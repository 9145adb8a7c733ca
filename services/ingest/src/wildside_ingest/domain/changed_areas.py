"""Which areas to enrich after a refresh: the grid cells holding the POIs a run changed.

After the nightly refresh re-ingests a newer extract, the places it inserted or updated
mark where OpenStreetMap changed; the enricher then looks there on Overpass for what the
extract's filters missed. Cells are `grid` degrees square, aligned to the grid, so the
same cell always gets the same area (and the same job id for the same run).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

DEFAULT_GRID_DEGREES = 0.01  # about 1.1 km north-south
DEFAULT_MAX_AREAS = 20


@dataclass(frozen=True, slots=True)
class ChangedArea:
    """One grid cell: south-west and north-east corners, the themes of its changed POIs."""

    min_lat: float
    min_lng: float
    max_lat: float
    max_lng: float
    themes: tuple[str, ...]
    changed: int

    @property
    def key(self) -> str:
        return f"{self.min_lat:.6f},{self.min_lng:.6f}"


def changed_areas(
    pois: Iterable[tuple[float, float, Sequence[str]]],
    grid: float = DEFAULT_GRID_DEGREES,
    limit: int = DEFAULT_MAX_AREAS,
) -> list[ChangedArea]:
    """The cells of `pois` (lat, lng, themes), most changed POIs first, at most `limit`.

    A cell's themes are the union of its POIs' themes; a cell whose POIs have none (wiki
    only) asks for every theme (empty list). Ties keep a stable south-west-first order.
    """
    if not grid > 0:
        raise ValueError("grid: must be positive")
    if limit < 1:
        raise ValueError("limit: at least one area")
    cells: dict[tuple[int, int], tuple[int, set[str]]] = {}
    for lat, lng, themes in pois:
        cell = (math.floor(lat / grid), math.floor(lng / grid))
        count, seen = cells.get(cell, (0, set()))
        seen.update(themes)
        cells[cell] = (count + 1, seen)
    ordered = sorted(cells.items(), key=lambda item: (-item[1][0], item[0]))
    return [
        ChangedArea(
            min_lat=round(row * grid, 6),
            min_lng=round(col * grid, 6),
            max_lat=min(round((row + 1) * grid, 6), 90.0),
            max_lng=min(round((col + 1) * grid, 6), 180.0),
            themes=tuple(sorted(themes)),
            changed=count,
        )
        for (row, col), (count, themes) in ordered[:limit]
    ]
