"""SessionWatch's checks cost what changed, not what is open: with the revocations
unchanged a sweep confirms only new sockets and the next to expire; a revocation makes it
re-check them all; an expiry or a revocation still closes exactly the sockets it ends."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from wildside_common.sessions import InvalidSession, SessionClaims
from wildside_common.testing.revocations import MemoryRevocations
from wildside_gateway.routes.adapters.inbound.ws_sessions import SessionWatch

NOW = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW


class Gate:
    """The SessionGate's two checks over the in-memory revocations and a settable clock;
    counts the per-socket confirmations."""

    def __init__(self) -> None:
        self.revocations = MemoryRevocations(clock=lambda: self.clock.now.timestamp())
        self.clock = Clock()
        self.confirmed = 0

    async def confirm(self, claims: SessionClaims) -> None:
        self.confirmed += 1
        if claims.expires_at <= self.clock.now:
            raise InvalidSession("the session has expired")
        if await self.revocations.is_revoked(claims):
            raise InvalidSession("the session has ended")

    async def revocation_generation(self) -> int:
        return await self.revocations.generation()


class Socket:
    def __init__(self) -> None:
        self.closed: int | None = None

    async def close(self, code: int, reason: str = "") -> None:
        self.closed = code


def claims(token_id: str, minutes: int) -> SessionClaims:
    issued = NOW - timedelta(minutes=1)
    return SessionClaims("user-1", "user", issued, NOW + timedelta(minutes=minutes), "k", token_id)


def watching(gate: Gate, count: int) -> tuple[SessionWatch, list[Socket], list[SessionClaims]]:
    watch = SessionWatch(gate)  # type: ignore[arg-type]
    sockets = [Socket() for _ in range(count)]
    sessions = [claims(f"t{i}", 10 + i) for i in range(count)]
    for socket, session in zip(sockets, sessions, strict=True):
        watch.add(socket, session)  # type: ignore[arg-type]
    assert watch._task is not None
    watch._task.cancel()  # the tests sweep themselves
    return watch, sockets, sessions


def closed(sockets: list[Socket]) -> list[Any]:
    return [socket.closed for socket in sockets]


async def test_an_unchanged_sweep_confirms_only_the_next_to_expire() -> None:
    gate = Gate()
    watch, sockets, _ = watching(gate, 1000)
    await watch.sweep()  # the first: every socket
    assert gate.confirmed == 1000
    gate.confirmed = 0
    for _ in range(10):
        await watch.sweep()
    assert gate.confirmed == 10
    assert closed(sockets) == [None] * 1000


async def test_a_socket_opened_since_the_last_sweep_is_confirmed_once() -> None:
    gate = Gate()
    watch, _, _ = watching(gate, 3)
    await watch.sweep()
    late = Socket()
    session = claims("late", 60)
    # Revoked between its handshake and its watch: the generation is the one last seen.
    await gate.revocations.revoke("late", session.expires_at)
    watch.generation = await gate.revocations.generation()
    watch.add(late, session)  # type: ignore[arg-type]
    await watch.sweep()
    assert late.closed == 4401


async def test_expiries_close_exactly_the_expired_sockets_in_order() -> None:
    gate = Gate()
    watch, sockets, _ = watching(gate, 5)  # expiring at +10 .. +14 minutes
    await watch.sweep()
    gate.clock.now = NOW + timedelta(minutes=12)
    await watch.sweep()
    assert closed(sockets) == [4401, 4401, 4401, None, None]
    gate.clock.now = NOW + timedelta(minutes=20)
    await watch.sweep()
    assert closed(sockets) == [4401] * 5


async def test_a_revocation_rechecks_all_and_closes_only_that_session() -> None:
    gate = Gate()
    watch, sockets, sessions = watching(gate, 50)
    await watch.sweep()
    gate.confirmed = 0
    await gate.revocations.revoke(sessions[30].token_id, sessions[30].expires_at)
    await watch.sweep()
    assert gate.confirmed == 50
    assert [i for i, code in enumerate(closed(sockets)) if code is not None] == [30]
    assert sockets[30].closed == 4401


async def test_unreadable_revocations_close_every_socket_1013() -> None:
    gate = Gate()
    watch, sockets, _ = watching(gate, 20)
    await watch.sweep()
    gate.revocations.available = False
    await watch.sweep()
    assert closed(sockets) == [1013] * 20


async def test_a_closed_sockets_entry_does_not_shield_a_later_expiry() -> None:
    gate = Gate()
    watch, sockets, _ = watching(gate, 2)  # +10 and +11 minutes
    await watch.sweep()
    watch.discard(sockets[0])  # type: ignore[arg-type]
    gate.clock.now = NOW + timedelta(minutes=11, seconds=1)
    await watch.sweep()
    assert sockets[1].closed == 4401
    assert sockets[0].closed is None


async def test_a_stopped_watch_checks_nothing_more() -> None:
    """At shutdown the watch stops before the revocations close: its task ends, and a socket
    added after (a late handshake) starts no new check."""
    gate = Gate()
    watch = SessionWatch(gate, interval=0.01)  # type: ignore[arg-type]
    watch.add(Socket(), claims("t0", 10))  # type: ignore[arg-type]
    task = watch._task
    assert task is not None
    await asyncio.sleep(0.05)  # the task has checked it
    assert gate.confirmed >= 1
    await watch.stop()
    assert task.done()
    confirmed = gate.confirmed
    watch.add(Socket(), claims("t1", 10))  # type: ignore[arg-type]
    await asyncio.sleep(0.05)
    assert watch._task is None
    assert gate.confirmed == confirmed
