"""A pull-consumer loop: bounded concurrency, heartbeats, one ack mapping, graceful drain.

For each message: extract the trace context from its headers, open a span, run the
handler while an `in_progress()` heartbeat keeps extending the ack wait, then map the
outcome with `transport.jetstream.disposition_for` to ack / dead letter / nak(delay).
`run()` returns once `stop` is set and every in-flight message has been settled.

A message that can never be handled (TERM: it does not decode, breaks its schema, or
the handler raised InvalidInput, NotFound, ...) is dead-lettered here, on its first
delivery: the worker writes the copy with the error's code and message
(`bus.dlq.write_dead_letter`), runs the owner's hook, then *acknowledges* it. Why not
`+TERM <reason>` and let the forwarder copy it from the terminated advisory:

- nats-server before 2.10 does not know `+TERM <reason>`: 2.9.10 (Debian's, the system
  server on our machines) ignores the whole acknowledgement, so the message came back
  after every ack wait until `max_deliver`, then was dead-lettered as `max_deliveries`,
  its real reason lost. A plain `+TERM` works there but its advisory has no reason.
- Written by the worker, the reason is the same on every server, the copy exists before
  the message is settled, and an ack raises no advisory, so the forwarder never makes a
  second copy. It still copies what exhausts `max_deliver` (transient failures).

If the copy cannot be stored (the bus does not acknowledge it) or the hook fails, the
message is nak'ed with backoff instead: delivered again, it is dead-lettered again
(`Nats-Msg-Id` keeps one copy) and the hook runs again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js import JetStreamContext
from opentelemetry import trace

from wildside_common.bus.dlq import DeadLetterHook, Original, write_dead_letter
from wildside_common.errors import DomainError
from wildside_common.logs import bind
from wildside_common.metrics import JOB_DURATION, JOBS_HANDLED, JOBS_IN_FLIGHT
from wildside_common.telemetry import extract_context, tracer
from wildside_common.transport.jetstream import Action, Disposition, backoff, disposition_for

log = logging.getLogger(__name__)

Handler = Callable[[Msg], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class WorkerOptions:
    concurrency: int = 4
    heartbeat_interval: float = 10.0
    fetch_timeout: float = 1.0
    drain_timeout: float = 30.0


def attempt_of(msg: Msg) -> int:
    """Delivery count of a JetStream message (1 on first delivery)."""
    try:
        return int(msg.metadata.num_delivered)
    except Exception:
        return 1


async def settle(msg: Msg, outcome: Disposition) -> None:
    """Send the ack or delayed nak for one message. TERM means the worker has already
    dead-lettered it: it is acknowledged (see the module docstring), never `+TERM`."""
    if outcome.action is Action.NAK:
        await msg.nak(delay=outcome.delay)
    else:
        await msg.ack()


class PullWorker:
    """Consumes one durable pull consumer with a handler."""

    def __init__(
        self,
        js: JetStreamContext,
        stream: str,
        durable: str,
        subject: str,
        handler: Handler,
        options: WorkerOptions | None = None,
        on_dead_letter: DeadLetterHook | None = None,
    ) -> None:
        """`on_dead_letter(payload, reason)` runs for each message this worker
        dead-letters, after the copy is stored (the owner finishes what it stood for)."""
        self.js = js
        self.stream = stream
        self.durable = durable
        self.subject = subject
        self.handler = handler
        self.options = options or WorkerOptions()
        self.on_dead_letter = on_dead_letter
        self._slots = asyncio.Semaphore(self.options.concurrency)
        self._tasks: set[asyncio.Task[None]] = set()
        self._tracer = tracer(f"wildside.worker.{durable}")
        self.running = False

    async def run(self, stop: asyncio.Event) -> None:
        subscription = await self.js.pull_subscribe_bind(self.durable, stream=self.stream)
        self.running = True
        try:
            while not stop.is_set():
                free = self._free_slots()
                if free == 0:
                    await asyncio.sleep(0.01)
                    continue
                try:
                    batch = await subscription.fetch(free, timeout=self.options.fetch_timeout)
                except (NatsTimeout, TimeoutError):
                    continue
                except (NatsError, OSError) as exc:
                    log.warning("fetch failed", extra={"error": repr(exc)})
                    await asyncio.sleep(1.0)
                    continue
                for msg in batch:
                    await self._slots.acquire()
                    task = asyncio.create_task(self._process(msg))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
        finally:
            self.running = False
            await self._drain()
            with contextlib.suppress(Exception):
                await subscription.unsubscribe()

    def _free_slots(self) -> int:
        return max(0, self.options.concurrency - len(self._tasks))

    async def _drain(self) -> None:
        if self._tasks:
            log.info("draining in-flight messages", extra={"count": len(self._tasks)})
            await asyncio.wait(set(self._tasks), timeout=self.options.drain_timeout)

    async def _process(self, msg: Msg) -> None:
        attempt = attempt_of(msg)
        started = time.perf_counter()
        JOBS_IN_FLIGHT.labels(self.durable).inc()
        parent = extract_context(msg.headers)
        try:
            with (
                self._tracer.start_as_current_span(
                    f"process {self.subject}",
                    context=parent,
                    kind=trace.SpanKind.CONSUMER,
                    attributes={
                        "messaging.system": "nats",
                        "messaging.destination": msg.subject,
                        "messaging.delivery_attempt": attempt,
                    },
                ) as span,
                bind(consumer=self.durable),
            ):
                # The heartbeat runs until the message is settled: dead-lettering (a
                # JetStream write, then the service's hook) can outlast the ack wait too.
                heartbeat = asyncio.create_task(self._heartbeat(msg))
                try:
                    error = await self._run_handler(msg)
                    outcome = disposition_for(error, attempt)
                    if outcome.action is Action.TERM:
                        outcome = await self._dead_letter(msg, outcome, error, attempt)
                finally:
                    heartbeat.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await heartbeat
                span.set_attribute("wildside.outcome", outcome.action.value)
                self._log_outcome(msg, outcome, attempt, error)
                await settle(msg, outcome)
            JOBS_HANDLED.labels(self.durable, outcome.action.value).inc()
        except Exception:
            log.exception("could not settle message")
        finally:
            JOB_DURATION.labels(self.durable).observe(time.perf_counter() - started)
            JOBS_IN_FLIGHT.labels(self.durable).dec()
            self._slots.release()

    async def _run_handler(self, msg: Msg) -> BaseException | None:
        try:
            await self.handler(msg)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return exc
        return None

    async def _dead_letter(
        self, msg: Msg, outcome: Disposition, error: BaseException | None, attempt: int
    ) -> Disposition:
        """Store the dead letter and run the hook: TERM (then ack) once both are done,
        else a nak with backoff, so the next delivery tries again."""
        metadata = msg.metadata
        original = Original(
            self.stream,
            self.durable,
            int(metadata.sequence.stream),
            msg.subject,
            msg.data,
            dict(msg.headers or {}),
            attempt,
        )
        code = error.code if isinstance(error, DomainError) else None
        try:
            await write_dead_letter(self.js, original, outcome.reason, "rejected", code)
            if self.on_dead_letter is not None:
                await self.on_dead_letter(msg.data, outcome.reason)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "dead letter not finished; the message will be delivered again",
                exc_info=exc,
                extra={"subject": msg.subject, "attempt": attempt, "reason": outcome.reason},
            )
            return Disposition(Action.NAK, backoff(attempt), f"dead letter: {type(exc).__name__}")
        return outcome

    async def _heartbeat(self, msg: Msg) -> None:
        while True:
            await asyncio.sleep(self.options.heartbeat_interval)
            with contextlib.suppress(Exception):
                await msg.in_progress()

    def _log_outcome(
        self, msg: Msg, outcome: Disposition, attempt: int, error: BaseException | None
    ) -> None:
        # A dead letter has its own log line (bus.dlq), with the reason.
        extra = {"subject": msg.subject, "attempt": attempt, "outcome": outcome.action.value}
        if outcome.action is Action.NAK:
            log.warning(
                "message will be retried",
                exc_info=error,
                extra={**extra, "delay": outcome.delay, "reason": outcome.reason},
            )
