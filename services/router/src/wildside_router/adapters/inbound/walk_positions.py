"""Positions from core NATS `wildside.walk.position.*`, in the guide's queue group: each
position reaches one replica, which answers through the use case. Only counts are logged
and measured, never a position.

nats-py hands a subscription's messages to its callback one at a time; the callback only
decodes and starts a task, so up to `concurrency` positions are guided at once (their Redis
round trips overlap). Positions of one walk are guided one after the other, in the order
they arrived (a lock per walk), so a walk's state is never read and written by two at once
in this replica; across replicas an older position is ignored as `out_of_order`."""

from __future__ import annotations

import asyncio
import logging
import time

import orjson
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from prometheus_client import Counter

from wildside_common.bus.topology import GUIDE_QUEUE_GROUP, WALK_POSITION_PREFIX
from wildside_router.domain.guide import Position
from wildside_router.guiding import GuideWalk, parse_position

log = logging.getLogger(__name__)
POSITIONS = Counter("guide_positions_total", "Walk positions handled by the guide", ["outcome"])


class WalkPositions:
    def __init__(self, nats: Nats, use_case: GuideWalk, concurrency: int = 64) -> None:
        self.nats = nats
        self.use_case = use_case
        self.subscription: Subscription | None = None
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._walks: dict[str, tuple[asyncio.Lock, int]] = {}  # lock, positions holding it

    async def start(self) -> None:
        self.subscription = await self.nats.subscribe(
            f"{WALK_POSITION_PREFIX}.*", queue=GUIDE_QUEUE_GROUP, cb=self.handle
        )
        await self.nats.flush()  # started: the server has the interest (core NATS)

    async def handle(self, msg: Msg) -> None:
        try:
            parsed = parse_position(orjson.loads(msg.data))
        except orjson.JSONDecodeError:
            parsed = None
        if parsed is None:
            POSITIONS.labels("malformed").inc()
            return
        request_id, position = parsed
        await self._slots.acquire()  # the rest waits in the subscription's queue
        lock, holders = self._walks.get(request_id) or (asyncio.Lock(), 0)
        self._walks[request_id] = (lock, holders + 1)
        task = asyncio.create_task(self._guide(request_id, position, lock))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guide(self, request_id: str, position: Position, lock: asyncio.Lock) -> None:
        try:
            async with lock:
                outcome = await self.use_case.on_position(request_id, position, time.time())
        except Exception:  # one bad walk must not stop the subscription
            POSITIONS.labels("error").inc()
            log.exception("guide failed on a position")
            return
        finally:
            self._slots.release()
            lock, holders = self._walks[request_id]
            if holders == 1:
                del self._walks[request_id]
            else:
                self._walks[request_id] = (lock, holders - 1)
        POSITIONS.labels(outcome).inc()

    async def drain(self) -> None:
        """Wait for the positions being guided."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def stop(self) -> None:
        """Stop taking positions; guide those already taken."""
        if self.subscription is not None:
            await self.subscription.drain()  # type: ignore[no-untyped-call]
            self.subscription = None
        await self.drain()
