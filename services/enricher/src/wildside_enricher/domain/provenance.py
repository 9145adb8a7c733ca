"""Provenance of one enrichment job, and the errors that put a job off until later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from wildside_common.errors import InvalidInput, RateLimited
from wildside_common.messages import BoundingBox


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where a job's POIs came from: one row per job, written even when nothing was new.

    A job collapsed into an earlier one for the same area carries that job's source and
    fetch time, with zero counts and zero bytes (it made no request of its own).
    """

    job_id: str
    source_url: str
    fetched_at: datetime
    bbox: BoundingBox
    themes: tuple[str, ...]
    pois_added: int = 0
    pois_updated: int = 0
    bytes: int = 0

    def __post_init__(self) -> None:
        if not self.source_url:
            raise InvalidInput.field("source_url", "must not be empty")
        if self.fetched_at.tzinfo is None:
            raise InvalidInput.field("fetched_at", "must carry a time zone")
        for name in ("pois_added", "pois_updated", "bytes"):
            if getattr(self, name) < 0:
                raise InvalidInput.field(name, "must not be negative")

    def collapsed(self, job_id: str, bbox: BoundingBox, themes: tuple[str, ...]) -> Provenance:
        """The record of a duplicate job answered by this one."""
        return Provenance(job_id, self.source_url, self.fetched_at, bbox, themes)


class CircuitOpen(RateLimited):
    """Every endpoint's breaker is open: delay the job (nak) until one may be probed."""


class QuotaExhausted(RateLimited):
    """The daily request or transfer budget is spent: delay the job until it renews."""


class LeaderPending(RateLimited):
    """Another job for the same area and themes is being fetched: come back for its result."""
