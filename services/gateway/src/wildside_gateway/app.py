"""The gateway's use cases: submit a route request, read its state."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from wildside_common.errors import NotFound
from wildside_common.messages import (
    GenerateRouteJob,
    RouteGenerationStatus,
    RouteStatus,
    utc_now,
)
from wildside_gateway.domain.principal import Principal
from wildside_gateway.domain.routes import DurationBounds, RouteState, parse_route_request
from wildside_gateway.ports import JobQueue, RouteRequests, StatusAnnouncer, ThemeCatalogue

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Accepted:
    request_id: str


class RouteService:
    def __init__(
        self,
        store: RouteRequests,
        queue: JobQueue,
        announcer: StatusAnnouncer,
        themes: ThemeCatalogue,
        bounds: DurationBounds,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.store = store
        self.queue = queue
        self.announcer = announcer
        self.themes = themes
        self.bounds = bounds
        self.clock = clock
        self.new_id = new_id

    async def submit(self, principal: Principal, body: Any) -> Accepted:
        """Validate, record and enqueue; the record is committed only once the bus acks."""
        request = parse_route_request(body, await self.themes.theme_ids(), self.bounds)
        request_id = self.new_id()
        job = GenerateRouteJob(
            request_id=request_id,
            user_id=principal.user_id,
            start=request.start,
            duration_minutes=request.duration_minutes,
            themes=request.preferences,
            submitted_at=self.clock(),
            end=request.end,
            seed=request.seed,
        )
        async with self.store.recording(request_id, principal.user_id, request.to_payload(), None):
            await self.queue.enqueue(job)
        queued = RouteGenerationStatus(request_id, RouteStatus.QUEUED, 0, self.clock())
        try:
            await self.announcer.announce(queued)
        except Exception:
            log.warning("queued event not published", exc_info=True)
        return Accepted(request_id)

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
