"""Publishes route status events to JetStream (de-duplicated per status and progress)."""

from __future__ import annotations

from nats.js import JetStreamContext

from wildside_common.bus.publisher import publish
from wildside_common.bus.topology import status_subject
from wildside_common.messages import RouteGenerationStatus


class JetStreamStatusPublisher:
    def __init__(self, js: JetStreamContext) -> None:
        self.js = js

    async def publish(self, status: RouteGenerationStatus) -> None:
        msg_id = f"status:{status.request_id}:{status.status}:{status.progress}"
        await publish(self.js, status_subject(status.request_id), status, msg_id=msg_id)
