"""The admin enrichment provenance report: its filters and its records.

Records are listed newest first by `(fetched_at, id)`. Filters: a time range on
`fetched_at` (`from` inclusive, `to` exclusive, ISO 8601; a time without an offset is
UTC; years 1-9999 once in UTC) and a bounding box (`min_lng,min_lat,max_lng,max_lat`)
the record's box must intersect.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wildside_common.errors import InvalidInput
from wildside_common.inputs import utc_instant

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Box:
    min_lng: float
    min_lat: float
    max_lng: float
    max_lat: float

    def __post_init__(self) -> None:
        values = (self.min_lng, self.min_lat, self.max_lng, self.max_lat)
        if not all(math.isfinite(value) for value in values):
            raise InvalidInput.field("bbox", "must hold finite numbers")
        if not (-180 <= self.min_lng <= self.max_lng <= 180):
            raise InvalidInput.field("bbox", "needs -180 <= min_lng <= max_lng <= 180")
        if not (-90 <= self.min_lat <= self.max_lat <= 90):
            raise InvalidInput.field("bbox", "needs -90 <= min_lat <= max_lat <= 90")

    @classmethod
    def parse(cls, text: str) -> Box:
        parts = text.split(",")
        if len(parts) != 4:
            raise InvalidInput.field("bbox", "must be min_lng,min_lat,max_lng,max_lat")
        try:
            numbers = [float(part) for part in parts]
        except ValueError:
            raise InvalidInput.field("bbox", "must hold four numbers") from None
        return cls(*numbers)

    def view(self) -> dict[str, float]:
        return {
            "min_lat": self.min_lat,
            "min_lng": self.min_lng,
            "max_lat": self.max_lat,
            "max_lng": self.max_lng,
        }


def parse_instant(name: str, text: str) -> datetime:
    """An ISO 8601 instant in UTC (one without an offset is UTC), in years 1-9999."""
    value = utc_instant(text)
    if value is None:
        raise InvalidInput.field(name, "must be an ISO 8601 date-time in years 1-9999 (UTC)")
    return value


@dataclass(frozen=True, slots=True)
class ProvenanceFilter:
    since: datetime | None = None
    until: datetime | None = None
    box: Box | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise InvalidInput.field("from", "must not be after to")

    @classmethod
    def parse(cls, query: Mapping[str, str]) -> ProvenanceFilter:
        """The filter in the query parameters `from`, `to` and `bbox`."""
        since, until, box = query.get("from"), query.get("to"), query.get("bbox")
        # Present but blank is a malformed value, not an absent filter.
        return cls(
            parse_instant("from", since) if since is not None else None,
            parse_instant("to", until) if until is not None else None,
            Box.parse(box) if box is not None else None,
        )


@dataclass(frozen=True, slots=True)
class ProvenanceRecord:
    """One enrichment fetch (trusted: built from database rows)."""

    id: str
    job_id: str
    source_url: str
    fetched_at: datetime
    box: Box
    themes: tuple[str, ...]
    pois_added: int
    pois_updated: int
    bytes: int

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "job_id": self.job_id,
            "source_url": self.source_url,
            "fetched_at": self.fetched_at.isoformat(),
            "bbox": self.box.view(),
            "themes": list(self.themes),
            "counts": {
                "pois_added": self.pois_added,
                "pois_updated": self.pois_updated,
                "bytes": self.bytes,
            },
        }
