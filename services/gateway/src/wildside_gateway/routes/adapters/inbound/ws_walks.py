"""The live walks of one `/ws` connection (docs/live-walk.md): `walk.start` (a succeeded
route request or a saved route of the caller's), positions out to the guide at most 2 a
second, its frames back (guidance, tips), and its `reroute.wanted` submitted for the walker
(`routes.reroutes`). Positions are never logged (counted only, by the socket adapter)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from wildside_common.errors import DomainError, InvalidInput, InvalidMessage, NotFound, RateLimited
from wildside_common.inputs import canonical_uuid
from wildside_common.messages import RouteStatus
from wildside_common.transport import ws as ws_codes
from wildside_gateway.routes.app import RouteService
from wildside_gateway.routes.ports import SavedWalks, WalkFeed
from wildside_gateway.routes.reroutes import submit_reroute
from wildside_gateway.shared.domain.principal import Principal

MAX_POSITIONS_PER_SECOND = 2
MAX_WALKS = 5
Send = Callable[[dict[str, Any]], Awaitable[None]]


class SocketWalks:
    """The walks started on one socket; `send` writes a frame to it, `subscribe` subscribes
    it to a route request's status (as the client's `subscribe` does)."""

    def __init__(
        self,
        principal: Principal,
        service: RouteService,
        send: Send,
        subscribe: Callable[[str], Awaitable[None]],
        walks: WalkFeed | None = None,
        saved: SavedWalks | None = None,
    ) -> None:
        self.principal = principal
        self.service = service
        self.send = send
        self.subscribe = subscribe
        self.walks = walks
        self.saved = saved
        self.walking: set[str] = set()
        self.rerouting: dict[str, str] = {}  # walk id -> its last reroute's request id
        self.guidance: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=64)
        self.position_times: deque[float] = deque(maxlen=MAX_POSITIONS_PER_SECOND)

    async def pump(self) -> None:
        while True:
            frame = await self.guidance.get()
            walk_id = frame.get("request_id")
            if walk_id not in self.walking:
                continue
            if frame.get("type") == "reroute.wanted":
                await self.reroute(walk_id, frame)
            else:
                await self.send(frame)

    async def reroute(self, walk_id: str, wanted: dict[str, Any]) -> None:
        """Submit the guide's reroute for the walker (`routes.reroutes`), tell them with a
        `reroute` frame and subscribe this socket to the new request's status; at most one
        in flight per walk (a reroute asked while the last is queued or running is dropped).
        A refusal (quota spent, ...) is an error frame, not a strike."""
        pending = self.rerouting.get(walk_id)
        if pending is not None:
            with contextlib.suppress(DomainError):
                if not (await self.service.state(self.principal, pending)).status.final:
                    return
        try:
            new_id = await submit_reroute(self.service, self.principal, wanted)
        except DomainError as exc:
            await self.send(ws_codes.error_message(exc, walk_id))
            return
        self.rerouting[walk_id] = new_id
        await self.send({"type": "reroute", "request_id": walk_id, "new_request_id": new_id})
        with contextlib.suppress(DomainError):  # at most 100: the client may subscribe
            await self.subscribe(new_id)

    async def start(self, request_id: str) -> None:
        if self.walks is None:
            raise InvalidMessage("live walks are not available")
        if len(self.walking) >= MAX_WALKS and request_id not in self.walking:
            raise InvalidInput(f"at most {MAX_WALKS} walks per socket")
        state = await self.service.state(self.principal, request_id)  # yours, or not_found
        if state.status != RouteStatus.SUCCEEDED:
            raise InvalidInput.field("request_id", "only a succeeded route can be walked")
        self.begin(state.request_id)
        await self.send({"type": "walk.started", "request_id": state.request_id})

    async def start_saved(self, raw_id: object) -> None:
        """Walk a saved route of the caller's: its id is the walk's (the positions' and the
        guidance's `request_id`); someone else's or an unknown one is `not_found`."""
        saved_id = canonical_uuid(raw_id)
        if saved_id is None:
            raise InvalidMessage.field("saved_route_id", "must be a UUID (8-4-4-4-12 hex digits)")
        if self.walks is None or self.saved is None:
            raise InvalidMessage("live walks are not available")
        if len(self.walking) >= MAX_WALKS and saved_id not in self.walking:
            raise InvalidInput(f"at most {MAX_WALKS} walks per socket")
        await self.saved.get(self.principal, saved_id)  # yours, or not_found
        self.begin(saved_id)
        await self.send(
            {"type": "walk.started", "request_id": saved_id, "saved_route_id": saved_id}
        )

    def begin(self, walk_id: str) -> None:
        assert self.walks is not None
        self.walking.add(walk_id)
        self.walks.listen(walk_id, self.guidance)

    async def position(self, request_id: str, frame: dict[str, Any]) -> None:
        if self.walks is None or request_id not in self.walking:
            raise NotFound("no walk of this request was started on this socket")
        now = time.monotonic()
        if len(self.position_times) == MAX_POSITIONS_PER_SECOND and (
            now - self.position_times[0] < 1.0
        ):
            raise RateLimited(f"at most {MAX_POSITIONS_PER_SECOND} positions a second", 1)
        values = {}
        for name, low, high in (
            ("lat", -90.0, 90.0),
            ("lng", -180.0, 180.0),
            ("accuracy_m", 0.0, 1e6),
            ("timestamp", 0.0, 1e14),
        ):
            value = frame.get(name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidMessage.field(name, "must be a number")
            if not low <= value <= high:
                raise InvalidMessage.field(name, "is out of range")
            values[name] = float(value)
        self.position_times.append(now)
        await self.walks.publish_position(
            request_id,
            values["lat"],
            values["lng"],
            values["accuracy_m"],
            values["timestamp"] / 1000,  # Unix milliseconds on /ws, seconds on the bus
        )

    async def stop(self, request_id: str) -> None:
        self.walking.discard(request_id)
        if self.walks is not None:
            self.walks.forget(request_id, self.guidance)
        await self.send({"type": "walk.stopped", "request_id": request_id})

    def close(self) -> None:
        for walk_id in tuple(self.walking):
            self.walking.discard(walk_id)
            if self.walks is not None:
                self.walks.forget(walk_id, self.guidance)
