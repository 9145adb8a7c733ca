"""The gateway's use cases: submit a route request, read its state.

Submission order: idempotent replay first (a retried request is never refused), then
the user's rate limit, then the route cache (a hit is recorded as succeeded at once),
else the request is recorded and its job published in one unit: the record commits
only after JetStream has acknowledged the job.

Concurrent submissions are processed in batches (group commit): one key lookup, one
rate-limit and one cache round trip to Redis, one transaction and one burst of
publishes serve the whole batch, while every rule above still holds per request. The
batching itself (which submissions form a batch, its sizes, its metric) is an adapter,
`routes.adapters.batching`, given to `RouteService` as `batching`; the use case keeps
only the rules, written over a batch because that is where the measured gain lies.
Without a batching adapter each submission is a batch of one.

Cancelling (`cancel`): the user's queued or running request is stored `cancelled` in one
conditional step (so a racing result or failure leaves exactly one final status), then
`cancelled` is announced on the bus; the router stops the job (docs/engine.md).
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Protocol

from wildside_common.analytics import Analytics, NullAnalytics, RouteCancelled, RouteRequested
from wildside_common.errors import (
    AlreadyFinal,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    Timeout,
    Unauthorized,
    Unavailable,
)
from wildside_common.inputs import canonical_uuid, new_uuid4
from wildside_common.messages import (
    GenerateRouteJob,
    RouteGenerationStatus,
    RouteStatus,
    utc_now,
)
from wildside_common.pagination import PageParams, Window
from wildside_common.route import Route
from wildside_gateway.routes.domain import canonical
from wildside_gateway.routes.domain.idempotency import (
    StoredResponse,
    age_bucket,
    user_scope,
)
from wildside_gateway.routes.domain.routes import (
    DurationBounds,
    RequestSummary,
    RouteRequest,
    RouteState,
    parse_route_request,
)
from wildside_gateway.routes.ports import (
    IdempotencyClaim,
    JobQueue,
    NewRouteRequest,
    NullRouteMetrics,
    OutgoingJob,
    OutgoingStatus,
    RateLimiter,
    RouteCache,
    RouteMetrics,
    RouteRequests,
    StatusAnnouncer,
    ThemeCatalogue,
)
from wildside_gateway.shared.domain.principal import Principal

log = logging.getLogger(__name__)
scope_of = lru_cache(maxsize=4096)(user_scope)


@dataclass(frozen=True, slots=True)
class Accepted:
    request_id: str
    replayed: bool = False
    from_cache: bool = False  # completed at once from the route cache


@dataclass(frozen=True, slots=True)
class SubmissionPolicy:
    bounds: DurationBounds
    idempotency_ttl: timedelta = timedelta(hours=24)
    cache_namespace: str = "v1"
    engine_version: str = "engine-1"
    timeout: float = 10.0  # seconds a submission may take, batching included


@dataclass(frozen=True, slots=True)
class Submission:
    principal: Principal
    request: RouteRequest
    key: str | None
    fingerprint: str
    cache_key: str
    deadline: float  # event-loop time after which it is refused, not started
    context: contextvars.Context  # the request's own (trace, log fields) for its job
    rerouted_from: str | None = None  # a live walk's reroute: the walk's id

    @property
    def user_id(self) -> str:
        return self.principal.user_id


class _Retry:
    """Outcome of a submission whose key another request holds: look the key up again
    in the next batch (that request has ended by then) and replay or refuse."""


RETRY = _Retry()
Outcome = Accepted | _Retry | BaseException


class Batches(Protocol):
    async def submit(self, item: Submission) -> Outcome:
        """The item's outcome, once the batch it joined has been processed; raises
        what failed the whole batch."""
        ...


BatchHandler = Callable[[Sequence[Submission]], Awaitable[Sequence[Outcome]]]
Batching = Callable[[BatchHandler], Batches]


class OneByOne:
    """No batching: each submission is processed as a batch of one."""

    def __init__(self, handler: BatchHandler) -> None:
        self.handler = handler

    async def submit(self, item: Submission) -> Outcome:
        (outcome,) = await self.handler([item])
        return outcome


def _too_late() -> Timeout:
    return Timeout("the request took too long; nothing was accepted")


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
        new_id: Callable[[], str] = new_uuid4,
        analytics: Analytics | None = None,
        batching: Batching = OneByOne,
        metrics: RouteMetrics | None = None,
        cancel_limiter: RateLimiter | None = None,
    ) -> None:
        self.analytics = analytics or NullAnalytics()
        self.metrics = metrics or NullRouteMetrics()
        self.store = store
        self.queue = queue
        self.announcer = announcer
        self.themes = themes
        self.policy = policy
        self.cache = cache
        self.limiter = limiter
        self.cancel_limiter = cancel_limiter  # its own quota: a cancel spends no submission
        self.clock = clock
        self.new_id = new_id
        self.batches = batching(self._process)

    async def submit(
        self,
        principal: Principal,
        body: Any,
        key: str | None = None,
        rerouted_from: str | None = None,
    ) -> Accepted:
        """Accept a route request (`rerouted_from`: submitted by a live walk's reroute on the
        walker's behalf, the walk's id, stored with the request and shown by `state`)."""
        request = parse_route_request(body, await self.themes.theme_ids(), self.policy.bounds)
        policy = self.policy
        fingerprint, cache_key = canonical.identities(
            request, policy.cache_namespace, policy.engine_version
        )
        submission = Submission(
            principal,
            request,
            key,
            fingerprint,
            cache_key,
            asyncio.get_running_loop().time() + policy.timeout,
            contextvars.copy_context(),
            rerouted_from,
        )
        while True:
            outcome = await self.batches.submit(submission)
            if isinstance(outcome, Accepted):
                if not outcome.replayed:  # its status event went out with its batch's
                    self.analytics.capture(_requested(submission, outcome))
                return outcome
            if isinstance(outcome, BaseException):
                raise outcome

    async def _process(self, batch: Sequence[Submission]) -> list[Outcome]:
        """One batch: a result per submission, in order; a failure of a shared step
        (the database, the batch's time limit) fails the whole batch, recording nothing."""
        try:
            async with asyncio.timeout(self.policy.timeout):
                outcomes = await self._process_batch(batch)
        except TimeoutError:
            raise _too_late() from None
        # Outside the time limit: what was recorded is accepted, announced or not.
        await self._announce_accepted(batch, outcomes)
        return outcomes

    async def _process_batch(self, batch: Sequence[Submission]) -> list[Outcome]:
        now = asyncio.get_running_loop().time()
        outcomes: list[Outcome | None] = [
            _too_late() if item.deadline <= now else None for item in batch
        ]
        pending = [i for i, outcome in enumerate(outcomes) if outcome is None]
        pending = await self._replays(batch, pending, outcomes)
        if pending:
            refusals = await self.limiter.acquire_many([batch[i].user_id for i in pending])
            for i, refusal in zip(pending, refusals, strict=True):
                outcomes[i] = refusal
            pending = [i for i, refusal in zip(pending, refusals, strict=True) if refusal is None]
        if pending:
            await self._record(batch, pending, outcomes)
        assert all(outcome is not None for outcome in outcomes)
        return [outcome for outcome in outcomes if outcome is not None]

    async def _replays(
        self, batch: Sequence[Submission], pending: list[int], outcomes: list[Outcome | None]
    ) -> list[int]:
        """Answers the submissions whose key is already bound; the rest go on."""
        pairs = sorted({(batch[i].user_id, key) for i in pending if (key := batch[i].key)})
        stored = await self.store.stored_responses(pairs) if pairs else {}
        fresh: list[int] = []
        claimed: set[tuple[str, str]] = set()
        for i in pending:
            item = batch[i]
            if item.key is not None:
                pair = (item.user_id, item.key)
                hit = stored.get(pair)
                if hit is not None:
                    outcomes[i] = self._replay(item, hit)
                    continue
                if pair in claimed:  # the same key earlier in this batch: replay it next
                    outcomes[i] = RETRY
                    continue
                claimed.add(pair)
                self.metrics.idempotency("miss", scope_of(item.user_id), "new")
            fresh.append(i)
        return fresh

    def _replay(self, item: Submission, stored: StoredResponse) -> Accepted | Conflict:
        scope = scope_of(item.user_id)
        bucket = age_bucket(stored.created_at, self.clock())
        try:
            stored.replay_for(item.fingerprint)
        except Conflict as exc:
            self.metrics.idempotency("conflict", scope, bucket)
            return exc
        self.metrics.idempotency("hit", scope, bucket)
        return Accepted(stored.request_id, replayed=True)

    async def _record(
        self, batch: Sequence[Submission], pending: list[int], outcomes: list[Outcome | None]
    ) -> None:
        """Records the batch's new requests and publishes their jobs in one transaction;
        a job the bus did not acknowledge is taken back out before the commit."""
        cached = await self.cache.get_many([batch[i].cache_key for i in pending])
        news = [self._new(batch[i], route) for i, route in zip(pending, cached, strict=True)]
        errors: dict[str, DomainError] = {}
        async with self.store.recording(news) as recording:
            recorded = recording.recorded
            jobs = [
                OutgoingJob(self._job(batch[i], new), batch[i].context)
                for i, new in zip(pending, news, strict=True)
                if new.request_id in recorded and new.cached_route is None
            ]
            if jobs:
                failures = await self.queue.enqueue_many(jobs)
                for outgoing, failure in zip(jobs, failures, strict=True):
                    if failure is not None:
                        errors[outgoing.job.request_id] = _as_domain_error(failure)
                if errors:
                    await recording.discard(list(errors))
        unknown_user = recording.unknown_user
        for i, new in zip(pending, news, strict=True):
            if new.request_id in unknown_user:
                outcomes[i] = Unauthorized("the session's account no longer exists")
            elif new.request_id not in recorded:
                outcomes[i] = RETRY
            elif new.request_id in errors:
                outcomes[i] = errors[new.request_id]
            else:
                outcomes[i] = Accepted(new.request_id, from_cache=new.cached_route is not None)

    def _new(self, item: Submission, cached: Route | None) -> NewRouteRequest:
        request_id = self.new_id()
        claim = None
        if item.key is not None:
            claim = IdempotencyClaim(
                item.key,
                item.fingerprint,
                202,
                {"request_id": request_id},
                self.policy.idempotency_ttl,
            )
        payload = item.request.to_payload()
        if item.rerouted_from is not None:
            payload["rerouted_from"] = item.rerouted_from
        return NewRouteRequest(request_id, item.user_id, payload, item.cache_key, claim, cached)

    def _job(self, item: Submission, new: NewRouteRequest) -> GenerateRouteJob:
        request = item.request
        return GenerateRouteJob(
            request_id=new.request_id,
            user_id=item.user_id,
            start=request.start,
            duration_minutes=request.duration_minutes,
            themes=request.preferences,
            submitted_at=self.clock(),
            end=request.end,
            seed=request.seed,
            cache_key=item.cache_key,
        )

    async def _announce_accepted(
        self, batch: Sequence[Submission], outcomes: Sequence[Outcome]
    ) -> None:
        """The batch's new requests' first events (`queued`, or `succeeded` from the route
        cache), one per request, in one burst, each with its request's trace; replays
        announce nothing (their request already was)."""
        now = self.clock()
        events = [
            OutgoingStatus(
                RouteGenerationStatus(
                    outcome.request_id,
                    RouteStatus.SUCCEEDED if outcome.from_cache else RouteStatus.QUEUED,
                    100 if outcome.from_cache else 0,
                    now,
                ),
                item.context,
            )
            for item, outcome in zip(batch, outcomes, strict=True)
            if isinstance(outcome, Accepted) and not outcome.replayed
        ]
        if not events:
            return
        try:
            failed = await self.announcer.announce_many(events)
        except Exception:
            log.warning("status events not published", exc_info=True)
            return
        if failed:
            log.warning("status events not published", extra={"count": failed})

    async def state(self, principal: Principal, request_id: str) -> RouteState:
        """The request's state; another user's request is as unknown as a missing one,
        and so is an id that is not a canonical UUID (it names no request)."""
        canonical = canonical_uuid(request_id)
        if canonical is None:
            raise NotFound("no such route request")
        state = await self.store.get(canonical)
        if state is None or state.user_id != principal.user_id:
            raise NotFound("no such route request")
        return state

    async def cancel(self, principal: Principal, request_id: str) -> RouteGenerationStatus:
        """Cancel the user's queued or running request; the `cancelled` event announced.

        A request id that is not a canonical UUID is `InvalidInput` (it names nothing);
        another user's or an unknown request `NotFound`; one that has ended `AlreadyFinal`.
        """
        canonical = canonical_uuid(request_id)
        if canonical is None:
            self.metrics.cancel("invalid")
            raise InvalidInput.field("request_id", "must be a UUID (8-4-4-4-12 hex digits)")
        if self.cancel_limiter is not None:
            (refusal,) = await self.cancel_limiter.acquire_many([principal.user_id])
            if refusal is not None:
                self.metrics.cancel("rate_limited")
                raise refusal
        found = await self.store.cancel(canonical, principal.user_id)
        if found.previous is None:
            if not found.found or found.status is None:
                self.metrics.cancel("not_found")
                raise NotFound("no such route request")
            self.metrics.cancel("already_final")
            raise AlreadyFinal(
                f"the route request has already ended ({found.status.value})",
                {"status": found.status.value},
            )
        self.metrics.cancel("cancelled")
        # A final event carries progress 100, as the router's do: the same message id, so
        # the router's own announcement of it (when it drops the job) is de-duplicated.
        event = RouteGenerationStatus(canonical, RouteStatus.CANCELLED, 100, self.clock())
        try:
            await self.announcer.announce(event)
        except Exception:
            log.warning("status event not published", exc_info=True)
        self.analytics.capture(RouteCancelled(principal.user_id, canonical, found.previous.value))
        return event

    async def requests(self, principal: Principal, params: PageParams) -> Window[RequestSummary]:
        """The caller's own requests within the retention window, newest first."""
        return await self.store.page(principal.user_id, params)


def _requested(item: Submission, accepted: Accepted) -> RouteRequested:
    request = item.request
    return RouteRequested(
        item.user_id,
        accepted.request_id,
        request.duration_minutes,
        tuple(sorted(set(request.preferences))),
        one_way=request.end is not None,
        seeded=request.seed is not None,
        from_cache=accepted.from_cache,
    )


def _as_domain_error(error: Exception) -> DomainError:
    if isinstance(error, DomainError):
        return error
    return Unavailable("the message bus did not acknowledge the job")


__all__ = ["Accepted", "RouteService", "StoredResponse", "Submission", "SubmissionPolicy"]
