"""Saved routes' use cases: save a succeeded route, list, read, rename, delete.

A save runs in one transaction that holds the user's save lock (`SavedRoutes.saving`):
an `Idempotency-Key` already bound is replayed first (a retried save is never refused),
then the user's rate limit, then the rules (the request is the caller's and unexpired:
else 404; it succeeded: else 409; the user has fewer than `cap` saved routes: else 409
`limit_reached`), then the copy is stored and the key bound to the response. Two saves of
one user never interleave, so neither the cap nor a key can be raced past.

Another user's saved route is as unknown as a missing one (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from wildside_common.analytics import Analytics, NullAnalytics, UserSavedRoute
from wildside_common.errors import Conflict, LimitReached, NotFound
from wildside_common.messages import RouteStatus
from wildside_common.pagination import PageParams, Window
from wildside_gateway.routes.ports import IdempotencyClaim
from wildside_gateway.saved.domain.saved import (
    DEFAULT_CAP,
    NewSavedRoute,
    SavedRoute,
    SavedRouteSummary,
    parse_rename,
    parse_save,
    parse_saved_id,
)
from wildside_gateway.saved.ports import NullSavedMetrics, SavedMetrics, SavedRoutes, SaveLimiter
from wildside_gateway.shared.domain.principal import Principal


@dataclass(frozen=True, slots=True)
class SavePolicy:
    cap: int = DEFAULT_CAP  # SAVED_ROUTES_MAX
    idempotency_ttl: timedelta = timedelta(hours=24)


@dataclass(frozen=True, slots=True)
class Saved:
    saved_id: str
    body: dict[str, Any] = field(default_factory=dict)
    replayed: bool = False


def _missing() -> NotFound:
    return NotFound("no such saved route")


class SavedRouteService:
    def __init__(
        self,
        store: SavedRoutes,
        limiter: SaveLimiter,
        policy: SavePolicy,
        analytics: Analytics | None = None,
        metrics: SavedMetrics | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.store = store
        self.limiter = limiter
        self.policy = policy
        self.analytics = analytics or NullAnalytics()
        self.metrics = metrics or NullSavedMetrics()
        self.new_id = new_id

    async def save(self, principal: Principal, body: Any, key: str | None = None) -> Saved:
        request = parse_save(body)
        fingerprint = request.fingerprint()
        user_id = principal.user_id
        async with self.store.saving(user_id) as saving:
            if key is not None:
                stored = await saving.stored_response(key)
                if stored is not None:
                    stored.replay_for(fingerprint)  # Conflict with another payload
                    self.metrics.saved("replayed")
                    return Saved(stored.request_id, dict(stored.body), replayed=True)
            (refusal,) = await self.limiter.acquire_many([user_id])
            if refusal is not None:
                raise refusal
            source = await saving.source(request.request_id)
            if source is None or source.user_id != user_id:
                self.metrics.saved("not_found")
                raise NotFound("no such route request")
            if source.status is not RouteStatus.SUCCEEDED or source.route is None:
                self.metrics.saved("not_succeeded")
                raise Conflict(
                    "only a succeeded route can be saved",
                    {"reason": "not_succeeded", "status": source.status.value},
                )
            cap = self.policy.cap
            if await saving.count() >= cap:
                self.metrics.saved("limit_reached")
                raise LimitReached(
                    f"at most {cap} saved routes per user: delete one first", {"limit": cap}
                )
            saved = await saving.insert(
                NewSavedRoute(
                    self.new_id(),
                    user_id,
                    request.request_id,
                    request.name,
                    source.payload,
                    source.route,
                )
            )
            response = saved.summary.view()
            if key is not None:
                await saving.claim(
                    saved.summary.saved_id,
                    IdempotencyClaim(
                        key,
                        fingerprint,
                        201,
                        response,
                        self.policy.idempotency_ttl,
                    ),
                )
        self.metrics.saved("saved")
        walk = saved.summary.walk
        self.analytics.capture(
            UserSavedRoute(
                user_id,
                saved.summary.saved_id,
                request.request_id,
                walk.duration_minutes,
                float(walk.distance_m or 0.0),
                int(walk.stops or 0),
            )
        )
        return Saved(saved.summary.saved_id, response)

    async def page(self, principal: Principal, params: PageParams) -> Window[SavedRouteSummary]:
        return await self.store.page(principal.user_id, params)

    async def get(self, principal: Principal, saved_id: str) -> SavedRoute:
        found = await self.store.get(principal.user_id, parse_saved_id(saved_id))
        if found is None:
            raise _missing()
        return found

    async def rename(self, principal: Principal, saved_id: str, body: Any) -> SavedRouteSummary:
        canonical = parse_saved_id(saved_id)
        name = parse_rename(body)
        renamed = await self.store.rename(principal.user_id, canonical, name)
        if renamed is None:
            raise _missing()
        return renamed

    async def delete(self, principal: Principal, saved_id: str) -> None:
        if not await self.store.delete(principal.user_id, parse_saved_id(saved_id)):
            raise _missing()
