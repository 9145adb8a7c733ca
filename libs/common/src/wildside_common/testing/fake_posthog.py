"""A local stand-in for PostHog's capture API (`POST /batch/`), for tests.

Runs in a thread of the test process, keeps every batch it was sent (gzip or plain
JSON) and can be told to fail, so tests exercise the real posthog client end to end.
"""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakePostHog:
    def __init__(self) -> None:
        self.batches: list[dict[str, Any]] = []
        self.fail_with: int | None = None  # answer every request with this status
        self.requests = 0  # every POST received, answered or failed
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakePostHog:
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            found = [event for batch in self.batches for event in batch.get("batch", [])]
        return [event for event in found if name is None or event.get("event") == name]

    def wait_for(
        self,
        name: str,
        count: int = 1,
        timeout: float = 15.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """The events called `name` (those `where` accepts), once there are `count`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [event for event in self.events(name) if where is None or where(event)]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise TimeoutError(f"{count} {name} event(s) not received; got {len(self.events(name))}")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with fake._lock:
                    fake.requests += 1
                if fake.fail_with is not None:
                    self._answer(fake.fail_with, {"error": "failing on purpose"})
                    return
                if self.headers.get("Content-Encoding") == "gzip":
                    raw = gzip.decompress(raw)
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._answer(400, {"error": "not json"})
                    return
                if self.path.rstrip("/") != "/batch" or not isinstance(body, dict):
                    self._answer(404, {"error": f"unknown path {self.path}"})
                    return
                with fake._lock:
                    fake.batches.append(body)
                self._answer(200, {"status": 1})

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
