"""A circuit breaker per Overpass endpoint.

    closed --(N failures in a row)--> open --(cooldown)--> half_open (one probe)
    half_open --probe succeeds--> closed;  half_open --probe fails--> open (new cooldown)

Failures are server errors, gateway timeouts after retries, our own timeouts and
connection errors. An answer that is neither (a 429, a malformed body) releases a
probe without deciding. `on_change(name, old, new)` runs on every transition, so the
adapter can log it and set the state metric.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum

from wildside_common.errors import InvalidInput


class BreakerState(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"

    @property
    def level(self) -> int:
        """0 closed, 1 half open, 2 open: the value of the state metric."""
        return {"closed": 0, "half_open": 1, "open": 2}[self.value]


StateChange = Callable[[str, BreakerState, BreakerState], None]


class CircuitBreaker:
    """Consecutive-failure breaker with a cooldown and a single half-open probe."""

    def __init__(
        self,
        name: str,
        failure_threshold: int,
        cooldown: float,
        clock: Callable[[], float] = time.monotonic,
        on_change: StateChange | None = None,
    ) -> None:
        if failure_threshold < 1 or cooldown <= 0:
            raise InvalidInput("breaker: threshold must be >= 1 and cooldown > 0")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        return self._state

    def try_acquire(self) -> bool:
        """True when a request may go out now (in half-open, only the one probe)."""
        if self._state is BreakerState.CLOSED:
            return True
        if self._state is BreakerState.OPEN:
            if self._clock() - self._opened_at < self.cooldown:
                return False
            self._move(BreakerState.HALF_OPEN)
        if self._probing:
            return False
        self._probing = True
        return True

    def retry_after(self) -> float:
        """Seconds until a request may be admitted again (0 when one may go now)."""
        if self._state is BreakerState.OPEN:
            return max(0.0, self.cooldown - (self._clock() - self._opened_at))
        if self._state is BreakerState.HALF_OPEN and self._probing:
            return min(self.cooldown, 1.0)  # the probe decides soon
        return 0.0

    def success(self) -> None:
        self._failures = 0
        self._probing = False
        self._move(BreakerState.CLOSED)

    def failure(self) -> None:
        self._probing = False
        if self._state is BreakerState.HALF_OPEN:
            self._open()
            return
        self._failures += 1
        if self._state is BreakerState.CLOSED and self._failures >= self.failure_threshold:
            self._open()

    def release(self) -> None:
        """The request ended without telling whether the endpoint works."""
        self._probing = False

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._move(BreakerState.OPEN)

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if old is not new and self._on_change is not None:
            self._on_change(self.name, old, new)
