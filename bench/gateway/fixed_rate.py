"""An open-loop load generator: POST /api/v1/routes at a fixed rate, latency per request.

Open loop (requests start on schedule whether or not earlier ones finished), so a slow
server shows as latency rather than as a quietly lower rate.
"""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


async def run(url: str, cookie: str, rate: float, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    headers = {"Cookie": f"session={cookie}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(index: int) -> None:
            nonlocal errors
            body = (
                f'{{"start":{{"lat":{60.15 + (index % 1000) / 100000:.5f},"lng":24.9384}},'
                f'"duration_minutes":60,"preferences":["history"],"seed":{index}}}'
            )
            started = time.perf_counter()
            async with session.post(
                url, data=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
            ) as response:
                await response.read()
                if response.status != 202:
                    errors += 1
            latencies.append(time.perf_counter() - started)

        tasks = []
        start = time.perf_counter()
        total = int(rate * seconds)
        for index in range(total):
            delay = start + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(index)))
        await asyncio.gather(*tasks)
    ms = [value * 1000 for value in latencies]
    return {
        "rate": rate,
        "requests": total,
        "errors": errors,
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
    }
