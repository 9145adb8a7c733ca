"""Ports the gateway's use cases depend on, in domain words."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from wildside_common.errors import RateLimited
from wildside_common.messages import GenerateRouteJob, RouteGenerationStatus
from wildside_common.pagination import PageParams, Window
from wildside_common.route import Route
from wildside_gateway.routes.domain.idempotency import StoredResponse
from wildside_gateway.routes.domain.routes import Cancellation, RequestSummary, RouteState
from wildside_gateway.shared.domain.principal import Principal


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """Bind `key` (per user) to the payload fingerprint and the response given."""

    key: str
    fingerprint: str
    status_code: int
    body: Mapping[str, Any]
    ttl: timedelta


@dataclass(frozen=True, slots=True)
class NewRouteRequest:
    request_id: str
    user_id: str
    payload: Mapping[str, Any]
    cache_key: str | None
    claim: IdempotencyClaim | None = None
    cached_route: Route | None = None  # a cache hit: recorded as succeeded


class Recording(Protocol):
    """An open transaction over a batch of new requests (see `RouteRequests.recording`)."""

    @property
    def recorded(self) -> frozenset[str]:
        """Ids of the requests recorded; the others' keys are held by another request,
        or their user has no account (`unknown_user`)."""
        ...

    @property
    def unknown_user(self) -> frozenset[str]:
        """Ids of the requests not recorded because their user has no account (deleted
        since the session was issued); the rest of the batch is recorded all the same."""
        ...

    async def discard(self, request_ids: Collection[str]) -> None:
        """Take these requests (and the keys they claimed) back out before the commit."""
        ...


class RouteRequests(Protocol):
    """Where route requests, their results and idempotency keys are kept."""

    def recording(self, batch: Sequence[NewRouteRequest]) -> AbstractAsyncContextManager[Recording]:
        """Insert the requests (and claim their keys) in one transaction, committed only
        if the block exits without error. A request whose key another request holds is
        not recorded (not in `recorded`); its key's response can then be read back."""
        ...

    async def get(self, request_id: str) -> RouteState | None:
        """The request's current state and result, or None when unknown or expired."""
        ...

    async def page(self, user_id: str, params: PageParams) -> Window[RequestSummary]:
        """One page of the user's unexpired requests, newest first (`created_at, id`
        descending: "next" walks to older ones)."""
        ...

    async def stored_responses(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredResponse]:
        """The responses unexpired `(user_id, key)` pairs are bound to (absent: none)."""
        ...

    async def cancel(self, request_id: str, user_id: str) -> Cancellation:
        """Store `cancelled` for the user's request if it is queued or running, in one
        step conditional on that status: a racing final write (the router's result or
        failure) and this one end in exactly one final status."""
        ...


class RouteCache(Protocol):
    async def get_many(self, keys: Sequence[str]) -> list[Route | None]:
        """Each key's cached route, or None on a miss or when the cache is unavailable."""
        ...


class RateLimiter(Protocol):
    async def acquire_many(self, user_ids: Sequence[str]) -> list[RateLimited | None]:
        """Count one route request per entry, in order; each entry's refusal (its user's
        quota is spent) or None when it may go ahead."""
        ...


@dataclass(frozen=True, slots=True)
class OutgoingJob:
    job: GenerateRouteJob
    context: contextvars.Context  # the submitting request's (its trace), not the batch's


class JobQueue(Protocol):
    async def enqueue_many(self, jobs: Sequence[OutgoingJob]) -> list[Exception | None]:
        """Hand the jobs to the bus; per job, None once the bus acknowledged it, or the
        error that kept it from doing so."""
        ...


@dataclass(frozen=True, slots=True)
class OutgoingStatus:
    status: RouteGenerationStatus
    context: contextvars.Context  # the submitting request's (its trace), not the batch's


class StatusAnnouncer(Protocol):
    async def announce(self, status: RouteGenerationStatus) -> None:
        """Publish a status event (best effort: the store holds the truth)."""
        ...

    async def announce_many(self, statuses: Sequence[OutgoingStatus]) -> int:
        """Publish the events back to back, each with its request's trace (best effort);
        returns how many could not be handed to the bus."""
        ...


class StatusUpdates(Protocol):
    """Live status events of route requests, put on the queues of those listening."""

    def listen(self, request_id: str, listener: asyncio.Queue[RouteGenerationStatus]) -> None:
        """Put `request_id`'s next events on `listener`."""
        ...

    def forget(self, request_id: str, listener: asyncio.Queue[RouteGenerationStatus]) -> None:
        """Stop putting `request_id`'s events on `listener`."""
        ...


class ThemeCatalogue(Protocol):
    async def theme_ids(self) -> frozenset[str]:
        """The known interest theme ids."""
        ...


class RouteMetrics(Protocol):
    def idempotency(self, outcome: str, user_scope: str, key_age: str) -> None:
        """Count a submission carrying an Idempotency-Key: `hit`, `miss` or `conflict`."""
        ...

    def cancel(self, outcome: str) -> None:
        """Count a cancel: `cancelled`, `already_final`, `not_found`, `invalid` or
        `rate_limited`."""
        ...


class NullRouteMetrics:
    def idempotency(self, outcome: str, user_scope: str, key_age: str) -> None:
        pass

    def cancel(self, outcome: str) -> None:
        pass


class SavedWalks(Protocol):
    """The caller's saved routes, to walk one (`walk.start` with `saved_route_id`)."""

    async def get(self, principal: Principal, saved_id: str) -> object:
        """The caller's saved route; raises NotFound for an unknown or someone else's."""
        ...


class WalkFeed(Protocol):
    """Live walks on the bus (docs/live-walk.md): positions out to the guide, its frames
    (guidance, tips, reroutes) back to the sockets of this replica that walk the request."""

    async def publish_position(
        self, request_id: str, lat: float, lng: float, accuracy_m: float, timestamp: float
    ) -> None: ...

    def listen(self, request_id: str, listener: asyncio.Queue[dict[str, Any]]) -> None: ...

    def forget(self, request_id: str, listener: asyncio.Queue[dict[str, Any]]) -> None: ...
