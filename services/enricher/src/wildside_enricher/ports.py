"""Ports the enrichment use case depends on, in domain words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from wildside_common.places.poi import PoiRecord
from wildside_enricher.domain.provenance import Provenance


@dataclass(frozen=True, slots=True)
class Fetched:
    """One Overpass answer: its body, the endpoint that gave it, when, and its size."""

    body: bytes
    source_url: str
    fetched_at: datetime

    @property
    def size(self) -> int:
        return len(self.body)


class Overpass(Protocol):
    """Runs a QL query against the first endpoint that will take it.

    Raises `CircuitOpen` when every endpoint's breaker is open, `QuotaExhausted` when
    the daily budget is spent, `RateLimited`/`Unavailable` after retries, and
    `InvalidInput` when the query itself is refused or the answer is too large.
    """

    async def fetch(self, ql: str) -> Fetched: ...


class EnrichmentStore(Protocol):
    """Provenance rows and the POIs they brought, written together or not at all."""

    async def provenance_of(self, job_id: str) -> Provenance | None:
        """The recorded provenance of a job, or None when the job has not been done."""
        ...

    async def record(self, provenance: Provenance, pois: Sequence[PoiRecord]) -> Provenance:
        """Upsert the POIs and write the provenance row with the counts, atomically.

        When the job already has a row, nothing is written and that row is returned.
        """
        ...


class Collapser(Protocol):
    """Elects one job per area and themes within a time window, across replicas."""

    async def claim(self, key: str, job_id: str) -> str:
        """The job id that owns `key`: `job_id` itself when it won (or already owned it)."""
        ...

    async def release(self, key: str, job_id: str) -> None:
        """Give `key` up (the owner failed), so another job may fetch the area."""
        ...


class RequestBudget(Protocol):
    """The daily request and transfer budgets every replica draws from."""

    async def spend_request(self) -> None:
        """Count one request before it goes out; raises `QuotaExhausted` when spent."""
        ...

    async def add_bytes(self, size: int) -> None:
        """Count the bytes an answer brought."""
        ...
