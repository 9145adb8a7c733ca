"""The dead-letter forwarder: advisories in, original messages out to the DLQ stream.

Max-deliveries and terminated advisories are captured in `WILDSIDE_ADVISORIES`. For
each, the forwarder fetches the original message from its stream by sequence and
publishes it, payload and headers intact, to `wildside.dlq.<stream>.<consumer>` with
the reason and origin in extra headers. `Nats-Msg-Id` makes the copy idempotent, so
any number of forwarders may run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from wildside_common.bus.topology import (
    ADVISORIES_STREAM,
    MAX_DELIVERIES_ADVISORY,
    dead_letter_consumer,
    dead_letter_consumer_name,
    dead_letter_subject,
    ensure_consumer,
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
ORIGIN_MSG_ID_HEADER = "Wildside-Original-Msg-Id"


def parse_advisory(subject: str, payload: bytes) -> dict[str, Any]:
    try:
        advisory = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise InvalidInput("advisory is not JSON") from None
    if (
        not isinstance(advisory, dict)
        or not {"stream", "consumer", "stream_seq"} <= advisory.keys()
    ):
        raise InvalidInput("advisory lacks stream, consumer or stream_seq")
    kind = "max_deliveries" if subject.startswith(MAX_DELIVERIES_ADVISORY) else "terminated"
    advisory["kind"] = kind
    return advisory


DeadLetterHook = Callable[[bytes, str], Awaitable[None]]


class DeadLetterForwarder:
    def __init__(
        self, js: JetStreamContext, stream: str, consumer: str, hook: DeadLetterHook | None = None
    ) -> None:
        """Forward the dead letters of one job consumer (`stream`, `consumer`).

        `hook(payload, reason)` runs after the copy, so the owning service can finish
        what the message stood for (e.g. mark its route request failed).
        """
        self.js = js
        self.stream = stream
        self.consumer = consumer
        self.hook = hook

    async def provision(self) -> None:
        await ensure_consumer(
            self.js, ADVISORIES_STREAM, dead_letter_consumer(self.stream, self.consumer)
        )

    async def handle(self, msg: Msg) -> None:
        advisory = parse_advisory(msg.subject, msg.data)
        stream = str(advisory["stream"])
        if stream != self.stream or advisory["consumer"] != self.consumer:
            return
        seq = int(advisory["stream_seq"])
        try:
            original = await self.js.get_msg(stream, seq)
        except NotFoundError:
            log.error("dead letter lost: original expired", extra={"stream": stream, "seq": seq})
            return
        reason = advisory.get("reason") or advisory["kind"]
        headers = dict(original.headers or {})
        # The copy needs its own de-duplication id; the original's is kept under another name.
        original_id = headers.pop("Nats-Msg-Id", None)
        if original_id:
            headers[ORIGIN_MSG_ID_HEADER] = original_id
        headers.update(
            {
                REASON_HEADER: str(reason)[:500],
                ORIGIN_STREAM_HEADER: stream,
                ORIGIN_SUBJECT_HEADER: str(original.subject),
                ORIGIN_SEQ_HEADER: str(seq),
                DELIVERIES_HEADER: str(advisory.get("deliveries", "")),
                "Nats-Msg-Id": f"dlq:{stream}:{seq}",
            }
        )
        subject = dead_letter_subject(stream, str(advisory["consumer"]))
        await self.js.publish(subject, original.data or b"", headers=headers)
        DEAD_LETTERS.labels(stream, advisory["kind"]).inc()
        log.warning("dead-lettered", extra={"stream": stream, "seq": seq, "reason": reason})
        if self.hook is not None:
            await self.hook(original.data or b"", str(reason))

    def worker(self, options: WorkerOptions | None = None) -> PullWorker:
        durable = dead_letter_consumer_name(self.stream, self.consumer)
        return PullWorker(
            self.js,
            ADVISORIES_STREAM,
            durable,
            "advisories",
            self.handle,
            options or WorkerOptions(concurrency=2),
        )
