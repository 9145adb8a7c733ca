"""JetStream adapters: the job queue, status announcements and the status fan-out feed."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import DeliverPolicy
from opentelemetry import trace

from wildside_common.bus.publisher import (
    Outgoing,
    publish_many,
    publish_many_nowait,
    publish_nowait,
)
from wildside_common.bus.topology import (
    ROUTE_JOB_SUBJECT,
    ROUTE_STATUS_PREFIX,
    ROUTE_STATUS_STREAM,
    status_subject,
)
from wildside_common.codec import decode
from wildside_common.errors import InvalidInput
from wildside_common.messages import RouteGenerationStatus
from wildside_common.telemetry import extract_context, tracer
from wildside_gateway.routes.ports import OutgoingJob, OutgoingStatus

log = logging.getLogger(__name__)


class JetStreamJobQueue:
    def __init__(self, js: JetStreamContext, timeout: float = 2.0) -> None:
        self.js = js
        self.timeout = timeout

    async def enqueue_many(self, jobs: Sequence[OutgoingJob]) -> list[Exception | None]:
        messages = [
            Outgoing(ROUTE_JOB_SUBJECT, item.job, f"route-job:{item.job.request_id}", item.context)
            for item in jobs
        ]
        return await publish_many(self.js, messages, timeout=self.timeout)


class JetStreamStatusAnnouncer:
    """Announces `queued` (and cache-hit `succeeded`) events without waiting for the ack:
    the database already holds the status, and a socket reads it on subscribing."""

    def __init__(self, nc: Client) -> None:
        self.nc = nc

    async def announce(self, status: RouteGenerationStatus) -> None:
        await publish_nowait(
            self.nc, status_subject(status.request_id), status, msg_id=_msg_id(status)
        )

    async def announce_many(self, statuses: Sequence[OutgoingStatus]) -> int:
        """One burst for a batch's events (the client writes them out together)."""
        messages = [
            Outgoing(
                status_subject(out.status.request_id), out.status, _msg_id(out.status), out.context
            )
            for out in statuses
        ]
        return await publish_many_nowait(self.nc, messages)


def _msg_id(status: RouteGenerationStatus) -> str:
    return f"status:{status.request_id}:{status.status}:{status.progress}"


Listener = asyncio.Queue[RouteGenerationStatus]


class StatusFeed:
    """Fans status events out to this process's subscribers, by request id.

    One ordered JetStream consumer per gateway replica sees every new event; each
    replica forwards only those its own sockets asked for.
    """

    def __init__(self, js: JetStreamContext) -> None:
        self.js = js
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._subscription: object | None = None
        self._tracer = tracer("wildside.gateway.status_feed")

    async def start(self) -> None:
        self._subscription = await self.js.subscribe(
            f"{ROUTE_STATUS_PREFIX}.>",
            stream=ROUTE_STATUS_STREAM,
            cb=self._on_message,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.NEW,
            idle_heartbeat=5.0,
        )

    async def stop(self) -> None:
        subscription = self._subscription
        self._subscription = None
        if subscription is not None:
            try:
                await subscription.unsubscribe()  # type: ignore[attr-defined]
            except Exception:
                log.debug("status feed unsubscribe failed", exc_info=True)

    @property
    def running(self) -> bool:
        return self._subscription is not None

    def listen(self, request_id: str, listener: Listener) -> None:
        self._listeners[request_id].add(listener)

    def forget(self, request_id: str, listener: Listener) -> None:
        listeners = self._listeners.get(request_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[request_id]

    async def _on_message(self, msg: Msg) -> None:
        # Most events concern sockets of other replicas (or none): skip them unread.
        if msg.subject.rpartition(".")[2] not in self._listeners:
            return
        # The event's span joins the request's trace (its traceparent came from the router).
        with self._tracer.start_as_current_span(
            "fan-out route status",
            context=extract_context(msg.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.destination": msg.subject},
        ):
            try:
                status = decode(RouteGenerationStatus, msg.data)
            except InvalidInput:
                log.warning("malformed status event ignored", extra={"subject": msg.subject})
                return
            self.dispatch(status)

    def dispatch(self, status: RouteGenerationStatus) -> None:
        for listener in tuple(self._listeners.get(status.request_id, ())):
            try:
                listener.put_nowait(status)
            except asyncio.QueueFull:
                log.warning(
                    "slow socket: status event dropped", extra={"request_id": status.request_id}
                )
