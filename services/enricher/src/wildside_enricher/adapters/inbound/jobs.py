"""JetStream inbound adapter: EnrichmentJob messages -> the EnrichArea use case."""

from __future__ import annotations

import logging

from nats.aio.msg import Msg

from wildside_common.bus.worker import attempt_of
from wildside_common.codec import decode
from wildside_common.logs import bind
from wildside_common.messages import EnrichmentJob
from wildside_enricher.app import JOBS, EnrichArea

log = logging.getLogger(__name__)


class EnrichmentJobHandler:
    def __init__(self, use_case: EnrichArea) -> None:
        self.use_case = use_case

    async def __call__(self, msg: Msg) -> None:
        job = decode(EnrichmentJob, msg.data)
        with bind(request_id=job.request_id, job_id=job.job_id):
            await self.use_case.handle(job, attempt_of(msg))


class DeadEnrichmentJobs:
    """Called for each dead-lettered job: counted and logged; the copy stays in the DLQ."""

    async def __call__(self, payload: bytes, reason: str) -> None:
        JOBS.labels("dead_lettered").inc()
        try:
            job_id: str | None = decode(EnrichmentJob, payload).job_id
        except Exception:
            job_id = None  # malformed payload: nothing more to say about it
        log.error("enrichment job dead-lettered", extra={"job_id": job_id, "reason": reason})
