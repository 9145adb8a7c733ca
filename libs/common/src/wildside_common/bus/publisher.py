"""Publishing typed messages to JetStream with de-duplication and trace headers."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message to publish, with the context (trace) it belongs to."""

    subject: str
    message: Message
    msg_id: str | None
    context: contextvars.Context


async def publish_many(
    js: JetStreamContext,
    messages: Sequence[Outgoing],
    *,
    timeout: float = 2.0,
) -> list[Exception | None]:
    """Publish the messages back to back, then wait for all their acks at once: per
    message None once acknowledged, else `Unavailable`.

    One burst of publishes and one wait instead of a round trip per message; each
    message is still de-duplicated by its `msg_id`, and carries the trace of the
    context it was made in (not the batch's).
    """
    futures: list[asyncio.Future[Any] | None] = []
    for out in messages:
        try:
            headers = out.context.run(message_headers, out.message, out.msg_id)
            data = encode(out.message)
            futures.append(await js.publish_async(out.subject, data, headers=headers))
        except (NatsError, JsError, OSError):
            futures.append(None)
    waiting = [future for future in futures if future is not None]
    if waiting:
        _, late = await asyncio.wait(waiting, timeout=timeout)
        for future in late:
            future.cancel()
    return [_outcome(future) for future in futures]


def _outcome(future: asyncio.Future[Any] | None) -> Exception | None:
    if future is None or future.cancelled() or future.exception() is not None:
        return Unavailable("the message bus did not acknowledge the message")
    return None


async def publish_nowait(
    nc: Client, subject: str, message: Message, *, msg_id: str | None = None
) -> None:
    """Publish without waiting for JetStream's ack (the stream still stores it and
    de-duplicates by `msg_id`): for best-effort events whose truth lives elsewhere."""
    try:
        await nc.publish(subject, encode(message), headers=message_headers(message, msg_id))
    except (NatsError, OSError) as exc:
        raise Unavailable("the message bus is unavailable") from exc


async def publish_many_nowait(nc: Client, messages: Sequence[Outgoing]) -> int:
    """`publish_nowait` for several messages back to back (each with the trace of its own
    context); returns how many could not be handed to the client."""
    failed = 0
    for out in messages:
        try:
            headers = out.context.run(message_headers, out.message, out.msg_id)
            await nc.publish(out.subject, encode(out.message), headers=headers)
        except (NatsError, OSError):
            failed += 1
    return failed
