"""Publishing typed messages to JetStream with de-duplication and trace headers."""

from __future__ import annotations

from collections.abc import Mapping

from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.errors import Error as JsError

from wildside_common.codec import encode, schema_headers
from wildside_common.errors import Unavailable
from wildside_common.messages import Message
from wildside_common.telemetry import inject_headers


def message_headers(
    message: Message, msg_id: str | None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    headers = schema_headers(message)
    if msg_id:
        headers["Nats-Msg-Id"] = msg_id
    headers.update(extra or {})
    return inject_headers(headers)


async def publish(
    js: JetStreamContext,
    subject: str,
    message: Message,
    *,
    msg_id: str | None = None,
    timeout: float = 2.0,
) -> int:
    """Publish and wait for JetStream's ack; returns the stream sequence.

    Raises `Unavailable` when the bus does not acknowledge in time, so the caller
    can refuse the work (nothing half-written) rather than lose it.
    """
    try:
        ack = await js.publish(
            subject, encode(message), timeout=timeout, headers=message_headers(message, msg_id)
        )
    except (TimeoutError, NatsError, JsError, OSError) as exc:
        raise Unavailable("the message bus did not acknowledge the message") from exc
    return int(ack.seq)


async def publish_nowait(
    nc: Client, subject: str, message: Message, *, msg_id: str | None = None
) -> None:
    """Publish without waiting for JetStream's ack (the stream still stores it and
    de-duplicates by `msg_id`): for best-effort events whose truth lives elsewhere."""
    try:
        await nc.publish(subject, encode(message), headers=message_headers(message, msg_id))
    except (NatsError, OSError) as exc:
        raise Unavailable("the message bus is unavailable") from exc
