"""Product analytics: typed PostHog events, sent in batches off the request path.

Events are small frozen records (`RouteRequested`, `RouteGenerated`, `RouteFailed`,
`RouteCancelled`, `UserLoggedIn`, `UserSignup`, `UserSavedRoute`); each has one JSON Schema in
`schemas/analytics/` and every event carries `schema_version` and `service`. Privacy:
the distinct id is the user's opaque UUID; no names, coordinates or IP-derived location
leave the service (GeoIP is off).

`Analytics.capture` never blocks and never raises: the PostHog client queues the event
(bounded), a background task posts batches of `POSTHOG_FLUSH_AT` events or whatever is
queued every `POSTHOG_FLUSH_INTERVAL_SECONDS`, and a full queue or an unreachable
PostHog drops events (counted) instead of slowing a request. Without `POSTHOG_API_KEY`
analytics are off (`NullAnalytics`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Protocol

from prometheus_client import Counter

from wildside_common.config import EnvReader

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1
EVENTS = Counter(
    "wildside_analytics_events_total", "Product analytics events", ["event", "outcome"]
)


class ProductEvent:
    """Base of the analytics events: a PostHog event name and flat properties."""

    name: ClassVar[str]
    user_id: str

    def properties(self) -> dict[str, Any]:
        fields: dict[str, Any] = asdict(self)  # type: ignore[call-overload]
        fields.pop("user_id")
        return fields


@dataclass(frozen=True, slots=True)
class RouteRequested(ProductEvent):
    """The gateway accepted a new route request (not an idempotent replay)."""

    name: ClassVar[str] = "RouteRequested"
    user_id: str
    request_id: str
    duration_minutes: int
    themes: tuple[str, ...]
    one_way: bool
    seeded: bool
    from_cache: bool


@dataclass(frozen=True, slots=True)
class RouteGenerated(ProductEvent):
    """The router stored a route for a request."""

    name: ClassVar[str] = "RouteGenerated"
    user_id: str
    request_id: str
    requested_minutes: int
    distance_m: float
    duration_minutes: float
    poi_count: int
    themes_matched: tuple[str, ...]
    straight_line: bool
    solve_seconds: float


@dataclass(frozen=True, slots=True)
class RouteFailed(ProductEvent):
    """A route request ended failed (`reason`: timeout, invalid_request, exhausted...)."""

    name: ClassVar[str] = "RouteFailed"
    user_id: str
    request_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class RouteCancelled(ProductEvent):
    """The user cancelled a route request (`stage`: the status it had, queued or running)."""

    name: ClassVar[str] = "RouteCancelled"
    user_id: str
    request_id: str
    stage: str


@dataclass(frozen=True, slots=True)
class UserLoggedIn(ProductEvent):
    name: ClassVar[str] = "UserLoggedIn"
    user_id: str
    role: str


@dataclass(frozen=True, slots=True)
class UserSignup(ProductEvent):
    """An account was created (`source`: `signup` by the user, `admin-cli` by an operator)."""

    name: ClassVar[str] = "UserSignup"
    user_id: str
    role: str
    source: str


@dataclass(frozen=True, slots=True)
class UserSavedRoute(ProductEvent):
    """A user saved a succeeded route (not an idempotent replay; the name is not sent)."""

    name: ClassVar[str] = "UserSavedRoute"
    user_id: str
    saved_route_id: str
    request_id: str
    duration_minutes: int
    distance_m: float
    stops: int


EVENT_TYPES: tuple[type[ProductEvent], ...] = (
    RouteRequested,
    RouteGenerated,
    RouteFailed,
    RouteCancelled,
    UserLoggedIn,
    UserSignup,
    UserSavedRoute,
)


def payload(event: ProductEvent, service: str) -> dict[str, Any]:
    """The properties PostHog receives: the event's own plus the common ones."""
    properties = {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in event.properties().items()
    }
    properties["schema_version"] = SCHEMA_VERSION
    properties["service"] = service
    return properties


class Analytics(Protocol):
    def capture(self, event: ProductEvent) -> None:
        """Queue the event for sending; never blocks, never raises."""
        ...

    async def close(self) -> None:
        """Send what is queued (bounded wait) and stop."""
        ...


class NullAnalytics:
    """Analytics switched off (no API key): events are counted, nothing is sent."""

    def capture(self, event: ProductEvent) -> None:
        EVENTS.labels(event.name, "disabled").inc()

    async def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class AnalyticsSettings:
    api_key: str | None
    host: str
    flush_at: int
    flush_interval: float
    max_queue: int

    @classmethod
    def from_env(cls, env: EnvReader) -> AnalyticsSettings:
        return cls(
            api_key=env.optional("POSTHOG_API_KEY"),
            host=env.text("POSTHOG_HOST", "https://eu.i.posthog.com"),
            flush_at=env.integer("POSTHOG_FLUSH_AT", 100, minimum=1, maximum=1000),
            flush_interval=env.real("POSTHOG_FLUSH_INTERVAL_SECONDS", 5.0, minimum=0.05),
            max_queue=env.integer("POSTHOG_MAX_QUEUE", 10_000, minimum=1),
        )


class PostHogAnalytics:
    """The PostHog adapter (posthog's asyncio client: queue, batches, retries)."""

    def __init__(
        self, settings: AnalyticsSettings, service: str, close_timeout: float = 5.0
    ) -> None:
        from posthog.async_client import AsyncClient  # only when analytics are on

        self.service = service
        self.close_timeout = close_timeout
        self.client = AsyncClient(
            settings.api_key or "",
            host=settings.host,
            flush_at=settings.flush_at,
            flush_interval=settings.flush_interval,
            max_queue_size=settings.max_queue,
            disable_geoip=True,
            max_retries=2,
            timeout=5,
            on_error=self._failed,
        )

    def capture(self, event: ProductEvent) -> None:
        try:
            sent = self.client.capture(
                event.name, distinct_id=event.user_id, properties=payload(event, self.service)
            )
        except Exception:  # analytics must never break the caller
            log.debug("analytics event not queued", exc_info=True)
            sent = None
        EVENTS.labels(event.name, "queued" if sent else "dropped").inc()

    def _failed(self, error: Exception, batch: list[Mapping[str, Any]]) -> None:
        for item in batch:
            EVENTS.labels(str(item.get("event", "unknown")), "failed").inc()
        log.warning(
            "analytics batch not delivered", extra={"events": len(batch), "error": repr(error)}
        )

    async def close(self) -> None:
        """Flush and stop, waiting at most `close_timeout` (PostHog down: drop the rest)."""
        try:
            await asyncio.wait_for(self.client.shutdown(), self.close_timeout)
        except Exception:
            log.warning("analytics not flushed at shutdown; queued events dropped", exc_info=True)


def analytics_from_settings(settings: AnalyticsSettings, service: str) -> Analytics:
    if not settings.api_key:
        return NullAnalytics()
    return PostHogAnalytics(settings, service)
