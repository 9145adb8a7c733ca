"""The bounded load of a fault scenario and its end check.

`run_load` starts `rate` clients a second for `seconds`, spread over the gateways. Each
client POSTs one route request with its own `Idempotency-Key` (retried, with the same key,
on the other gateway after a 503, a 504 or a refused connection), then follows it on a
WebSocket of its own: subscribe, read status events to the final one; when the socket
drops it reconnects to the other gateway and subscribes again, timing how soon the latest
status comes back. The fault runs meanwhile, as a coroutine.

`check` then holds the run to the suite's promise, from the database, the bus and the
sockets: every accepted request reached exactly one final status, every subscriber got
it, no request was stored twice or without a 202, none is stuck.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import httpx
from nats.errors import TimeoutError as NatsTimeout
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import WebSocketException

from tests.e2e import stack
from wildside_common.bus.connection import connect
from wildside_common.bus.topology import ROUTE_STATUS_PREFIX, ROUTE_STATUS_STREAM
from wildside_common.codec import decode
from wildside_common.messages import RouteGenerationStatus

FINAL = {"succeeded", "failed", "cancelled"}
RETRY = {503, 504}


@dataclass
class Client:
    index: int
    body: dict[str, object]
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    request_id: str | None = None
    answers: list[int | str] = field(default_factory=list)  # one per POST attempt
    errors: list[str] = field(default_factory=list)  # the bodies of answers >= 500
    seen: list[str] = field(default_factory=list)  # statuses received on the sockets
    final: str | None = None
    reconnects: int = 0
    dropped: int = 0  # sockets that closed under it after they had opened
    # After each reconnect: seconds from the new `subscribe` to the first status event.
    resubscribed_in: list[float] = field(default_factory=list)


def base(service: stack.Service) -> str:
    return service.health_url.removesuffix("/health/ready")


def body_for(index: int, run: int) -> dict[str, object]:
    """A walk of its own for each client (no route cache hit), inside the demo extract."""
    return {
        "start": {"lat": 60.160 + 0.00015 * (index % 100), "lng": 24.930 + 0.0007 * run},
        "duration_minutes": 30 + index // 100,
        "preferences": ["history", "nature"],
    }


async def post_until_accepted(
    http: httpx.AsyncClient, gateways: list[stack.Service], client: Client, within: float
) -> None:
    deadline = time.monotonic() + within
    attempt = 0
    while time.monotonic() < deadline:
        gateway = gateways[(client.index + attempt) % len(gateways)]
        attempt += 1
        headers = {"Idempotency-Key": client.key, **stack.auth(gateway)}
        try:
            response = await http.post(
                f"{base(gateway)}/api/v1/routes", json=client.body, headers=headers
            )
        except httpx.HTTPError as exc:
            client.answers.append(type(exc).__name__)
            await asyncio.sleep(0.2)
            continue
        client.answers.append(response.status_code)
        if response.status_code >= 500:
            client.errors.append(response.text[:500])
        if response.status_code == 202:
            client.request_id = str(response.json()["request_id"])
            return
        if response.status_code not in RETRY:
            return  # anything else is a failure of the run, reported by `check`
        await asyncio.sleep(0.5)


async def follow(gateways: list[stack.Service], client: Client, deadline: float) -> None:
    which = client.index % len(gateways)
    first = True
    while client.final is None and time.monotonic() < deadline:
        gateway = gateways[which]
        url = base(gateway).replace("http://", "ws://") + "/ws"
        opened = False
        try:
            async with ws_connect(
                url, subprotocols=stack.ws_protocols(gateway), open_timeout=3
            ) as socket:
                opened = True
                sent = time.monotonic()
                subscribe = {"type": "subscribe", "request_id": client.request_id}
                await socket.send(json.dumps(subscribe))
                timed = first
                while time.monotonic() < deadline:
                    remaining = deadline - time.monotonic()
                    frame = json.loads(await asyncio.wait_for(socket.recv(), remaining))
                    if frame.get("type") != "route_generation_status":
                        continue
                    if not timed:
                        client.resubscribed_in.append(time.monotonic() - sent)
                        timed = True
                    client.seen.append(frame["status"])
                    if frame["status"] in FINAL:
                        client.final = frame["status"]
                        return
        except (OSError, WebSocketException, TimeoutError):
            if time.monotonic() >= deadline:
                return
            client.reconnects += 1
            client.dropped += opened
            first = False
            which = (which + 1) % len(gateways)
            await asyncio.sleep(0.2)


async def run_load(
    gateways: list[stack.Service],
    fault: Callable[[], Awaitable[None]],
    *,
    rate: float = 5.0,
    seconds: float = 20.0,
    accept_within: float = 30.0,
    settle: float = 60.0,
) -> list[Client]:
    """Run the load and `fault` together; the clients once every one has ended (or the
    time to settle after the load has passed)."""
    for gateway in gateways:
        stack.token(gateway)  # log in once, before the clock starts
    run = int(time.time()) % 20
    clients = [Client(index, body_for(index, run)) for index in range(int(rate * seconds))]
    deadline = time.monotonic() + seconds + accept_within + settle
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(timeout=12, limits=limits) as http:

        async def one(client: Client) -> None:
            await asyncio.sleep(client.index / rate)
            await post_until_accepted(http, gateways, client, accept_within)
            if client.request_id is not None:
                await follow(gateways, client, deadline)

        await asyncio.gather(fault(), *(one(client) for client in clients))
    return clients


async def final_events(nats_url: str) -> Counter[str]:
    """How many final status events the bus holds, by request id."""
    counts: Counter[str] = Counter()
    nc = await connect(nats_url, "wildside-faults-check", attempts=10, wait=0.5)
    try:
        js = nc.jetstream()
        subject = f"{ROUTE_STATUS_PREFIX}.>"
        subscription = await js.pull_subscribe(subject, stream=ROUTE_STATUS_STREAM)
        while True:
            try:
                batch = await subscription.fetch(500, timeout=2)
            except (NatsTimeout, TimeoutError):  # nats-py raises either when nothing is left
                break
            for msg in batch:
                status = decode(RouteGenerationStatus, msg.data)
                if status.status in FINAL:
                    counts[status.request_id] += 1
                await msg.ack()
    finally:
        await nc.close()
    return counts


@dataclass
class Report:
    accepted: int
    retried_posts: int
    redelivered: int  # requests whose job ran more than once (attempts > 1)
    reconnects: int
    slowest_resubscribe: float


async def check(
    clients: list[Client],
    database_url: str,
    nats_url: str,
    since: datetime,
    finals: frozenset[str] = frozenset({"succeeded"}),
) -> Report:
    """Assert the suite's promise over a finished run; what happened, for the report."""
    unaccepted = [(c.index, c.answers) for c in clients if c.request_id is None]
    assert unaccepted == [], f"never accepted: {unaccepted[:5]}"
    ids = [uuid.UUID(c.request_id) for c in clients if c.request_id is not None]
    assert len(set(ids)) == len(ids), "two Idempotency-Keys got the same request"
    conn = await asyncpg.connect(database_url)
    try:
        rows = {
            str(row["id"]): row
            for row in await conn.fetch(
                "SELECT r.id, r.status, r.attempts,"
                " (SELECT count(*) FROM route_results s WHERE s.request_id = r.id) AS results"
                " FROM route_requests r WHERE r.id = ANY($1::uuid[])",
                ids,
            )
        }
        stored = await conn.fetchval(
            "SELECT count(*) FROM route_requests WHERE created_at >= $1", since
        )
    finally:
        await conn.close()
    assert stored == len(ids), f"{stored} requests stored for {len(ids)} accepted"
    statuses = Counter(row["status"] for row in rows.values())
    assert len(rows) == len(ids) and set(statuses) <= finals, f"final statuses: {statuses}"
    for request_id, row in rows.items():
        expected = 1 if row["status"] == "succeeded" else 0
        assert row["results"] == expected, f"{request_id}: {row['results']} result rows"
    undelivered = [
        (c.request_id, c.seen[-3:], c.reconnects)
        for c in clients
        if c.request_id is not None and c.final != rows[c.request_id]["status"]
    ]
    assert undelivered == [], f"final status not delivered: {undelivered[:5]}"
    events = await final_events(nats_url)
    twice = {key: count for key, count in events.items() if key in rows and count != 1}
    missing = [key for key in rows if key not in events]
    assert twice == {} and missing == [], f"final events: twice {twice}, none {missing[:5]}"
    return Report(
        accepted=len(ids),
        retried_posts=sum(len(c.answers) - 1 for c in clients),
        redelivered=sum(1 for row in rows.values() if row["attempts"] > 1),
        reconnects=sum(c.reconnects for c in clients),
        slowest_resubscribe=max((t for c in clients for t in c.resubscribed_in), default=0.0),
    )
