"""Ask the enricher for more places: an `EnrichmentJob` on JetStream.

The message id is derived from the area (snapped outward to a `GRID_DEGREES` grid) and
the sorted themes, so requests for the same sparse area within JetStream's duplicate
window collapse into one job. Publishing never fails the walk: it is logged and dropped.
"""

from __future__ import annotations

import hashlib
import logging
import math
import uuid
from collections.abc import Sequence

from nats.js import JetStreamContext

from wildside_common.bus.publisher import publish
from wildside_common.bus.topology import ENRICHMENT_JOB_SUBJECT
from wildside_common.errors import DomainError
from wildside_common.messages import BoundingBox, EnrichmentJob, utc_now

log = logging.getLogger(__name__)
GRID_DEGREES = 0.005


def snapped(bbox: BoundingBox, grid: float = GRID_DEGREES) -> BoundingBox:
    """`bbox` grown outward to the grid, so nearby requests name the same area."""

    def down(value: float) -> float:
        return round(math.floor(value / grid) * grid, 6)

    def up(value: float) -> float:
        return round(math.ceil(value / grid) * grid, 6)

    return BoundingBox(
        max(down(bbox.min_lat), -90.0),
        max(down(bbox.min_lng), -179.999999),
        min(up(bbox.max_lat), 90.0),
        min(up(bbox.max_lng), 180.0),
    )


def enrichment_msg_id(bbox: BoundingBox, themes: Sequence[str]) -> str:
    """The same id for the same snapped area and set of themes."""
    key = f"{bbox.min_lat:.6f},{bbox.min_lng:.6f},{bbox.max_lat:.6f},{bbox.max_lng:.6f}"
    key += "|" + ",".join(sorted(set(themes)))
    return "enrich-" + hashlib.sha256(key.encode()).hexdigest()[:32]


class NatsEnrichmentRequester:
    """`EnrichmentRequester` publishing to `ENRICHMENT_JOB_SUBJECT`."""

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self.published = 0

    async def request(
        self, bbox: BoundingBox, themes: Sequence[str], request_id: str, found: int
    ) -> None:
        """Publish one job for the snapped area (see module doc)."""
        area = snapped(bbox)
        ordered = tuple(sorted(set(themes)))
        job = EnrichmentJob(
            str(uuid.uuid4()), area, ordered, utc_now(), request_id=request_id,
            reason=f"sparse area: {found} matching places in reach",
        )  # fmt: skip
        try:
            await publish(
                self.js, ENRICHMENT_JOB_SUBJECT, job, msg_id=enrichment_msg_id(area, ordered)
            )
            self.published += 1
        except DomainError:
            log.warning("enrichment job not published", extra={"request_id": request_id})
