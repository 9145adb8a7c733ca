"""An in-memory `Analytics` for unit tests of use cases (kept honest by
`test_analytics_contract.py`, which runs one suite over it and the PostHog adapter)."""

from __future__ import annotations

from wildside_common.analytics import ProductEvent, payload


class RecordingAnalytics:
    def __init__(self, service: str = "test") -> None:
        self.service = service
        self.events: list[ProductEvent] = []
        self.closed = False

    def capture(self, event: ProductEvent) -> None:
        if not self.closed:
            self.events.append(event)

    async def close(self) -> None:
        self.closed = True

    def delivered(self) -> list[tuple[str, str, dict[str, object]]]:
        """(event name, distinct id, properties) as PostHog would receive them."""
        return [(e.name, e.user_id, payload(e, self.service)) for e in self.events]

    def named(self, name: str) -> list[ProductEvent]:
        return [event for event in self.events if event.name == name]
