"""A fake Overpass API for the fault suite's enricher: it counts every call.

Each POST is answered, after `delay` seconds, with a body shaped like a real Overpass
0.7.62 JSON answer (no elements: the calls, not the POIs, are what a scenario checks).
`calls` holds (monotonic time the call arrived, bytes answered), in arrival order.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANSWER = json.dumps(
    {
        "version": 0.6,
        "generator": "Overpass API 0.7.62.1 084b4234",
        "osm3s": {
            "timestamp_osm_base": "2026-11-22T02:00:00Z",
            "copyright": "The data included in this document is from www.openstreetmap.org."
            " The data is made available under ODbL.",
        },
        "elements": [],
    }
).encode()


class FakeOverpass:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.monotonic()
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with fake._lock:
                    fake.calls.append((arrived, len(ANSWER)))
                time.sleep(fake.delay)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(ANSWER)))
                self.end_headers()
                self.wfile.write(ANSWER)

            def log_message(self, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/interpreter"

    def between(self, start: float, end: float) -> int:
        """How many calls arrived in [start, end) (monotonic seconds)."""
        return sum(1 for at, _ in self.calls if start <= at < end)


@contextlib.contextmanager
def fake_overpass(delay: float = 0.0) -> Iterator[FakeOverpass]:
    fake = FakeOverpass(delay)
    thread = threading.Thread(target=fake.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        fake.server.shutdown()
        fake.server.server_close()
