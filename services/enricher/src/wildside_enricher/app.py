"""The enrichment use case: one `EnrichmentJob` to one provenance row, at most one query.

    job done before (redelivery)        -> nothing (no request, no write)
    a duplicate in this process          -> waits for the in-flight job, records its result
    a duplicate elsewhere (Redis claim)  -> records the owner's result, or comes back later
    otherwise                            -> Overpass query, POI upsert + provenance (one tx)

Errors travel up unchanged; the JetStream mapping decides ack / term / nak(delay).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from prometheus_client import Counter, Histogram

from wildside_common.messages import EnrichmentJob
from wildside_common.themes import ThemeRules
from wildside_enricher.domain.answer import read_answer
from wildside_enricher.domain.provenance import LeaderPending, Provenance
from wildside_enricher.domain.query import AreaQuery, QueryLimits, plan_query
from wildside_enricher.ports import Collapser, EnrichmentStore, Overpass

log = logging.getLogger(__name__)

JOBS = Counter("wildside_enrichment_jobs_total", "Enrichment jobs finished", ["outcome"])
JOB_DURATION = Histogram(
    "wildside_enrichment_job_duration_seconds",
    "Time to enrich one area (query, parse, write)",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
POIS = Counter("wildside_enrichment_pois_total", "POIs written by enrichment", ["change"])


class EnrichArea:
    def __init__(
        self,
        rules: ThemeRules,
        limits: QueryLimits,
        overpass: Overpass,
        store: EnrichmentStore,
        collapser: Collapser,
    ) -> None:
        self.rules = rules
        self.limits = limits
        self.overpass = overpass
        self.store = store
        self.collapser = collapser
        self._in_flight: dict[str, asyncio.Future[Provenance]] = {}

    async def handle(self, job: EnrichmentJob, attempt: int = 1) -> Provenance:
        """Enrich the job's area once; returns the provenance recorded for the job."""
        done = await self.store.provenance_of(job.job_id)
        if done is not None:
            JOBS.labels("redelivered").inc()
            return done
        plan = plan_query(job.bbox, job.themes, self.rules, self.limits)
        running = self._in_flight.get(plan.collapse_key)
        if running is not None:
            owner = await asyncio.shield(running)
            return await self._record_duplicate(job, plan, owner)
        future: asyncio.Future[Provenance] = asyncio.get_running_loop().create_future()
        # Followers read the outcome; mark it retrieved so a lone failure logs no warning.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._in_flight[plan.collapse_key] = future
        try:
            result = await self._claim_and_run(job, plan, attempt)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            del self._in_flight[plan.collapse_key]
        future.set_result(result)
        return result

    async def _claim_and_run(self, job: EnrichmentJob, plan: AreaQuery, attempt: int) -> Provenance:
        owner_id = await self.collapser.claim(plan.collapse_key, job.job_id)
        if owner_id != job.job_id:
            owner = await self.store.provenance_of(owner_id)
            if owner is None:
                # Exponential: the owner may be waiting out a long Overpass query.
                raise LeaderPending(
                    f"job {owner_id} is fetching this area", min(2 ** (attempt - 1), 30)
                )
            return await self._record_duplicate(job, plan, owner)
        try:
            return await self._enrich(job, plan)
        except BaseException:
            with contextlib.suppress(Exception):
                await self.collapser.release(plan.collapse_key, job.job_id)
            raise

    async def _enrich(self, job: EnrichmentJob, plan: AreaQuery) -> Provenance:
        started = time.perf_counter()
        fetched = await self.overpass.fetch(plan.ql)
        answer = await asyncio.to_thread(read_answer, fetched.body, self.rules)
        provenance = Provenance(
            job.job_id, fetched.source_url, fetched.fetched_at, job.bbox, plan.themes,
            bytes=fetched.size,
        )  # fmt: skip
        recorded = await self.store.record(provenance, answer.pois)
        JOB_DURATION.observe(time.perf_counter() - started)
        JOBS.labels("enriched").inc()
        POIS.labels("added").inc(recorded.pois_added)
        POIS.labels("updated").inc(recorded.pois_updated)
        log.info(
            "area enriched",
            extra={
                "job_id": job.job_id,
                "source_url": fetched.source_url,
                "elements": answer.elements,
                "skipped": answer.skipped,
                "pois_added": recorded.pois_added,
                "pois_updated": recorded.pois_updated,
                "bytes": fetched.size,
            },
        )
        return recorded

    async def _record_duplicate(
        self, job: EnrichmentJob, plan: AreaQuery, owner: Provenance
    ) -> Provenance:
        recorded = await self.store.record(owner.collapsed(job.job_id, job.bbox, plan.themes), ())
        JOBS.labels("collapsed").inc()
        log.info("job collapsed", extra={"job_id": job.job_id, "into": owner.job_id})
        return recorded
