"""The Overpass API over aiohttp: politeness, retries, failover and circuit breakers.

Every request carries a descriptive `User-Agent` and a `Contact` header, waits for a
slot of the process-wide semaphore, and is counted against the shared daily budget
before it goes out (its bytes after). 429 and 504 are retried in place with jittered
exponential backoff that honours `Retry-After`; a wait longer than the configured cap
is handed back to JetStream (nak with that delay) instead of holding a slot.

Endpoints are tried in order (primary, then mirrors), skipping those whose breaker is
open. Error mapping (foreign errors never leave this module):

    200                                  -> the body (capped at maxsize bytes)
    429 (after retries)                  -> RateLimited(retry_after), next endpoint
    504, 5xx, timeout, connection error  -> breaker failure, next endpoint;
                                            Unavailable / Timeout when none is left
    400 (query refused), body > maxsize  -> InvalidInput (the job is terminated)
    every breaker open                   -> CircuitOpen(until the first may probe)
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp
from prometheus_client import Counter, Gauge

from wildside_common.errors import DomainError, InvalidInput, RateLimited, Timeout, Unavailable
from wildside_common.messages import utc_now
from wildside_enricher.domain.breaker import BreakerState, CircuitBreaker
from wildside_enricher.domain.provenance import CircuitOpen, QuotaExhausted
from wildside_enricher.ports import Fetched, RequestBudget

log = logging.getLogger(__name__)

REQUESTS = Counter(
    "wildside_overpass_requests_total", "Overpass requests by outcome", ["endpoint", "outcome"]
)
BYTES = Counter("wildside_overpass_bytes_total", "Bytes received from Overpass", ["endpoint"])
BREAKER_STATE = Gauge(
    "wildside_overpass_breaker_state",
    "Circuit breaker state per endpoint (0 closed, 1 half open, 2 open)",
    ["endpoint"],
)
RETRIED = (429, 504)


@dataclass(frozen=True, slots=True)
class OverpassSettings:
    endpoints: tuple[str, ...]
    user_agent: str
    contact: str
    max_concurrent: int = 2
    http_timeout: float = 195.0
    maxsize_bytes: int = 512 * 1024 * 1024
    retry_attempts: int = 3
    retry_base: float = 1.0
    retry_cap: float = 60.0
    breaker_failures: int = 5
    breaker_cooldown: float = 60.0


class _EndpointFailure(Exception):
    """The endpoint is failing (counts against its breaker); `error` is what callers see."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(str(error))
        self.error = error


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or utc_now())).total_seconds())


def log_breaker_change(name: str, old: BreakerState, new: BreakerState) -> None:
    """Log every breaker transition and publish it as the state metric."""
    BREAKER_STATE.labels(name).set(new.level)
    log.warning("circuit breaker state changed", extra={"endpoint": name, "from": old, "to": new})


class OverpassClient:
    """`Overpass` port over one aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        settings: OverpassSettings,
        budget: RequestBudget,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not settings.endpoints:
            raise InvalidInput("at least one Overpass endpoint is required")
        self.session = session
        self.settings = settings
        self.budget = budget
        self._sleep = sleep
        self._jitter = jitter
        self._slots = asyncio.Semaphore(settings.max_concurrent)
        self.breakers = [
            CircuitBreaker(
                url,
                settings.breaker_failures,
                settings.breaker_cooldown,
                on_change=log_breaker_change,
            )
            for url in settings.endpoints
        ]
        for breaker in self.breakers:
            BREAKER_STATE.labels(breaker.name).set(breaker.state.level)
        self._headers = {
            "User-Agent": settings.user_agent,
            "Contact": settings.contact,
            "Accept": "application/json",
        }

    async def fetch(self, ql: str) -> Fetched:
        """The first endpoint's answer that succeeds; see the module docstring for errors."""
        errors: list[DomainError] = []
        for breaker in self.breakers:
            if not breaker.try_acquire():
                continue
            try:
                body = await self._with_retries(breaker.name, ql)
            except _EndpointFailure as exc:
                breaker.failure()
                errors.append(exc.error)
                continue
            except QuotaExhausted:
                breaker.release()
                raise
            except RateLimited as exc:
                breaker.release()
                errors.append(exc)
                continue
            except BaseException:
                breaker.release()
                raise
            breaker.success()
            return Fetched(body, breaker.name, utc_now())
        raise self._give_up(errors)

    def _give_up(self, errors: Sequence[DomainError]) -> DomainError:
        waits = [breaker.retry_after() for breaker in self.breakers]
        if not errors or all(wait > 0 for wait in waits):
            wait = max(1, math.ceil(min(waits)))
            return CircuitOpen("every Overpass endpoint's circuit is open", wait)
        return errors[-1]

    async def _with_retries(self, url: str, ql: str) -> bytes:
        attempts = max(1, self.settings.retry_attempts)
        for attempt in range(1, attempts + 1):
            status, body, retry_after = await self._post(url, ql)
            if status == 200:
                return body
            if status not in RETRIED:
                raise _status_error(status, body)
            delay = max(retry_after or 0.0, self._backoff(attempt))
            if attempt == attempts or delay > self.settings.retry_cap:
                if status == 429:
                    raise RateLimited("Overpass is rate limiting us", math.ceil(delay))
                raise _EndpointFailure(Unavailable("Overpass gateway timeout", retry_after=delay))
            await self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        """Exponential from `retry_base`, with jitter in [50 %, 100 %] of the step."""
        step = min(self.settings.retry_cap, self.settings.retry_base * 2.0 ** (attempt - 1))
        return float(step * (0.5 + self._jitter() / 2))

    async def _post(self, url: str, ql: str) -> tuple[int, bytes, float | None]:
        async with self._slots:
            await self.budget.spend_request()
            try:
                async with self.session.post(
                    url,
                    data={"data": ql},
                    headers=self._headers,
                    timeout=aiohttp.ClientTimeout(total=self.settings.http_timeout),
                ) as response:
                    body = await self._read(url, response)
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    status = response.status
            except TimeoutError as exc:
                REQUESTS.labels(url, "timeout").inc()
                message = f"Overpass did not answer within {self.settings.http_timeout:g} s"
                raise _EndpointFailure(Timeout(message)) from exc
            except (aiohttp.ClientError, OSError) as exc:
                REQUESTS.labels(url, "connection_error").inc()
                raise _EndpointFailure(
                    Unavailable(f"cannot reach Overpass: {exc!r}"[:200], 1.0)
                ) from exc
        REQUESTS.labels(url, _outcome(status)).inc()
        return status, body, retry_after

    async def _read(self, url: str, response: aiohttp.ClientResponse) -> bytes:
        limit = self.settings.maxsize_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(1 << 16):
            size += len(chunk)
            if size > limit:
                await self._count_bytes(url, size)
                REQUESTS.labels(url, "too_large").inc()
                raise InvalidInput(f"Overpass answer exceeds maxsize ({limit} bytes)")
            chunks.append(chunk)
        await self._count_bytes(url, size)
        return b"".join(chunks)

    async def _count_bytes(self, url: str, size: int) -> None:
        BYTES.labels(url).inc(size)
        await self.budget.add_bytes(size)


def _outcome(status: int) -> str:
    if status == 200:
        return "ok"
    if status == 429:
        return "rate_limited"
    if status == 504:
        return "gateway_timeout"
    return "server_error" if status >= 500 else "client_error"


def _status_error(status: int, body: bytes) -> Exception:
    if status == 400:
        snippet = body[:200].decode("utf-8", "replace").replace("\n", " ")
        return InvalidInput(f"Overpass refused the query (400): {snippet}")
    # 5xx, and 403 (blocked) or another 4xx: this endpoint will not serve us; try the next.
    return _EndpointFailure(Unavailable(f"Overpass answered {status}", retry_after=1.0))
