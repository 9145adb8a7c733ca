"""Micro-batching: concurrent calls coalesced into batches (group commit).

`MicroBatcher.submit(item)` waits for the item's result. Whatever arrives while a batch
runs waits and forms the next batch (up to `max_size` items); another batch starts
beside a running one only when a full batch is waiting or the last batch started
`overlap_after` seconds ago (it is then waiting on I/O, not on the CPU), and at most
`concurrency` run at once. There is no timer: on an idle system a call runs alone at once, and under
load the batches grow by themselves, so one database transaction, one Redis round trip
and one burst of publishes serve many requests.

The handler gets the items in arrival order and returns one result per item: a value,
or an exception to raise in that item's caller. If the handler itself raises, every
item of the batch gets that exception. A caller that stops waiting before its item is
taken is skipped; once taken, the item is processed whatever the caller does.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)
Handler = Callable[[Sequence[T]], Awaitable[Sequence[R | BaseException]]]


class MicroBatcher(Generic[T, R]):
    def __init__(
        self,
        handler: Handler[T, R],
        *,
        max_size: int = 64,
        concurrency: int = 4,
        overlap_after: float = 0.005,
    ) -> None:
        if max_size < 1 or concurrency < 1 or overlap_after < 0:
            raise ValueError("max_size and concurrency must be at least 1, overlap_after >= 0")
        self.handler = handler
        self.max_size = max_size
        self.concurrency = concurrency
        self.overlap_after = overlap_after
        self._pending: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._running = 0
        self._starting = 0  # batches started that have not taken their items yet
        self._last_start = 0.0
        self._recheck: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def waiting(self) -> int:
        return len(self._pending)

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.append((item, future))
        self._start_batches()
        return await future

    def _start_batches(self) -> None:
        # Only reserve the slots here; each batch takes its items when it starts, so the
        # calls that arrive in the same loop iteration still join it. While a batch runs,
        # another starts beside it only once a full batch is waiting or the last one
        # started `overlap_after` seconds ago: under moderate load the waiting calls form
        # one larger batch (cheaper per call) instead of several small ones, while a
        # batch that waits on I/O (a slow commit) does not hold the others back for long.
        loop = asyncio.get_running_loop()
        while self._running < self.concurrency:
            unclaimed = len(self._pending) - self._starting * self.max_size
            if unclaimed <= 0:
                return
            waited = loop.time() - self._last_start
            if self._running and unclaimed < self.max_size and waited < self.overlap_after:
                if self._recheck is None:
                    self._recheck = loop.call_later(self.overlap_after - waited, self._rechecked)
                return
            self._running += 1
            self._starting += 1
            self._last_start = loop.time()
            task = asyncio.create_task(self._run())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _rechecked(self) -> None:
        self._recheck = None
        self._start_batches()

    def _take(self) -> list[tuple[T, asyncio.Future[R]]]:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        while self._pending and len(batch) < self.max_size:
            item, future = self._pending.popleft()
            if not future.done():  # its caller gave up before the batch started
                batch.append((item, future))
        return batch

    async def _run(self) -> None:
        try:
            self._starting -= 1
            batch = self._take()
            if batch:
                await self._process(batch)
        finally:
            self._running -= 1
            self._start_batches()

    async def _process(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        results: Sequence[R | BaseException]
        try:
            results = await self.handler([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"batch handler gave {len(results)} results for {len(batch)}")
        except Exception as exc:
            log.debug("batch failed as a whole", exc_info=True)
            results = [exc] * len(batch)
        except BaseException as exc:  # cancelled: the callers must not wait forever
            for _, future in batch:
                if not future.done():
                    future.cancel()
            raise exc
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
