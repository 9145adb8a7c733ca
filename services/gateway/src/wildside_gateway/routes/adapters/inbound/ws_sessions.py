"""Open sockets whose session ends are closed: 4401 when it expired or was revoked,
1013 (try again later) when that cannot be known (revocations fail closed).

One task per process re-checks every open socket every `interval` seconds. A check reads
the per-process revocation mirror, with no I/O, so the task stays cheap with many
sockets, and a socket closes within `interval` plus the mirror's delay (well under a
second) of a logout or `revoke-sessions` anywhere, and at its token's expiry.
"""

from __future__ import annotations

import asyncio
import contextlib

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
    def __init__(self, gate: SessionGate, interval: float = 0.25) -> None:
        self.gate = gate
        self.interval = interval
        # By id: a Starlette WebSocket is a Mapping, hence unhashable.
        self.sockets: dict[int, tuple[WebSocket, SessionClaims]] = {}
        self._task: asyncio.Task[None] | None = None

    def add(self, socket: WebSocket, claims: SessionClaims) -> None:
        """Watch the socket until `discard` (or until its session ends and it is closed)."""
        self.sockets[id(socket)] = (socket, claims)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ws-session-watch")

    def discard(self, socket: WebSocket) -> None:
        self.sockets.pop(id(socket), None)

    async def _run(self) -> None:
        while self.sockets:
            await asyncio.sleep(self.interval)
            await self.sweep()

    async def sweep(self) -> None:
        """Close every watched socket whose session has ended."""
        for key, (socket, claims) in list(self.sockets.items()):
            try:
                await self.gate.confirm(claims)
            except DomainError as exc:
                self.sockets.pop(key, None)
                code = ws_codes.close_code_for(exc)
                SESSION_CLOSES.labels(str(code)).inc()
                with contextlib.suppress(RuntimeError, OSError):
                    await socket.close(code, exc.message)
