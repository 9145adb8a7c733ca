"""In-memory fakes of the route-submission ports (kept honest by contract tests that
run the same suite against the real PostgreSQL adapter)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from wildside_common.errors import RateLimited
from wildside_common.messages import GenerateRouteJob, RouteGenerationStatus, RouteStatus
from wildside_common.pagination import (
    Direction,
    PageParams,
    Window,
    assemble,
    time_id_key,
    time_id_position,
)
from wildside_common.route import Route
from wildside_gateway.routes.domain.idempotency import StoredResponse
from wildside_gateway.routes.domain.routes import Cancellation, RequestSummary, RouteState
from wildside_gateway.routes.ports import NewRouteRequest, OutgoingJob, OutgoingStatus
from wildside_gateway.shared.domain.walks import WalkSummary


class FakeRecording:
    def __init__(self, recorded: frozenset[str], unknown_user: frozenset[str]) -> None:
        self._recorded = recorded
        self.unknown_user = unknown_user

    @property
    def recorded(self) -> frozenset[str]:
        return self._recorded

    async def discard(self, request_ids: Collection[str]) -> None:
        self._recorded = self._recorded - frozenset(request_ids)


class FakeRouteRequests:
    def __init__(self, users: set[str] | None = None) -> None:
        self.users = users  # the user ids with an account; None: every user has one
        self.requests: dict[str, RouteState] = {}
        self.keys: dict[tuple[str, str], StoredResponse] = {}
        self.batches: list[int] = []
        self.payloads: dict[str, dict] = {}
        self.created: dict[str, datetime] = {}
        self.retention = timedelta(hours=24)

    @asynccontextmanager
    async def recording(self, batch: Sequence[NewRouteRequest]) -> AsyncIterator[FakeRecording]:
        self.batches.append(len(batch))
        taken = set(self.keys)
        recordable: list[NewRouteRequest] = []
        unknown_user = frozenset(
            new.request_id
            for new in batch
            if self.users is not None and new.user_id not in self.users
        )
        for new in batch:
            if new.request_id in unknown_user:
                continue
            if new.claim is not None:
                pair = (new.user_id, new.claim.key)
                if pair in taken:
                    continue
                taken.add(pair)
            recordable.append(new)
        recording = FakeRecording(frozenset(new.request_id for new in recordable), unknown_user)
        yield recording
        for new in recordable:
            if new.request_id in recording.recorded:
                self._commit(new)

    def _commit(self, new: NewRouteRequest) -> None:
        claim = new.claim
        self.payloads[new.request_id] = dict(new.payload)
        self.created[new.request_id] = datetime.now(UTC)
        done = new.cached_route is not None
        self.requests[new.request_id] = RouteState(
            new.request_id,
            new.user_id,
            RouteStatus.SUCCEEDED if done else RouteStatus.QUEUED,
            100 if done else 0,
            None,
            new.cached_route,
            new.payload.get("rerouted_from"),
        )
        if claim is not None:
            self.keys[(new.user_id, claim.key)] = StoredResponse(
                claim.fingerprint,
                new.request_id,
                claim.status_code,
                dict(claim.body),
                datetime.now(UTC),
            )

    def _live(self, request_id: str) -> bool:
        created = self.created.get(request_id)
        return created is None or created + self.retention > datetime.now(UTC)

    async def get(self, request_id: str) -> RouteState | None:
        return self.requests.get(request_id) if self._live(request_id) else None

    async def page(self, user_id: str, params: PageParams) -> Window[RequestSummary]:
        def summary(state: RouteState) -> RequestSummary:
            payload, route = self.payloads[state.request_id], state.result
            walk = (
                WalkSummary.of(payload, None, None)
                if route is None
                else WalkSummary.with_route(payload, route)
            )
            created = self.created[state.request_id]
            return RequestSummary(state.request_id, state.status, state.progress, created, walk)

        mine = [
            summary(state)
            for state in self.requests.values()
            if state.user_id == user_id and self._live(state.request_id)
        ]
        mine.sort(key=lambda item: (item.created_at, item.request_id), reverse=True)
        at = time_id_position(params)
        if at is not None:
            stamp, last = at[0], str(at[1])
            if params.direction is Direction.PREV:
                mine = [i for i in reversed(mine) if (i.created_at, i.request_id) > (stamp, last)]
            else:
                mine = [i for i in mine if (i.created_at, i.request_id) < (stamp, last)]
        return assemble(
            mine[: params.limit + 1], params, lambda i: time_id_key(i.created_at, i.request_id)
        )

    async def stored_responses(
        self, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], StoredResponse]:
        return {pair: self.keys[pair] for pair in keys if pair in self.keys}

    async def cancel(self, request_id: str, user_id: str) -> Cancellation:
        state = self.requests.get(request_id)
        if state is None or state.user_id != user_id:
            return Cancellation(found=False)
        if state.status.final:
            return Cancellation(True, state.status)
        self.requests[request_id] = replace(state, status=RouteStatus.CANCELLED)
        return Cancellation(True, RouteStatus.CANCELLED, state.status)

    def finish(self, request_id: str, status: RouteStatus) -> None:
        """The router's final write (test set-up), conditional like its own."""
        state = self.requests[request_id]
        if not state.status.final:
            self.requests[request_id] = replace(state, status=status, progress=100)


class FakeQueue:
    def __init__(self, fail_with: Exception | None = None) -> None:
        self.jobs: list[GenerateRouteJob] = []
        self.fail_with = fail_with

    async def enqueue_many(self, jobs: Sequence[OutgoingJob]) -> list[Exception | None]:
        if self.fail_with is not None:
            return [self.fail_with] * len(jobs)
        self.jobs.extend(item.job for item in jobs)
        return [None] * len(jobs)


class FakeAnnouncer:
    def __init__(self) -> None:
        self.events: list[RouteGenerationStatus] = []
        self.bursts: list[list[OutgoingStatus]] = []  # announce_many's calls

    async def announce(self, status: RouteGenerationStatus) -> None:
        self.events.append(status)

    async def announce_many(self, statuses: Sequence[OutgoingStatus]) -> int:
        self.bursts.append(list(statuses))
        self.events.extend(out.status for out in statuses)
        return 0


class FakeThemes:
    async def theme_ids(self) -> frozenset[str]:
        return frozenset({"history", "art", "nature", "food"})


class FakeCache:
    def __init__(self) -> None:
        self.entries: dict[str, Route] = {}

    async def get_many(self, keys: Sequence[str]) -> list[Route | None]:
        return [self.entries.get(key) for key in keys]


class FakeLimiter:
    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self.counts: dict[str, int] = {}

    async def acquire_many(self, user_ids: Sequence[str]) -> list[RateLimited | None]:
        refusals: list[RateLimited | None] = []
        for user_id in user_ids:
            if self.counts.get(user_id, 0) >= self.limit:
                refusals.append(RateLimited("slow down", 30))
                continue
            self.counts[user_id] = self.counts.get(user_id, 0) + 1
            refusals.append(None)
        return refusals
