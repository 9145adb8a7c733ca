"""The dead-letter forwarder: advisories in, original messages out to the DLQ stream.

Max-deliveries and terminated advisories are captured in `WILDSIDE_ADVISORIES`. For
each, the forwarder fetches the original message from its stream by sequence and
publishes it, payload and headers intact, to `wildside.dlq.<stream>.<consumer>` with
the reason and origin in extra headers. `Nats-Msg-Id` makes the copy idempotent, so
any number of forwarders may run.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from wildside_common.bus.topology import (
    ADVISORIES_STREAM,
    DEAD_LETTER_CONSUMER,
    MAX_DELIVERIES_ADVISORY,
    dead_letter_subject,
)
from wildside_common.bus.worker import PullWorker, WorkerOptions
from wildside_common.errors import InvalidInput
from wildside_common.metrics import DEAD_LETTERS

log = logging.getLogger(__name__)

REASON_HEADER = "Wildside-Dead-Letter-Reason"
ORIGIN_STREAM_HEADER = "Wildside-Original-Stream"
ORIGIN_SUBJECT_HEADER = "Wildside-Original-Subject"
ORIGIN_SEQ_HEADER = "Wildside-Original-Sequence"
DELIVERIES_HEADER = "Wildside-Deliveries"


def parse_advisory(subject: str, payload: bytes) -> dict[str, Any]:
    try:
        advisory = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise InvalidInput("advisory is not JSON") from None
    if not isinstance(advisory, dict) or not {"stream", "consumer", "stream_seq"} <= advisory.keys():
        raise InvalidInput("advisory lacks stream, consumer or stream_seq")
    kind = "max_deliveries" if subject.startswith(MAX_DELIVERIES_ADVISORY) else "terminated"
    advisory["kind"] = kind
    return advisory


class DeadLetterForwarder:
    def __init__(self, js: JetStreamContext, streams: set[str]) -> None:
        """Forward dead letters of the given job streams (others are acked and left)."""
        self.js = js
        self.streams = streams

    async def handle(self, msg: Msg) -> None:
        advisory = parse_advisory(msg.subject, msg.data)
        stream = str(advisory["stream"])
        if stream not in self.streams:
            return
        seq = int(advisory["stream_seq"])
        try:
            original = await self.js.get_msg(stream, seq)
        except NotFoundError:
            log.error("dead letter lost: original expired", extra={"stream": stream, "seq": seq})
            return
        reason = advisory.get("reason") or advisory["kind"]
        headers = dict(original.headers or {})
        headers.pop("Nats-Msg-Id", None)
        headers.update({
            REASON_HEADER: str(reason)[:500],
            ORIGIN_STREAM_HEADER: stream,
            ORIGIN_SUBJECT_HEADER: str(original.subject),
            ORIGIN_SEQ_HEADER: str(seq),
            DELIVERIES_HEADER: str(advisory.get("deliveries", "")),
            "Nats-Msg-Id": f"dlq:{stream}:{seq}",
        })
        subject = dead_letter_subject(stream, str(advisory["consumer"]))
        await self.js.publish(subject, original.data or b"", headers=headers)
        DEAD_LETTERS.labels(stream, advisory["kind"]).inc()
        log.warning("dead-lettered", extra={"stream": stream, "seq": seq, "reason": reason})

    def worker(self, options: WorkerOptions | None = None) -> PullWorker:
        return PullWorker(self.js, ADVISORIES_STREAM, DEAD_LETTER_CONSUMER, "advisories",
                          self.handle, options or WorkerOptions(concurrency=2))
