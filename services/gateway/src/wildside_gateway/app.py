"""The gateway's use cases: submit a route request, read its state.

Submission order: idempotent replay first (a retried request is never refused), then
the user's rate limit, then the route cache (a hit is recorded as succeeded at once),
else the request is recorded and its job published in one unit: the record commits
only after JetStream has acknowledged the job.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import Counter

from wildside_common.errors import Conflict, NotFound
from wildside_common.messages import (
    GenerateRouteJob,
    RouteGenerationStatus,
    RouteStatus,
    utc_now,
)
from wildside_gateway.domain import canonical
from wildside_gateway.domain.idempotency import (
    KeyClaimedConcurrently,
    StoredResponse,
    age_bucket,
    user_scope,
)
from wildside_gateway.domain.principal import Principal
from wildside_gateway.domain.routes import (
    DurationBounds,
    RouteRequest,
    RouteState,
    parse_route_request,
)
from wildside_gateway.ports import (
    IdempotencyClaim,
    JobQueue,
    NewRouteRequest,
    RateLimiter,
    RouteCache,
    RouteRequests,
    StatusAnnouncer,
    ThemeCatalogue,
)

log = logging.getLogger(__name__)
IDEMPOTENCY = Counter(
    "wildside_idempotency_requests_total",
    "Route submissions carrying an Idempotency-Key, by outcome",
    ["outcome", "user_scope", "key_age"],
)


@dataclass(frozen=True, slots=True)
class Accepted:
    request_id: str
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class SubmissionPolicy:
    bounds: DurationBounds
    idempotency_ttl: timedelta = timedelta(hours=24)
    cache_namespace: str = "v1"
    engine_version: str = "engine-1"


class RouteService:
    def __init__(
        self,
        store: RouteRequests,
        queue: JobQueue,
        announcer: StatusAnnouncer,
        themes: ThemeCatalogue,
        policy: SubmissionPolicy,
        cache: RouteCache,
        limiter: RateLimiter,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.store = store
        self.queue = queue
        self.announcer = announcer
        self.themes = themes
        self.policy = policy
        self.cache = cache
        self.limiter = limiter
        self.clock = clock
        self.new_id = new_id

    async def submit(self, principal: Principal, body: Any, key: str | None = None) -> Accepted:
        request = parse_route_request(body, await self.themes.theme_ids(), self.policy.bounds)
        fingerprint = canonical.fingerprint(request)
        if key is not None:
            replay = await self._replay(principal, key, fingerprint)
            if replay is not None:
                return replay
        try:
            return await self._accept(principal, request, key, fingerprint)
        except KeyClaimedConcurrently:
            assert key is not None
            replay = await self._replay(principal, key, fingerprint)
            if replay is None:  # the other claim rolled back: the key is free again
                return await self._accept(principal, request, key, fingerprint)
            return replay

    async def _replay(self, principal: Principal, key: str, fingerprint: str) -> Accepted | None:
        stored = await self.store.stored_response(principal.user_id, key)
        scope = user_scope(principal.user_id)
        if stored is None:
            IDEMPOTENCY.labels("miss", scope, "new").inc()
            return None
        bucket = age_bucket(stored.created_at, self.clock())
        try:
            stored.replay_for(fingerprint)
        except Conflict:
            IDEMPOTENCY.labels("conflict", scope, bucket).inc()
            raise
        IDEMPOTENCY.labels("hit", scope, bucket).inc()
        return Accepted(stored.request_id, replayed=True)

    async def _accept(
        self, principal: Principal, request: RouteRequest, key: str | None, fingerprint: str
    ) -> Accepted:
        request_id = self.new_id()
        cache_key = canonical.cache_key(
            request, self.policy.cache_namespace, self.policy.engine_version
        )
        await self.limiter.acquire(principal.user_id)
        cached = await self.cache.get(cache_key)
        claim = None
        if key is not None:
            claim = IdempotencyClaim(
                key, fingerprint, 202, {"request_id": request_id}, self.policy.idempotency_ttl
            )
        new = NewRouteRequest(
            request_id, principal.user_id, request.to_payload(), cache_key, claim, cached
        )
        async with self.store.recording(new):
            if cached is None:
                await self.queue.enqueue(self._job(principal, request, request_id, cache_key))
        await self._announce_accepted(request_id, cached)
        return Accepted(request_id)

    def _job(
        self, principal: Principal, request: RouteRequest, request_id: str, cache_key: str
    ) -> GenerateRouteJob:
        return GenerateRouteJob(
            request_id=request_id,
            user_id=principal.user_id,
            start=request.start,
            duration_minutes=request.duration_minutes,
            themes=request.preferences,
            submitted_at=self.clock(),
            end=request.end,
            seed=request.seed,
            cache_key=cache_key,
        )

    async def _announce_accepted(self, request_id: str, cached: Mapping[str, Any] | None) -> None:
        status = RouteStatus.SUCCEEDED if cached is not None else RouteStatus.QUEUED
        event = RouteGenerationStatus(request_id, status, 100 if cached else 0, self.clock())
        try:
            await self.announcer.announce(event)
        except Exception:
            log.warning("status event not published", exc_info=True)

    async def state(self, principal: Principal, request_id: str) -> RouteState:
        """The request's state; another user's request is as unknown as a missing one."""
        try:
            uuid.UUID(request_id)
        except ValueError:
            raise NotFound("no such route request") from None
        state = await self.store.get(request_id)
        if state is None or state.user_id != principal.user_id:
            raise NotFound("no such route request")
        return state


__all__ = ["Accepted", "RouteService", "StoredResponse", "SubmissionPolicy"]
