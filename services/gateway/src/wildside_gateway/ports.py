"""Ports the gateway's use cases depend on, in domain words."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from wildside_common.messages import GenerateRouteJob, RouteGenerationStatus
from wildside_gateway.domain.idempotency import StoredResponse
from wildside_gateway.domain.principal import Principal
from wildside_gateway.domain.routes import RouteState


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
    cached_route: Mapping[str, Any] | None = None  # a cache hit: recorded as succeeded


class RouteRequests(Protocol):
    """Where route requests, their results and idempotency keys are kept."""

    def recording(self, new: NewRouteRequest) -> AbstractAsyncContextManager[None]:
        """Insert the request (and claim its key); committed only if the block exits
        without error. Raises `KeyClaimedConcurrently` when the key is already taken."""
        ...

    async def get(self, request_id: str) -> RouteState | None:
        """The request's current state and result, or None when unknown or expired."""
        ...

    async def stored_response(self, user_id: str, key: str) -> StoredResponse | None:
        """The response an unexpired key is bound to, or None."""
        ...


class RouteCache(Protocol):
    async def get(self, key: str) -> Mapping[str, Any] | None:
        """A cached route, or None on a miss or when the cache is unavailable."""
        ...


class RateLimiter(Protocol):
    async def acquire(self, user_id: str) -> None:
        """Count one route request; raises RateLimited when the user's quota is spent."""
        ...


class JobQueue(Protocol):
    async def enqueue(self, job: GenerateRouteJob) -> None:
        """Hand the job to the bus; return only once the bus has acknowledged it."""
        ...


class StatusAnnouncer(Protocol):
    async def announce(self, status: RouteGenerationStatus) -> None:
        """Publish a status event (best effort: the store holds the truth)."""
        ...


class Authenticator(Protocol):
    async def authenticate(
        self, headers: Mapping[str, str], cookies: Mapping[str, str]
    ) -> Principal:
        """The request's principal; raises Unauthorized when there is none."""
        ...


class ThemeCatalogue(Protocol):
    async def theme_ids(self) -> frozenset[str]:
        """The known interest theme ids."""
        ...
