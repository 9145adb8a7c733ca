"""Ports the gateway's use cases depend on, in domain words."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from wildside_common.messages import GenerateRouteJob, RouteGenerationStatus
from wildside_gateway.domain.principal import Principal
from wildside_gateway.domain.routes import RouteState


class RouteRequests(Protocol):
    """Where route requests and their results are kept."""

    def recording(
        self, request_id: str, user_id: str, payload: Mapping[str, Any], cache_key: str | None
    ) -> AbstractAsyncContextManager[None]:
        """Insert a queued request; committed only if the block exits without error."""
        ...

    async def get(self, request_id: str) -> RouteState | None:
        """The request's current state and result, or None when unknown or expired."""
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
