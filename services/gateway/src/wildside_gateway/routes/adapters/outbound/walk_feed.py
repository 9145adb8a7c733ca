"""Live walks on core NATS (no stream): positions published on
`wildside.walk.position.<request_id>` for the guide, its frames on
`wildside.walk.guidance.<request_id>` fanned out to this replica's listeners.

Positions are never logged here (only counts, by the socket adapter)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from typing import Any

import orjson
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from wildside_common.bus.topology import WALK_GUIDANCE_PREFIX, walk_position_subject

log = logging.getLogger(__name__)
Listener = asyncio.Queue[dict[str, Any]]


class NatsWalkFeed:
    def __init__(self, nc: Client) -> None:
        self.nc = nc
        self._listeners: dict[str, set[Listener]] = defaultdict(set)
        self._subscription: Subscription | None = None

    async def start(self) -> None:
        self._subscription = await self.nc.subscribe(
            f"{WALK_GUIDANCE_PREFIX}.*", cb=self._on_message
        )
        # Started means the server has the interest: core NATS drops what is published to
        # a subject before its SUB arrives (a guidance frame answering the first position).
        await self.nc.flush()

    async def stop(self) -> None:
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            try:
                await subscription.unsubscribe()
            except Exception:
                log.debug("walk feed unsubscribe failed", exc_info=True)

    @property
    def running(self) -> bool:
        return self._subscription is not None

    async def publish_position(
        self, request_id: str, lat: float, lng: float, accuracy_m: float, timestamp: float
    ) -> None:
        frame = {
            "request_id": request_id,
            "lat": lat,
            "lng": lng,
            "accuracy_m": accuracy_m,
            "timestamp": timestamp,
        }
        await self.nc.publish(walk_position_subject(request_id), orjson.dumps(frame))

    def listen(self, request_id: str, listener: Listener) -> None:
        self._listeners[request_id].add(listener)

    def forget(self, request_id: str, listener: Listener) -> None:
        listeners = self._listeners.get(request_id)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self._listeners[request_id]

    async def _on_message(self, msg: Msg) -> None:
        request_id = msg.subject.rpartition(".")[2]
        listeners = self._listeners.get(request_id)
        if not listeners:
            return  # a walker on another replica
        try:
            frame = orjson.loads(msg.data)
        except orjson.JSONDecodeError:
            log.warning("malformed guidance frame ignored")
            return
        if not isinstance(frame, dict) or frame.get("request_id") != request_id:
            log.warning("guidance frame for another walk ignored")
            return
        for listener in tuple(listeners):
            try:
                listener.put_nowait(frame)
            except asyncio.QueueFull:
                log.warning("slow socket: guidance frame dropped")
