"""One suite over the in-memory analytics and the PostHog adapter (real posthog client
against a local capture server): what is captured is delivered, batched, in order."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from wildside_common.analytics import (
    AnalyticsSettings,
    PostHogAnalytics,
    RouteFailed,
    UserLoggedIn,
    payload,
)
from wildside_common.testing.analytics import RecordingAnalytics
from wildside_common.testing.fake_posthog import FakePostHog

pytestmark = pytest.mark.contract


@pytest.fixture
def posthog() -> Iterator[FakePostHog]:
    fake = FakePostHog().start()
    yield fake
    fake.close()


def settings(url: str, flush_at: int = 3, interval: float = 0.2) -> AnalyticsSettings:
    return AnalyticsSettings("phc_test", url, flush_at, interval, 1000)


def delivered_by(fake: FakePostHog) -> list[tuple[str, str, dict[str, object]]]:
    return [
        (
            event["event"],
            event["distinct_id"],
            {k: v for k, v in event["properties"].items() if not k.startswith("$")},
        )
        for event in fake.events()
    ]


@pytest.fixture(params=["memory", "posthog"])
def pair(request, posthog):
    if request.param == "memory":
        memory = RecordingAnalytics("gateway")
        return memory, memory.delivered
    return PostHogAnalytics(settings(posthog.url), "gateway"), lambda: delivered_by(posthog)


def sample(n: int) -> list:
    user = str(uuid.uuid4())
    return [
        UserLoggedIn(user, "user") if i % 2 else RouteFailed(user, str(uuid.uuid4()), "timeout")
        for i in range(n)
    ]


async def test_captured_events_are_delivered_in_order_after_close(pair) -> None:
    analytics, delivered = pair
    events = sample(7)
    for event in events:
        analytics.capture(event)
    await analytics.close()
    expected = [(e.name, e.user_id, payload(e, "gateway")) for e in events]
    assert delivered() == expected


async def test_events_after_close_are_not_delivered(pair) -> None:
    analytics, delivered = pair
    await analytics.close()
    analytics.capture(sample(1)[0])
    await asyncio.sleep(0.3)
    assert delivered() == []


async def test_posthog_adapter_sends_batches_of_flush_at_without_waiting_for_close(
    posthog,
) -> None:
    analytics = PostHogAnalytics(settings(posthog.url, flush_at=4, interval=30), "router")
    for event in sample(8):
        analytics.capture(event)
    for _ in range(100):
        if len(posthog.events()) == 8:
            break
        await asyncio.sleep(0.05)
    assert [len(batch["batch"]) for batch in posthog.batches] == [4, 4]
    assert all(batch["api_key"] == "phc_test" for batch in posthog.batches)
    assert all(e["properties"]["$geoip_disable"] is True for e in posthog.events())
    await analytics.close()


async def test_an_unreachable_posthog_costs_the_caller_nothing(posthog) -> None:
    posthog.fail_with = 503
    analytics = PostHogAnalytics(
        settings(posthog.url, flush_at=1, interval=0.05), "gateway", close_timeout=1.0
    )
    for event in sample(20):
        analytics.capture(event)  # never raises, never waits for the network
    # Nothing was sent while the caller captured (it only queued): the sender runs in the
    # background, once the caller yields. Counted, not timed (timings flake on shared CI).
    assert posthog.requests == 0
    for _ in range(100):
        if posthog.requests:
            break
        await asyncio.sleep(0.05)
    assert posthog.requests > 0  # it did try, and met the failing server
    await asyncio.wait_for(analytics.close(), 5)  # bounded even though nothing gets through
    assert posthog.events() == []
