"""Test helpers: a local HTTP server that speaks Overpass's JSON, and answer builders.

`FakeOverpass` answers POSTs to /api/interpreter from a script of `Reply`s (then its
default reply), records every request (time, form data, headers) and the highest
number of requests it was serving at once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from wildside_common.testing.servers import free_port


def answer(elements: list[dict[str, Any]], remark: str | None = None) -> bytes:
    """A body shaped like a real Overpass API 0.7.62 JSON answer."""
    document: dict[str, Any] = {
        "version": 0.6,
        "generator": "Overpass API 0.7.62.1 084b4234",
        "osm3s": {
            "timestamp_osm_base": "2026-11-22T02:00:00Z",
            "copyright": "The data included in this document is from www.openstreetmap.org."
            " The data is made available under ODbL.",
        },
        "elements": elements,
    }
    if remark is not None:
        document["remark"] = remark
    return orjson.dumps(document)


def node(osm_id: int, lat: float, lon: float, **tags: str) -> dict[str, Any]:
    return {"type": "node", "id": osm_id, "lat": lat, "lon": lon, "tags": tags}


def way(osm_id: int, lat: float, lon: float, **tags: str) -> dict[str, Any]:
    return {"type": "way", "id": osm_id, "center": {"lat": lat, "lon": lon}, "tags": tags}


def relation(osm_id: int, lat: float, lon: float, **tags: str) -> dict[str, Any]:
    return {"type": "relation", "id": osm_id, "center": {"lat": lat, "lon": lon}, "tags": tags}


@dataclass
class Reply:
    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    at: float
    data: str
    headers: dict[str, str]


class FakeOverpass:
    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply(body=answer([]))
        self.script: list[Reply] = []
        self.requests: list[Seen] = []
        self.active = 0
        self.max_active = 0
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            form = await request.post()
            seen = Seen(time.monotonic(), str(form.get("data", "")), dict(request.headers))
            self.requests.append(seen)
            reply = self.script.pop(0) if self.script else self.default
            if reply.delay:
                await asyncio.sleep(reply.delay)
            body = reply.body if reply.body is not None else b'{"error": "scripted"}'
            return web.Response(
                status=reply.status, body=body, headers=reply.headers,
                content_type="application/json",
            )  # fmt: skip
        finally:
            self.active -= 1

    async def start(self, path: str = "/api/interpreter") -> None:
        app = web.Application()
        app.router.add_post(path, self.handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}{path}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def worker_env(
    database_url: str, nats_url: str, redis_url: str, redis_prefix: str, overpass_urls: str,
    **extra: str,
) -> dict[str, str]:  # fmt: skip
    """The enricher's environment for a test: fast retries, short waits, own Redis prefix."""
    env = {
        "DATABASE_URL": database_url,
        "NATS_URL": nats_url,
        "REDIS_URL": redis_url,
        "ENRICHER_REDIS_PREFIX": redis_prefix,
        "OVERPASS_URLS": overpass_urls,
        "ENRICHER_CONTACT": "tests@example.org",
        "ENRICHER_TIMEOUT_SECONDS": "5",
        "ENRICHER_HTTP_TIMEOUT_SECONDS": "5",
        "ENRICHER_ACK_WAIT_SECONDS": "5",
        "ENRICHER_HEARTBEAT_SECONDS": "1",
        "ENRICHER_DRAIN_TIMEOUT_SECONDS": "5",
        "ENRICHER_RETRY_BASE_SECONDS": "0.05",
        "ENRICHER_MAX_DELIVER": "10",
        "WILDSIDE_ENV": "test",
        "METRICS_PORT": "0",
    }
    env.update(extra)
    return env
