"""WebSocket adapter: `/ws` subscriptions to route status events.

Handshake: a handshake the session cookie authenticates (no `Authorization: Bearer`)
whose `Origin` is not allowed (`ALLOWED_ORIGINS`, `Origin: null` included) is refused
with 403 `csrf_rejected` before the upgrade: cross-site WebSocket hijacking. A token
offered as the `bearer.<token>` subprotocol is exempt, as Bearer is over HTTP.

Protocol (JSON text frames; docs/websocket.md):
    client -> {"type": "subscribe", "request_id": "<uuid>"}   (also "unsubscribe", "ping",
              and "cancel": DELETE /api/v1/routes/{request_id} over the socket)
    server -> route_generation_status events (the seed's schema), {"type": "subscribed"},
              {"type": "unsubscribed"}, {"type": "pong"},
              or {"type": "error", "code", "message"[, "request_id"]}
Live walks (docs/live-walk.md): {"type": "walk.start", "request_id"} for a succeeded route
of the caller's, or {"type": "walk.start", "saved_route_id"} for a saved route of theirs (the
walk's id is then the saved route's) (answered {"type": "walk.started"}), then
{"type": "position", "request_id", "lat", "lng", "accuracy_m", "timestamp"} (Unix
milliseconds) about once a second, published
for the guide; its `guidance` and `tip` frames come back on the socket; when the guide asks
for a reroute (`reroute.wanted`, never forwarded) the socket submits it for the walker
(`routes.reroutes`), answers {"type": "reroute", "request_id", "new_request_id"} and
subscribes to the new request (the client walks it with `walk.start` once it succeeded);
{"type": "walk.stop"} ends it ({"type": "walk.stopped"}). More than 2 positions a second:
`rate_limited`, a strike. Positions are never logged (counted only).
On subscribing the client first gets the latest known status, so nothing published
before the subscription is missed. A cancel that succeeds answers with no frame of its
own: the `route_generation_status` event with status `cancelled` reaches every
subscriber of the request (this socket too, at once, whether it subscribed or not). A
frame outside the protocol (binary, not JSON, not an object, an unknown type, a request
id that is not a canonical UUID) gets an error frame with code `invalid_message`; an
unknown or someone else's request `not_found`; a cancel of a request that has ended
`already_final`. Each of those is a strike: more than `max_strikes` close the socket
with 1008 (policy violation). A socket whose session expires or is revoked is closed with 4401
(`ws_sessions.SessionWatch`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

import orjson
from prometheus_client import Counter, Gauge
from starlette.websockets import WebSocket, WebSocketDisconnect

from wildside_common.errors import (
    AlreadyFinal,
    DomainError,
    InvalidInput,
    InvalidMessage,
    NotFound,
    RateLimited,
)
from wildside_common.logs import current_trace_id
from wildside_common.messages import RouteGenerationStatus, RouteStatus, utc_now
from wildside_common.sessions import bearer_token
from wildside_common.transport import ws as ws_codes
from wildside_common.transport.http import error_response
from wildside_gateway.routes.adapters.inbound.ws_sessions import SessionWatch
from wildside_gateway.routes.adapters.inbound.ws_walks import SocketWalks
from wildside_gateway.routes.app import RouteService
from wildside_gateway.routes.domain.routes import is_newer
from wildside_gateway.routes.ports import SavedWalks, StatusUpdates, WalkFeed
from wildside_gateway.shared.adapters.inbound.browser import cross_site_refusal
from wildside_gateway.shared.domain.origins import AllowedOrigins
from wildside_gateway.shared.domain.principal import Principal
from wildside_gateway.shared.ports import SessionGate

log = logging.getLogger(__name__)
SUBPROTOCOL = "wildside.v1"
WS_CONNECTIONS = Gauge("wildside_ws_connections", "Open WebSocket connections")
WS_SENT = Counter("wildside_ws_messages_sent_total", "WebSocket frames sent", ["type"])
WS_RECEIVED = Counter("wildside_ws_messages_received_total", "WebSocket frames received", ["type"])
MAX_SUBSCRIPTIONS = 100
WALK_KINDS = ("walk.start", "position", "walk.stop")
KINDS = ("subscribe", "unsubscribe", "cancel", "ping", *WALK_KINDS)
WITH_REQUEST_ID = ("subscribe", "unsubscribe", "cancel", *WALK_KINDS)
# The form PostgreSQL's uuid and our ids share; uuid.UUID also takes braces, urn:uuid:
# and bare hex, which the database refuses.
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


class StatusSocket:
    """One connected client: its subscriptions, its outbound queue, its strikes."""

    def __init__(
        self,
        socket: WebSocket,
        principal: Principal,
        service: RouteService,
        feed: StatusUpdates,
        max_strikes: int,
        walks: WalkFeed | None = None,
        saved: SavedWalks | None = None,
    ) -> None:
        self.socket = socket
        self.walks = SocketWalks(principal, service, self.send, self.subscribe, walks, saved)
        self.principal = principal
        self.service = service
        self.feed = feed
        self.max_strikes = max_strikes
        self.queue: asyncio.Queue[RouteGenerationStatus] = asyncio.Queue(maxsize=256)
        self.last: dict[str, tuple[RouteStatus, int]] = {}
        self.strikes = 0
        self.subscribed: set[str] = set()

    async def send(self, frame: dict[str, Any]) -> None:
        await self.socket.send_text(orjson.dumps(frame).decode())
        WS_SENT.labels(str(frame.get("type", "unknown"))).inc()

    async def pump(self) -> None:
        while True:
            status = await self.queue.get()
            await self.deliver(status)

    async def deliver(self, status: RouteGenerationStatus) -> None:
        if status.request_id not in self.subscribed:
            return
        if is_newer(status.status, status.progress, self.last.get(status.request_id)):
            self.last[status.request_id] = (status.status, status.progress)
            await self.send(status.to_wire())

    async def subscribe(self, request_id: str) -> None:
        if len(self.subscribed) >= MAX_SUBSCRIPTIONS:
            raise InvalidInput(f"at most {MAX_SUBSCRIPTIONS} subscriptions per socket")
        state = await self.service.state(self.principal, request_id)
        self.subscribed.add(state.request_id)
        self.feed.listen(state.request_id, self.queue)
        await self.send({"type": "subscribed", "request_id": state.request_id})
        latest = RouteGenerationStatus(
            state.request_id, state.status, state.progress, utc_now(), state.error
        )
        await self.deliver(latest)

    async def cancel(self, request_id: str) -> None:
        event = await self.service.cancel(self.principal, request_id)
        if event.request_id in self.subscribed:
            await self.deliver(event)  # recorded: the feed's copy is not sent again
        else:
            await self.send(event.to_wire())

    def unsubscribe(self, request_id: str) -> None:
        self.subscribed.discard(request_id)
        self.last.pop(request_id, None)
        self.feed.forget(request_id, self.queue)

    def close_all(self) -> None:
        for request_id in tuple(self.subscribed):
            self.unsubscribe(request_id)
        self.walks.close()

    async def on_binary(self) -> None:
        WS_RECEIVED.labels("invalid").inc()
        await self.strike(InvalidMessage("frames must be JSON text, not binary"), None)

    async def on_frame(self, text: str) -> None:
        request_id: str | None = None
        try:
            frame = orjson.loads(text)
            if not isinstance(frame, dict):
                raise InvalidMessage("frames must be JSON objects")
            kind = frame.get("type")
            WS_RECEIVED.labels(str(kind) if kind in KINDS else "invalid").inc()
            raw_id = frame.get("request_id")
            # Checked before any use, and echoed in an error frame only once it is a UUID.
            if kind in WITH_REQUEST_ID and raw_id is not None:
                request_id = canonical_request_id(raw_id)
            await self.dispatch(kind, request_id, frame)
        except orjson.JSONDecodeError:
            WS_RECEIVED.labels("invalid").inc()
            await self.strike(InvalidMessage("frames must be JSON"), None)
        except DomainError as exc:
            await self.strike(exc, request_id)

    async def dispatch(
        self, kind: Any, request_id: str | None, frame: dict[str, Any] | None = None
    ) -> None:
        if kind == "ping":
            await self.send({"type": "pong"})
            return
        if kind not in WITH_REQUEST_ID:
            raise InvalidMessage(
                "type must be subscribe, unsubscribe, cancel, ping, walk.start, position "
                "or walk.stop"
            )
        if kind == "walk.start" and request_id is None and frame and "saved_route_id" in frame:
            await self.walks.start_saved(frame["saved_route_id"])
            return
        if request_id is None:
            raise InvalidMessage.field("request_id", "is required")
        if kind == "walk.start":
            await self.walks.start(request_id)
        elif kind == "position":
            await self.walks.position(request_id, frame or {})
        elif kind == "walk.stop":
            await self.walks.stop(request_id)
        elif kind == "subscribe":
            await self.subscribe(request_id)
        elif kind == "cancel":
            await self.cancel(request_id)
        else:
            self.unsubscribe(request_id)
            await self.send({"type": "unsubscribed", "request_id": request_id})

    async def strike(self, error: DomainError, request_id: str | None) -> None:
        # An unknown or someone else's request id is a strike too: probing for ids is abuse;
        # so is cancelling what has ended (a client that lost a race pays one strike).
        if isinstance(error, InvalidInput | NotFound | AlreadyFinal | RateLimited):
            self.strikes += 1
        await self.send(ws_codes.error_message(error, request_id))
        if self.strikes > self.max_strikes:
            await self.socket.close(ws_codes.POLICY_VIOLATION)
            raise WebSocketDisconnect(ws_codes.POLICY_VIOLATION)


def canonical_request_id(raw: object) -> str:
    """A request id as the frame gave it, if it is a plain UUID (lower-cased)."""
    if not isinstance(raw, str) or CANONICAL_UUID.fullmatch(raw) is None:
        raise InvalidMessage.field("request_id", "must be a UUID (8-4-4-4-12 hex digits)")
    return raw.lower()


def cross_site_handshake(
    socket: WebSocket, origins: AllowedOrigins, cookie_name: str
) -> DomainError | None:
    """`csrf_rejected` for a handshake the cookie would authenticate from a foreign origin.

    The authenticator reads `Authorization: Bearer` first, then the cookie, then the
    subprotocol token: the cookie is the credential exactly when there is no Bearer
    header and the cookie is present.
    """
    if bearer_token(socket.headers) is not None or not socket.cookies.get(cookie_name):
        return None
    return cross_site_refusal(origins, socket.headers, "websocket")


class StatusSocketEndpoint:
    def __init__(
        self,
        service: RouteService,
        auth: SessionGate,
        feed: StatusUpdates,
        origins: AllowedOrigins,
        max_strikes: int = 10,
        cookie_name: str = "session",
        walks: WalkFeed | None = None,
        saved: SavedWalks | None = None,
    ) -> None:
        self.walks = walks
        self.saved = saved
        self.service = service
        self.auth = auth
        self.feed = feed
        self.origins = origins
        self.max_strikes = max_strikes
        self.cookie_name = cookie_name
        self.sessions = SessionWatch(auth)

    async def close(self) -> None:
        """At shutdown, before the session revocations close."""
        await self.sessions.stop()

    async def handle(self, socket: WebSocket) -> None:
        refusal = cross_site_handshake(socket, self.origins, self.cookie_name)
        if refusal is not None:
            # Before the upgrade: a 403 with the error envelope (uvicorn's denial response).
            await socket.send_denial_response(error_response(refusal, current_trace_id()))
            return
        try:
            principal, claims = await self.auth.session(socket.headers, socket.cookies)
        except DomainError as exc:
            await socket.close(ws_codes.close_code_for(exc))
            return
        offered = [p.strip() for p in socket.headers.get("sec-websocket-protocol", "").split(",")]
        await socket.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        client = StatusSocket(
            socket, principal, self.service, self.feed, self.max_strikes, self.walks, self.saved
        )
        WS_CONNECTIONS.inc()
        self.sessions.add(socket, claims)
        pump = asyncio.create_task(client.pump())
        walk_pump = asyncio.create_task(client.walks.pump())
        try:
            while True:
                message = await socket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:  # a binary frame: a message without "text"
                    await client.on_binary()
                else:
                    await client.on_frame(text)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            self.sessions.discard(socket)
            WS_CONNECTIONS.dec()
            client.close_all()
            pump.cancel()
            walk_pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await pump
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await walk_pump
