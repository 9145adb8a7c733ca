"""Guidance frames on core NATS `wildside.walk.guidance.<request_id>` (no stream: a
gateway replica with the walker's socket forwards it; nobody replays it)."""

from __future__ import annotations

import orjson
from nats.aio.client import Client as Nats

from wildside_common.bus.topology import walk_guidance_subject


class NatsGuidancePublisher:
    def __init__(self, nats: Nats) -> None:
        self.nats = nats

    async def publish(self, request_id: str, frame: dict[str, object]) -> None:
        await self.nats.publish(walk_guidance_subject(request_id), orjson.dumps(frame))
