"""An open-loop load generator: POST /api/v1/routes at a fixed rate, latency per request.

Open loop: request i is due at start + i / rate whether or not earlier ones finished,
and its latency counts from that due time, so a slow server (or a backlog) shows as
latency rather than as a quietly lower rate. The client is lean on purpose (raw
asyncio streams on uvloop, keep-alive connections, pre-formatted requests): a general
HTTP client costs more CPU per request than the gateway does, and on a small machine
would measure itself.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import deque
from urllib.parse import urlparse

import uvloop


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))
    return ordered[index]


def request_bytes(host: str, path: str, cookie: str, index: int) -> bytes:
    body = (
        f'{{"start":{{"lat":{60.15 + (index % 1000) / 100000:.5f},"lng":24.9384}},'
        f'"duration_minutes":60,"preferences":["history"],"seed":{index}}}'
    ).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Cookie: session={cookie}\r\nIdempotency-Key: {uuid.uuid4()}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def read_response(reader: asyncio.StreamReader) -> int:
    """Reads one response; its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    if length:
        await reader.readexactly(length)
    return status


async def load(
    url: str, cookie: str, rate: float, seconds: float, warm_connections: int = 32
) -> dict[str, float]:
    parts = urlparse(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path
    total = int(rate * seconds)
    payloads = [request_bytes(f"{host}:{port}", path, cookie, i) for i in range(total)]
    latencies: list[float] = []
    errors = 0
    # FIFO: every connection is used in turn, so none sits idle long enough for the
    # server's keep-alive timeout to close it.
    idle: deque[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = deque()
    opened: list[asyncio.StreamWriter] = []
    timeline: list[tuple[float, float]] = []

    async def one(index: int, due: float) -> None:
        nonlocal errors
        status = 0
        for _ in range(2):  # a kept-alive connection the server closed: open another
            if idle:
                reader, writer = idle.popleft()
            else:
                reader, writer = await asyncio.open_connection(host, port)
                opened.append(writer)
            try:
                writer.write(payloads[index])
                status = await read_response(reader)
                break
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
                continue
        latencies.append(time.perf_counter() - due)
        timeline.append((due - start, latencies[-1]))
        if status != 202:
            errors += 1
        if status:
            idle.append((reader, writer))

    # Connections opened before the clock starts (as a client's pool would be): the
    # schedule then measures requests, not TCP and HTTP set-up.
    for _ in range(warm_connections):
        reader, writer = await asyncio.open_connection(host, port)
        opened.append(writer)
        idle.append((reader, writer))
    tasks = []
    start = time.perf_counter() + 0.05
    for index in range(total):
        due = start + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(index, due)))
    await asyncio.gather(*tasks)
    for writer in opened:
        writer.close()
    ms = [value * 1000 for value in latencies]
    worst: dict[int, float] = {}
    for offset, latency in timeline:
        second = int(offset)
        worst[second] = max(worst.get(second, 0.0), latency * 1000)
    return {
        "rate": rate,
        "requests": total,
        "errors": errors,
        "connections": len(opened),
        "p50_ms": percentile(ms, 50),
        "p95_ms": percentile(ms, 95),
        "p99_ms": percentile(ms, 99),
        "max_ms": max(ms),
        "worst_ms_per_second": [round(worst[second], 1) for second in sorted(worst)],
    }


def run(url: str, cookie: str, rate: float, seconds: float) -> dict[str, float]:
    return uvloop.run(load(url, cookie, rate, seconds))
