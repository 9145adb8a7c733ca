"""What the bus contract tests share: worker options that fail fast, a valid job, and
the type of the `make_queue` fixture (conftest.py: a job stream and consumer of one test)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from wildside_common.bus.topology import WorkerPolicy
from wildside_common.bus.worker import WorkerOptions
from wildside_common.messages import BoundingBox, EnrichmentJob

MakeQueue = Callable[[WorkerPolicy], Awaitable[Any]]
FAST = WorkerOptions(concurrency=2, heartbeat_interval=5.0, fetch_timeout=0.2, drain_timeout=5.0)


def a_job() -> EnrichmentJob:
    return EnrichmentJob(
        job_id=str(uuid.uuid4()),
        bbox=BoundingBox(60.16, 24.93, 60.18, 24.96),
        themes=("art",),
        requested_at=datetime.now(UTC),
    )
