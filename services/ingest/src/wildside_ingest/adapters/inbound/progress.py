"""A one-line progress display on a terminal (stderr), throttled; silent elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from wildside_ingest.domain.features import ReadCounts

_INTERVAL_S = 0.2


class TerminalProgress:
    """`Progress` that rewrites one stderr line; disabled when not on a terminal."""

    def __init__(self, enabled: bool, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._phase = ""
        self._started = time.monotonic()
        self._last = 0.0

    def phase(self, name: str) -> None:
        """Show the new phase at once."""
        self._phase = name
        self._write(f"[{name}]", force=True)

    def advance(self, read: ReadCounts, pois: int, edges: int) -> None:
        """Counts so far (at most five redraws a second)."""
        self._write(
            f"[{self._phase}] {read.nodes:,} nodes, {read.ways:,} ways, "
            f"{read.relations:,} relations read; {pois:,} POIs, {edges:,} edges kept"
        )

    def close(self) -> None:
        """Clear the line."""
        if self.enabled:
            self.stream.write("\r\033[K")
            self.stream.flush()

    def _write(self, text: str, force: bool = False) -> None:
        now = time.monotonic()
        if not self.enabled or (not force and now - self._last < _INTERVAL_S):
            return
        self._last = now
        elapsed = now - self._started
        self.stream.write(f"\r\033[K{elapsed:6.1f}s {text}")
        self.stream.flush()
