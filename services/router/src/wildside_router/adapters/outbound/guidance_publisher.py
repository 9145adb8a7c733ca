"""Guidance frames on core NATS `wildside.walk.guidance.<request_id>` (no stream: a
gateway replica with the walker's socket forwards it; nobody replays it). Counted by
type (`guidance`, `tip`, `reroute.wanted`): how often walkers get tips and reroutes."""

from __future__ import annotations

import orjson
from nats.aio.client import Client as Nats
from prometheus_client import Counter

from wildside_common.bus.topology import walk_guidance_subject

FRAMES = Counter("guide_frames_total", "Frames the guide published, by type", ["type"])


class NatsGuidancePublisher:
    def __init__(self, nats: Nats) -> None:
        self.nats = nats

    async def publish(self, request_id: str, frame: dict[str, object]) -> None:
        await self.nats.publish(walk_guidance_subject(request_id), orjson.dumps(frame))
        FRAMES.labels(str(frame.get("type"))).inc()
