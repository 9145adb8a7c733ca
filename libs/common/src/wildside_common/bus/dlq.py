"""Writing one dead letter: the original message, payload and headers intact, to
`wildside.dlq.<stream>.<consumer>` in `WILDSIDE_DEAD_LETTER`, with its reason and origin.

Two writers share this:

- the worker, for a message it rejects on its *first* delivery (it can never be handled:
  it does not decode, breaks the schema, or the handler raised `InvalidInput` & co.), with
  the error's code and message as the reason;
- the forwarder, for a message that exhausted `max_deliver` (the max-deliveries advisory),
  or one that something else terminated (the terminated advisory).

Both set `Nats-Msg-Id: dlq:<stream>:<sequence>`, so the stream keeps one copy whoever
writes it and however often (a redelivery after a lost ack, two forwarders).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import Error as JsError

from wildside_common.bus.topology import dead_letter_subject
from wildside_common.errors import Unavailable
from wildside_common.metrics import DEAD_LETTERS

log = logging.getLogger(__name__)

REASON_HEADER = "Wildside-Dead-Letter-Reason"
CODE_HEADER = "Wildside-Dead-Letter-Code"
ORIGIN_STREAM_HEADER = "Wildside-Original-Stream"
ORIGIN_SUBJECT_HEADER = "Wildside-Original-Subject"
ORIGIN_SEQ_HEADER = "Wildside-Original-Sequence"
DELIVERIES_HEADER = "Wildside-Deliveries"
ORIGIN_MSG_ID_HEADER = "Wildside-Original-Msg-Id"
REASON_MAX = 500

# `hook(payload, reason)`: the owning service finishes what the message stood for (the
# router marks its route request failed). It may run more than once for one message.
DeadLetterHook = Callable[[bytes, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Original:
    """The message being dead-lettered and where it came from."""

    stream: str
    consumer: str
    sequence: int
    subject: str
    data: bytes
    headers: Mapping[str, str]
    deliveries: int | None = None


def header_value(text: str, limit: int = REASON_MAX) -> str:
    """`text` as one header line: control characters (a line break would end the header
    block) become spaces, and it is cut to `limit` characters."""
    line = "".join(" " if ord(char) < 32 or ord(char) == 127 else char for char in text)
    return line.strip()[:limit]


def dead_letter_headers(original: Original, reason: str, code: str | None) -> dict[str, str]:
    headers = dict(original.headers)
    # The copy needs its own de-duplication id; the original's is kept under another name.
    original_id = headers.pop("Nats-Msg-Id", None)
    if original_id:
        headers[ORIGIN_MSG_ID_HEADER] = original_id
    headers.update(
        {
            REASON_HEADER: header_value(reason) or "unknown",
            ORIGIN_STREAM_HEADER: original.stream,
            ORIGIN_SUBJECT_HEADER: original.subject,
            ORIGIN_SEQ_HEADER: str(original.sequence),
            DELIVERIES_HEADER: "" if original.deliveries is None else str(original.deliveries),
            "Nats-Msg-Id": f"dlq:{original.stream}:{original.sequence}",
        }
    )
    if code:
        headers[CODE_HEADER] = header_value(code, 100)
    return headers


async def write_dead_letter(
    js: JetStreamContext,
    original: Original,
    reason: str,
    kind: str,
    code: str | None = None,
    timeout: float = 2.0,
) -> bool:
    """Copy `original` to its dead-letter subject and wait for JetStream's ack. True when
    this call stored the copy, False when one was already there (a duplicate).

    `kind` (`rejected`, `terminated`, `max_deliveries`) labels the metric. Raises
    `Unavailable` when the bus does not acknowledge: the caller must not settle the
    original then, so it is delivered (and dead-lettered) again.
    """
    subject = dead_letter_subject(original.stream, original.consumer)
    headers = dead_letter_headers(original, reason, code)
    try:
        ack = await js.publish(subject, original.data, timeout=timeout, headers=headers)
    except (TimeoutError, NatsError, JsError, OSError) as exc:
        raise Unavailable("the dead letter was not stored") from exc
    extra = {
        "stream": original.stream,
        "consumer": original.consumer,
        "seq": original.sequence,
        "subject": original.subject,
        "deliveries": original.deliveries,
        "reason": headers[REASON_HEADER],
        "kind": kind,
    }
    if ack.duplicate:
        log.info("dead letter already stored", extra=extra)
        return False
    DEAD_LETTERS.labels(original.stream, kind).inc()
    log.warning("dead-lettered", extra=extra)
    return True
