"""Group commit for route submissions: the batching machinery, kept out of the use case.

Why the use case still sees a batch: the measured gain of batching (one Redis round
trip for the idempotency keys, one for the rate limits and one for the route cache; one
transaction and one burst of publishes per batch) needs every step to run over the
whole batch at once, so `RouteService._process` takes a list. What stays here is
the machinery only: which submissions form a batch (`MicroBatcher`: up to `max_size`
per batch, `concurrency` batches at once; on an idle gateway a batch is one request,
processed at once) and the batch-size metric. The rules of one submission (replay,
rate limit, cache, record and publish) are read in `routes.app`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import Histogram

from wildside_common.batching import MicroBatcher

T = TypeVar("T")
R = TypeVar("R")
Handler = Callable[[Sequence[T]], Awaitable[Sequence[R]]]

BATCH_SIZE = Histogram(
    "wildside_submission_batch_size",
    "Route submissions processed together in one batch",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)


class MicroBatches(Generic[T, R]):
    """Submits each item to `handler` together with the items that arrive beside it."""

    def __init__(self, handler: Handler[T, R], max_size: int, concurrency: int) -> None:
        self.handler = handler
        self.batcher: MicroBatcher[T, R] = MicroBatcher(
            self._observed, max_size=max_size, concurrency=concurrency
        )

    async def _observed(self, batch: Sequence[T]) -> Sequence[R]:
        BATCH_SIZE.observe(len(batch))
        return await self.handler(batch)

    async def submit(self, item: T) -> R:
        return await self.batcher.submit(item)


class MicroBatching:
    """The batching a `RouteService` is built with (`SUBMIT_BATCH_MAX`,
    `SUBMIT_BATCH_CONCURRENCY`)."""

    def __init__(self, max_size: int = 64, concurrency: int = 4) -> None:
        self.max_size = max_size
        self.concurrency = concurrency

    def __call__(self, handler: Handler[T, R]) -> MicroBatches[T, R]:
        return MicroBatches(handler, self.max_size, self.concurrency)
