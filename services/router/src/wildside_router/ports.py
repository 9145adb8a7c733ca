"""Ports the router's use case depends on, in domain words."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from wildside_common.messages import GenerateRouteJob, RouteGenerationStatus, RouteStatus

Progress = Callable[[float], None]


class RouteStore(Protocol):
    """Persisted status, progress, result and error of route requests."""

    async def status_of(self, request_id: str) -> tuple[RouteStatus, str | None] | None:
        """(status, error) of a request, or None when unknown."""
        ...

    async def mark_running(self, job: GenerateRouteJob) -> bool:
        """Record an attempt; False when the request already has a final status."""
        ...

    async def set_progress(self, request_id: str, progress: int) -> None: ...

    async def save_result(self, request_id: str, route: Mapping[str, Any]) -> bool:
        """Store the result once; False when a final status was already recorded."""
        ...

    async def mark_failed(self, request_id: str, error: str) -> bool:
        """Record failure; False when a final status was already recorded."""
        ...


class StatusPublisher(Protocol):
    async def publish(self, status: RouteGenerationStatus) -> None: ...


class RoutePlanner(Protocol):
    """Computes a walk for a job (CPU-bound work runs off the event loop)."""

    async def plan(self, job: GenerateRouteJob, progress: Progress) -> Mapping[str, Any]: ...


class RouteCacheWriter(Protocol):
    async def store(self, key: str, route: Mapping[str, Any]) -> None:
        """Cache a finished route under its canonical key (never raises)."""
        ...
