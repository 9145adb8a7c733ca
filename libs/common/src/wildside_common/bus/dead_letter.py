"""The dead-letter forwarder: advisories in, original messages out to the DLQ stream.

A message that can never be handled is dead-lettered by the worker itself on its first
delivery (`bus.worker`), which then acknowledges it: no advisory, so nothing here copies
it a second time. What is left for the forwarder:

- max-deliveries advisories: a message that kept failing transiently until `max_deliver`;
- terminated advisories: a message something other than a Wildside worker terminated
  (an operator with the `nats` CLI, a worker of an older release during a rollout).

Both are captured in `WILDSIDE_ADVISORIES`. For each, the forwarder fetches the original
message from its stream by sequence and writes it, payload and headers intact, with
`bus.dlq.write_dead_letter` (the reason and origin in extra headers; `Nats-Msg-Id` makes
the copy idempotent, so any number of forwarders may run).

On nats-server 2.9 the forwarder's consumer is not filtered (2.9 ignores
`filter_subjects`), so it reads every consumer's advisories and skips the others': still
correct, only less efficient.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from wildside_common.bus.dlq import (
    CODE_HEADER,
    DELIVERIES_HEADER,
    ORIGIN_MSG_ID_HEADER,
    ORIGIN_SEQ_HEADER,
    ORIGIN_STREAM_HEADER,
    ORIGIN_SUBJECT_HEADER,
    REASON_HEADER,
    DeadLetterHook,
    Original,
    write_dead_letter,
)
from wildside_common.bus.topology import (
    ADVISORIES_STREAM,
    MAX_DELIVERIES_ADVISORY,
    dead_letter_consumer,
    dead_letter_consumer_name,
    ensure_consumer,
)
from wildside_common.bus.worker import PullWorker, WorkerOptions
from wildside_common.errors import InvalidInput

log = logging.getLogger(__name__)

__all__ = [
    "CODE_HEADER",
    "DELIVERIES_HEADER",
    "ORIGIN_MSG_ID_HEADER",
    "ORIGIN_SEQ_HEADER",
    "ORIGIN_STREAM_HEADER",
    "ORIGIN_SUBJECT_HEADER",
    "REASON_HEADER",
    "DeadLetterForwarder",
    "DeadLetterHook",
    "parse_advisory",
]


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
            stored = await self.js.get_msg(stream, seq)
        except NotFoundError:
            log.error("dead letter lost: original expired", extra={"stream": stream, "seq": seq})
            return
        deliveries = advisory.get("deliveries")
        original = Original(
            stream,
            self.consumer,
            seq,
            str(stored.subject),
            stored.data or b"",
            dict(stored.headers or {}),
            deliveries if isinstance(deliveries, int) else None,
        )
        reason = str(advisory.get("reason") or advisory["kind"])
        await write_dead_letter(self.js, original, reason, str(advisory["kind"]))
        if self.hook is not None:
            await self.hook(original.data, reason)

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
