"""Ports the router's use case depends on, in domain words."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from wildside_common.errors import InvalidInput
from wildside_common.messages import (
    BoundingBox,
    GenerateRouteJob,
    RouteGenerationStatus,
    RouteStatus,
)
from wildside_common.route import Route
from wildside_router.domain.candidates import Candidate, ReachArea
from wildside_router.domain.guide import WalkRequest, WalkState
from wildside_router.domain.network import StreetNetwork
from wildside_router.domain.tips import TipCandidate

Progress = Callable[[float], None]


class RequestNotRecorded(InvalidInput):
    """A job whose request has no row: the gateway's transaction rolled back after it
    published the job, so its walker never got the id. The same on every delivery: the
    worker dead-letters it (InvalidInput) and no status is published for it."""

    def __init__(
        self,
        message: str = "the request was never recorded",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message, details or {"reason": "not_recorded"})


class RouteStore(Protocol):
    """Persisted status, progress, result and error of route requests."""

    async def status_of(self, request_id: str) -> tuple[RouteStatus, str | None] | None:
        """(status, error) of a request, or None when unknown."""
        ...

    async def mark_running(self, job: GenerateRouteJob) -> bool:
        """Record an attempt; False when the request already has a final status
        (`cancelled` included: a job cancelled while queued never starts). Raises
        RequestNotRecorded, storing nothing, when the request has no row (the gateway's
        transaction rolled back after it published the job)."""
        ...

    async def set_progress(self, request_id: str, progress: int) -> bool:
        """Raise a running request's progress; False when it is no longer running (the
        user cancelled it, or it ended elsewhere): the job should stop."""
        ...

    async def save_result(self, request_id: str, route: Route) -> bool:
        """Store the result once; False when a final status was already recorded."""
        ...

    async def mark_failed(self, request_id: str, error: str) -> bool:
        """Record failure; False when a final status was already recorded."""
        ...


class StatusPublisher(Protocol):
    async def publish(self, status: RouteGenerationStatus) -> None: ...


class RoutePlanner(Protocol):
    """Computes a walk for a job (CPU-bound work runs off the event loop)."""

    async def plan(self, job: GenerateRouteJob, progress: Progress) -> Route: ...


class RouteCacheWriter(Protocol):
    async def store(self, key: str, route: Route) -> None:
        """Cache a finished route under its canonical key (never raises)."""
        ...


class CandidateSource(Protocol):
    """Places in the reach area, best first by a cheap prior, at most `limit`."""

    async def within(
        self, area: ReachArea, themes: Sequence[str], limit: int
    ) -> list[Candidate]: ...


class NetworkSource(Protocol):
    """The walking network as stored, and a cheap fingerprint that changes with it."""

    async def fingerprint(self) -> str: ...

    async def load(self) -> StreetNetwork | None:
        """The whole network, or None when there is none."""
        ...


class NetworkProvider(Protocol):
    """The current walking network (cached by its adapter), or None when there is none."""

    async def current(self) -> StreetNetwork | None: ...


class PlanMetrics(Protocol):
    """What planning a walk reports to monitoring."""

    def observe(self, pois_considered: int, proven_optimal: bool) -> None: ...


class EnrichmentRequester(Protocol):
    async def request(
        self, bbox: BoundingBox, themes: Sequence[str], request_id: str, found: int
    ) -> None:
        """Ask for more places in `bbox` (never raises: the walk is answered anyway)."""
        ...


class WalkRoutes(Protocol):
    async def walk_of(self, walk_id: str) -> tuple[Route, WalkRequest] | None:
        """The route and request of a walk: a succeeded, unexpired route request's, or a
        saved route's (by its id); None when there is neither."""
        ...


class TipPlaces(Protocol):
    async def near(
        self, lat: float, lng: float, radius_m: float, themes: Sequence[str], limit: int
    ) -> list[TipCandidate]:
        """Named places within `radius_m` matching one of `themes` (any theme when empty),
        nearest first, at most `limit`."""
        ...


class WalkStore(Protocol):
    """Each live walk's route, request and state, shared by every guide replica (expires an
    hour after the last position; positions are kept nowhere else)."""

    async def get(self, walk_id: str) -> tuple[str, WalkRequest, WalkState] | None:
        """(route revision, request, state): the route itself is read only when the
        replica has no plan of that revision (`route`)."""
        ...

    async def route(self, walk_id: str) -> Route | None: ...

    async def start(
        self, walk_id: str, route: Route, request: WalkRequest, state: WalkState
    ) -> str:
        """Store a walk's first state with its route and request; its route revision."""
        ...

    async def put_state(self, walk_id: str, state: WalkState) -> bool:
        """Store a walk's new state (False: the walk expired meanwhile, nothing stored)."""
        ...

    async def claim_tip(self, walk_id: str, poi_id: str) -> bool:
        """Record a tip of the walk once: False when it was given already (by another
        replica handling a position of the same walk at the same time)."""
        ...


class GuidancePublisher(Protocol):
    async def publish(self, request_id: str, frame: dict[str, object]) -> None: ...
