from __future__ import annotations

import pytest

from wildside_common.errors import InvalidInput
from wildside_enricher.domain.breaker import BreakerState, CircuitBreaker

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def make(threshold: int = 3, cooldown: float = 10.0):
    clock, changes = Clock(), []
    breaker = CircuitBreaker(
        "primary", threshold, cooldown, clock, lambda n, a, b: changes.append((n, a, b))
    )
    return breaker, clock, changes


def test_opens_after_a_run_of_failures_and_refuses_during_cooldown():
    breaker, clock, changes = make()
    for _ in range(2):
        assert breaker.try_acquire()
        breaker.failure()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.try_acquire()
    breaker.failure()
    assert breaker.state is BreakerState.OPEN
    assert changes == [("primary", BreakerState.CLOSED, BreakerState.OPEN)]
    clock.now += 4
    assert not breaker.try_acquire()
    assert breaker.retry_after() == pytest.approx(6.0)


def test_a_success_resets_the_run():
    breaker, _, _ = make()
    breaker.failure()
    breaker.failure()
    breaker.success()
    breaker.failure()
    breaker.failure()
    assert breaker.state is BreakerState.CLOSED


def test_after_cooldown_exactly_one_probe_goes_through_then_closes():
    breaker, clock, changes = make(threshold=1)
    breaker.failure()
    clock.now += 10
    assert breaker.try_acquire()
    assert breaker.state is BreakerState.HALF_OPEN
    assert not breaker.try_acquire()  # the probe is out: everyone else waits
    assert breaker.retry_after() > 0
    breaker.success()
    assert breaker.state is BreakerState.CLOSED
    assert [new for _, _, new in changes] == ["open", "half_open", "closed"]
    assert breaker.try_acquire() and breaker.try_acquire()


def test_a_failed_probe_reopens_for_a_new_cooldown():
    breaker, clock, _ = make(threshold=1)
    breaker.failure()
    clock.now += 10
    assert breaker.try_acquire()
    breaker.failure()
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_after() == pytest.approx(10.0)


def test_a_released_probe_lets_another_probe_through():
    breaker, clock, _ = make(threshold=1)
    breaker.failure()
    clock.now += 10
    assert breaker.try_acquire()
    breaker.release()
    assert breaker.try_acquire()


def test_state_levels_and_validation():
    assert [s.level for s in BreakerState] == [0, 1, 2]
    with pytest.raises(InvalidInput):
        CircuitBreaker("x", 0, 1.0)
