"""In-memory fakes of the route-submission ports (kept honest by contract tests that
run the same suite against the real PostgreSQL adapter)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from wildside_common.errors import RateLimited
from wildside_common.messages import GenerateRouteJob, RouteGenerationStatus, RouteStatus
from wildside_gateway.domain.idempotency import KeyClaimedConcurrently, StoredResponse
from wildside_gateway.domain.routes import RouteState
from wildside_gateway.ports import NewRouteRequest


class FakeRouteRequests:
    def __init__(self) -> None:
        self.requests: dict[str, RouteState] = {}
        self.keys: dict[tuple[str, str], StoredResponse] = {}

    @asynccontextmanager
    async def recording(self, new: NewRouteRequest) -> AsyncIterator[None]:
        claim = new.claim
        if claim is not None and (new.user_id, claim.key) in self.keys:
            raise KeyClaimedConcurrently(claim.key)
        yield
        done = new.cached_route is not None
        self.requests[new.request_id] = RouteState(
            new.request_id,
            new.user_id,
            RouteStatus.SUCCEEDED if done else RouteStatus.QUEUED,
            100 if done else 0,
            None,
            new.cached_route,
        )
        if claim is not None:
            self.keys[(new.user_id, claim.key)] = StoredResponse(
                claim.fingerprint,
                new.request_id,
                claim.status_code,
                dict(claim.body),
                datetime.now(UTC),
            )

    async def get(self, request_id: str) -> RouteState | None:
        return self.requests.get(request_id)

    async def stored_response(self, user_id: str, key: str) -> StoredResponse | None:
        return self.keys.get((user_id, key))


class FakeQueue:
    def __init__(self, fail_with: Exception | None = None) -> None:
        self.jobs: list[GenerateRouteJob] = []
        self.fail_with = fail_with

    async def enqueue(self, job: GenerateRouteJob) -> None:
        if self.fail_with is not None:
            raise self.fail_with
        self.jobs.append(job)


class FakeAnnouncer:
    def __init__(self) -> None:
        self.events: list[RouteGenerationStatus] = []

    async def announce(self, status: RouteGenerationStatus) -> None:
        self.events.append(status)


class FakeThemes:
    async def theme_ids(self) -> frozenset[str]:
        return frozenset({"history", "art", "nature", "food"})


class FakeCache:
    def __init__(self) -> None:
        self.entries: dict[str, Mapping[str, Any]] = {}

    async def get(self, key: str) -> Mapping[str, Any] | None:
        return self.entries.get(key)


class FakeLimiter:
    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self.counts: dict[str, int] = {}

    async def acquire(self, user_id: str) -> None:
        if self.counts.get(user_id, 0) >= self.limit:
            raise RateLimited("slow down", 30)
        self.counts[user_id] = self.counts.get(user_id, 0) + 1
