"""Open sockets whose session ends are closed: 4401 when it expired or was revoked,
1013 (try again later) when that cannot be known (revocations fail closed).

One task per process checks the open sockets every `interval` seconds, reading the
per-process revocation mirror (no I/O), so a socket closes within `interval` plus the
mirror's delay (well under a second) of a logout or `revoke-sessions` anywhere, and at
its token's expiry. A check costs what changed, not what is open (10,000 sockets on one
process, `bench/ws`): every socket is re-checked only when the revocations' generation
moved (a revocation was applied) or when they cannot be read; otherwise only the sockets
opened since the last check, and the ones whose token expires first (a heap by expiry:
while its head is still valid, so is every later one, the revocations being unchanged).
A full re-check yields to the loop every `chunk` sockets, so status frames keep flowing.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools

from prometheus_client import Counter
from starlette.websockets import WebSocket

from wildside_common.errors import DomainError
from wildside_common.sessions import SessionClaims
from wildside_common.transport import ws as ws_codes
from wildside_gateway.shared.ports import SessionGate

SESSION_CLOSES = Counter(
    "wildside_ws_session_closed_total", "Sockets closed because their session ended", ["code"]
)


class SessionWatch:
    def __init__(self, gate: SessionGate, interval: float = 0.25, chunk: int = 500) -> None:
        self.gate = gate
        self.interval = interval
        self.chunk = chunk
        # By id: a Starlette WebSocket is a Mapping, hence unhashable.
        # id -> (socket, claims, order): the order tells a heap entry's socket from a later
        # one that got the same id.
        self.sockets: dict[int, tuple[WebSocket, SessionClaims, int]] = {}
        # (expiry, order, id): entries of sockets discarded since are skipped when reached.
        self.expiries: list[tuple[float, int, int]] = []
        self.added: list[int] = []  # opened since the last check: checked once on their own
        self.generation: int | None = None  # the revocations' generation last checked at
        self._order = itertools.count()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def add(self, socket: WebSocket, claims: SessionClaims) -> None:
        """Watch the socket until `discard` (or until its session ends and it is closed)."""
        key, order = id(socket), next(self._order)
        self.sockets[key] = (socket, claims, order)
        self.added.append(key)
        heapq.heappush(self.expiries, (claims.expires_at.timestamp(), order, key))
        if not self._stopped and (self._task is None or self._task.done()):
            self._task = asyncio.create_task(self._run(), name="ws-session-watch")

    async def stop(self) -> None:
        """End the checks (the gateway is shutting down): none runs after this returns, so
        none reads the revocations once they are closed."""
        self._stopped = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def discard(self, socket: WebSocket) -> None:
        self.sockets.pop(id(socket), None)
        if len(self.expiries) > 2 * len(self.sockets) + 64:
            # Mostly entries of closed sockets: keep the heap the size of what is open.
            self.expiries = [
                (claims.expires_at.timestamp(), order, key)
                for key, (_, claims, order) in self.sockets.items()
            ]
            heapq.heapify(self.expiries)

    async def _run(self) -> None:
        while self.sockets and not self._stopped:
            await asyncio.sleep(self.interval)
            await self.sweep()

    async def sweep(self) -> None:
        """Close every watched socket whose session has ended."""
        added, self.added = self.added, []
        try:
            generation = await self.gate.revocation_generation()
        except DomainError:
            generation = None  # cannot be known: each check below fails closed
        if generation is None or generation != self.generation:
            self.generation = generation
            for index, key in enumerate(list(self.sockets)):
                await self.check(key)
                if index % self.chunk == self.chunk - 1:
                    await asyncio.sleep(0)
            return
        for key in added:
            await self.check(key)
        while self.expiries:
            _, order, key = self.expiries[0]
            entry = self.sockets.get(key)
            if entry is not None and entry[2] == order and await self.check(key):
                return
            # Closed, or gone: either way no longer watched under this entry.
            heapq.heappop(self.expiries)

    async def check(self, key: int) -> bool:
        """True when the socket's session is still live (or the socket is gone)."""
        entry = self.sockets.get(key)
        if entry is None:
            return True
        socket, claims, _ = entry
        try:
            await self.gate.confirm(claims)
        except DomainError as exc:
            self.sockets.pop(key, None)
            code = ws_codes.close_code_for(exc)
            SESSION_CLOSES.labels(str(code)).inc()
            with contextlib.suppress(RuntimeError, OSError):
                await socket.close(code, exc.message)
            return False
        return True
