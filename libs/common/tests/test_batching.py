"""MicroBatcher: concurrent calls coalesce into batches; results go back to their callers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from wildside_common.batching import MicroBatcher

pytestmark = pytest.mark.unit


class Recorder:
    def __init__(self, delay: float = 0.01) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay
        self.running = 0
        self.most_running = 0

    async def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        await asyncio.sleep(self.delay)
        self.running -= 1
        return [ValueError(f"odd {n}") if n % 7 == 6 else n * 10 for n in items]


async def test_each_caller_gets_its_own_result_or_error() -> None:
    batcher = MicroBatcher(Recorder(), max_size=8, concurrency=2)
    results = await asyncio.gather(*(batcher.submit(n) for n in range(30)), return_exceptions=True)
    for n, result in enumerate(results):
        if n % 7 == 6:
            assert isinstance(result, ValueError) and str(result) == f"odd {n}"
        else:
            assert result == n * 10


async def test_calls_coalesce_under_load_within_the_limits() -> None:
    handler = Recorder()
    batcher = MicroBatcher(handler, max_size=8, concurrency=2)
    await asyncio.gather(*(batcher.submit(n) for n in range(30)), return_exceptions=True)
    sizes = [len(batch) for batch in handler.batches]
    assert sum(sizes) == 30 and max(sizes) == 8 and len(sizes) < 30
    assert handler.most_running == 2
    assert sorted(n for batch in handler.batches for n in batch) == list(range(30))


async def test_an_idle_batcher_runs_a_lone_call_at_once() -> None:
    handler = Recorder(delay=0)
    batcher = MicroBatcher(handler)
    assert await asyncio.wait_for(batcher.submit(3), 1) == 30
    assert handler.batches == [[3]]


async def test_a_handler_failure_fails_its_batch_only() -> None:
    calls = 0

    async def flaky(items: Sequence[int]) -> list[int | BaseException]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        if calls == 1:
            raise ConnectionError("database down")
        return list(items)

    batcher = MicroBatcher(flaky, max_size=4, concurrency=1)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0)
    later = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3)]
    with pytest.raises(ConnectionError):
        await first
    assert await asyncio.gather(*later) == [2, 3]


async def test_a_caller_that_gave_up_before_its_batch_started_is_skipped() -> None:
    handler = Recorder(delay=0.05)
    batcher = MicroBatcher(handler, concurrency=1)
    running = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.01)
    abandoned = asyncio.ensure_future(batcher.submit(2))
    kept = asyncio.ensure_future(batcher.submit(3))
    await asyncio.sleep(0.01)
    abandoned.cancel()
    assert await running == 10 and await kept == 30
    assert handler.batches == [[1], [3]]


async def test_a_wrong_number_of_results_is_an_error_for_every_caller() -> None:
    async def short(items: Sequence[int]) -> list[int | BaseException]:
        return list(items)[:-1]

    batcher = MicroBatcher(short)
    results = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError):
        MicroBatcher(Recorder(), max_size=0)
    with pytest.raises(ValueError):
        MicroBatcher(Recorder(), concurrency=0)


async def test_a_second_batch_starts_only_when_a_full_one_is_waiting() -> None:
    handler = Recorder(delay=0.05)
    batcher = MicroBatcher(handler, max_size=4, concurrency=3, overlap_after=60)
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)  # the first batch runs
    few = [asyncio.ensure_future(batcher.submit(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0.01)
    assert handler.running == 1  # three waiting: not a full batch, they wait and join
    more = [asyncio.ensure_future(batcher.submit(n)) for n in (4, 5, 6)]
    await asyncio.sleep(0.01)
    assert handler.running == 2  # a full batch was waiting: it runs beside the first
    await asyncio.gather(first, *few, *more, return_exceptions=True)
    assert handler.batches == [[0], [1, 2, 3, 4], [5, 6]]


async def test_a_batch_waiting_long_on_io_gets_company_after_overlap_after() -> None:
    handler = Recorder(delay=0.3)
    batcher = MicroBatcher(handler, max_size=64, concurrency=4, overlap_after=0.05)
    first = asyncio.ensure_future(batcher.submit(0))
    await asyncio.sleep(0.01)
    later = [asyncio.ensure_future(batcher.submit(n)) for n in (1, 2)]
    await asyncio.sleep(0.02)
    assert handler.running == 1  # not yet: the running batch may end soon
    await asyncio.sleep(0.1)
    assert handler.running == 2  # the first is still waiting: the others go beside it
    await asyncio.gather(first, *later)
    assert handler.batches == [[0], [1, 2]]
