"""Streams, subjects and durable consumers, provisioned idempotently.

    WILDSIDE_ROUTE_JOBS       wildside.jobs.route.>          (limits, 24 h, dedup window)
    WILDSIDE_ENRICHMENT_JOBS  wildside.jobs.enrichment.>     (limits, 24 h, dedup window)
    WILDSIDE_ROUTE_STATUS     wildside.events.route.status.<request_id>   (last 20 per id)
    WILDSIDE_DEAD_LETTER      wildside.dlq.<stream>.<consumer>            (14 days)
    WILDSIDE_ADVISORIES       $JS.EVENT.ADVISORY.CONSUMER.{MAX_DELIVERIES,MSG_TERMINATED}.>

Job streams use limits retention (not work-queue) so a terminated or exhausted message
is still in the stream when the dead-letter forwarder copies it, payload and headers.
Advisories are captured in a stream, so none is lost while no forwarder runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

log = logging.getLogger(__name__)

DAY = 24 * 3600.0

ROUTE_JOBS_STREAM = "WILDSIDE_ROUTE_JOBS"
ROUTE_JOB_SUBJECT = "wildside.jobs.route.generate"
ENRICHMENT_JOBS_STREAM = "WILDSIDE_ENRICHMENT_JOBS"
ENRICHMENT_JOB_SUBJECT = "wildside.jobs.enrichment.requested"
ROUTE_STATUS_STREAM = "WILDSIDE_ROUTE_STATUS"
ROUTE_STATUS_PREFIX = "wildside.events.route.status"
DEAD_LETTER_STREAM = "WILDSIDE_DEAD_LETTER"
DEAD_LETTER_PREFIX = "wildside.dlq"
ADVISORIES_STREAM = "WILDSIDE_ADVISORIES"
MAX_DELIVERIES_ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES"
TERMINATED_ADVISORY = "$JS.EVENT.ADVISORY.CONSUMER.MSG_TERMINATED"

ROUTER_CONSUMER = "router"
ENRICHER_CONSUMER = "enricher"


def status_subject(request_id: str) -> str:
    return f"{ROUTE_STATUS_PREFIX}.{request_id}"


# Live walks (docs/live-walk.md): core NATS, no stream; positions are never persisted.
WALK_POSITION_PREFIX = "wildside.walk.position"
WALK_GUIDANCE_PREFIX = "wildside.walk.guidance"
GUIDE_QUEUE_GROUP = "wildside-guide"


def walk_position_subject(request_id: str) -> str:
    return f"{WALK_POSITION_PREFIX}.{request_id}"


def walk_guidance_subject(request_id: str) -> str:
    return f"{WALK_GUIDANCE_PREFIX}.{request_id}"


def dead_letter_subject(stream: str, consumer: str) -> str:
    return f"{DEAD_LETTER_PREFIX}.{stream}.{consumer}"


@dataclass(frozen=True, slots=True)
class WorkerPolicy:
    """Delivery policy of a job consumer."""

    ack_wait: float = 30.0
    max_deliver: int = 5
    max_ack_pending: int = 64


def _stream(
    name: str, subjects: list[str], max_age: float, replicas: int, **extra: Any
) -> StreamConfig:
    return StreamConfig(
        name=name,
        subjects=subjects,
        max_age=max_age,
        storage=StorageType.FILE,
        retention=RetentionPolicy.LIMITS,
        num_replicas=replicas,
        **extra,
    )


def streams(replicas: int = 1) -> list[StreamConfig]:
    """Every stream, each with `replicas` copies (`NATS_STREAM_REPLICAS`; 3 in production,
    docs/operations.md): durable consumers inherit the count of their stream."""
    return [
        _stream(
            ROUTE_JOBS_STREAM, ["wildside.jobs.route.>"], DAY, replicas, duplicate_window=600.0
        ),
        _stream(
            ENRICHMENT_JOBS_STREAM,
            ["wildside.jobs.enrichment.>"],
            DAY,
            replicas,
            duplicate_window=600.0,
        ),
        _stream(
            ROUTE_STATUS_STREAM,
            [f"{ROUTE_STATUS_PREFIX}.>"],
            DAY,
            replicas,
            max_msgs_per_subject=20,
            duplicate_window=120.0,
        ),
        _stream(
            DEAD_LETTER_STREAM,
            [f"{DEAD_LETTER_PREFIX}.>"],
            14 * DAY,
            replicas,
            duplicate_window=3600.0,
        ),
        _stream(
            ADVISORIES_STREAM,
            [f"{MAX_DELIVERIES_ADVISORY}.>", f"{TERMINATED_ADVISORY}.>"],
            7 * DAY,
            replicas,
        ),
    ]


def job_consumer(durable: str, subject: str, policy: WorkerPolicy) -> ConsumerConfig:
    return ConsumerConfig(
        durable_name=durable,
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=policy.ack_wait,
        max_deliver=policy.max_deliver,
        max_ack_pending=policy.max_ack_pending,
        filter_subject=subject,
    )


def dead_letter_consumer_name(stream: str, consumer: str) -> str:
    return f"dead-letter-{stream}-{consumer}"


def dead_letter_consumer(stream: str, consumer: str) -> ConsumerConfig:
    """The forwarder's durable consumer over one job consumer's advisories."""
    return ConsumerConfig(
        durable_name=dead_letter_consumer_name(stream, consumer),
        ack_policy=AckPolicy.EXPLICIT,
        deliver_policy=DeliverPolicy.ALL,
        ack_wait=30.0,
        max_deliver=10,
        filter_subjects=[
            f"{MAX_DELIVERIES_ADVISORY}.{stream}.{consumer}",
            f"{TERMINATED_ADVISORY}.{stream}.{consumer}",
        ],
    )


async def ensure_streams(js: JetStreamContext, replicas: int = 1) -> None:
    """Create every stream with `replicas` copies, or update it to this configuration
    (a changed replica count included: the server adds or removes peers). Safe to run
    again."""
    for config in streams(replicas):
        try:
            await js.stream_info(config.name or "")
        except NotFoundError:
            await js.add_stream(config=config)
            log.info("stream created", extra={"stream": config.name})
        else:
            await js.update_stream(config=config)


async def ensure_consumer(js: JetStreamContext, stream: str, config: ConsumerConfig) -> None:
    """Create the durable consumer, or update it in place. Safe to run again."""
    await js.add_consumer(stream, config=config)
