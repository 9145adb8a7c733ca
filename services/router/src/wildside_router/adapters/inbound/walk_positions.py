"""Positions from core NATS `wildside.walk.position.*`, in the guide's queue group: each
position reaches one replica, which answers through the use case. Only counts are logged
and measured, never a position."""

from __future__ import annotations

import logging
import time

import orjson
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from prometheus_client import Counter

from wildside_common.bus.topology import GUIDE_QUEUE_GROUP, WALK_POSITION_PREFIX
from wildside_router.guiding import GuideWalk, parse_position

log = logging.getLogger(__name__)
POSITIONS = Counter("guide_positions_total", "Walk positions handled by the guide", ["outcome"])


class WalkPositions:
    def __init__(self, nats: Nats, use_case: GuideWalk) -> None:
        self.nats = nats
        self.use_case = use_case
        self.subscription: Subscription | None = None

    async def start(self) -> None:
        self.subscription = await self.nats.subscribe(
            f"{WALK_POSITION_PREFIX}.*", queue=GUIDE_QUEUE_GROUP, cb=self.handle
        )

    async def handle(self, msg: Msg) -> None:
        try:
            parsed = parse_position(orjson.loads(msg.data))
        except orjson.JSONDecodeError:
            parsed = None
        if parsed is None:
            POSITIONS.labels("malformed").inc()
            return
        request_id, position = parsed
        try:
            outcome = await self.use_case.on_position(request_id, position, time.time())
        except Exception:  # one bad walk must not stop the subscription
            POSITIONS.labels("error").inc()
            log.exception("guide failed on a position")
            return
        POSITIONS.labels(outcome).inc()

    async def stop(self) -> None:
        if self.subscription is not None:
            await self.subscription.unsubscribe()
            self.subscription = None
