"""One suite over the in-memory revocations and the Redis adapter (real Redis, a key
prefix per test): what one process revokes, every process refuses within a second."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from wildside_common.errors import Unavailable
from wildside_common.revocations import SessionRevocations
from wildside_common.revocations_redis import RedisSessionRevocations, connect_revocations
from wildside_common.sessions import SessionClaims, new_token_id
from wildside_common.testing.revocations import MemoryRevocations
from wildside_common.testing.servers import free_port

pytestmark = pytest.mark.contract
Pair = tuple[SessionRevocations, SessionRevocations]  # (the writer's process, another one)


def claims(user: str, issued: datetime | None = None) -> SessionClaims:
    issued = issued or datetime.now(UTC)
    return SessionClaims(user, "user", issued, issued + timedelta(hours=2), "k", new_token_id())


@pytest.fixture(params=["memory", "redis"])
async def pair(request, redis_url: str, redis_prefix: str) -> AsyncIterator[Pair]:
    if request.param == "memory":
        memory = MemoryRevocations()
        yield memory, memory
        return
    writer = connect_revocations(redis_url, redis_prefix)
    reader = connect_revocations(redis_url, redis_prefix)
    await reader.start()
    yield writer, reader
    await writer.close()
    await reader.close()


async def within_a_second(check: Callable[[], Awaitable[bool]]) -> float:
    """Seconds until `check` holds; fails after one second."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < 1.0, "not seen within one second"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_a_revoked_session_is_refused_everywhere_and_no_other(pair: Pair) -> None:
    writer, reader = pair
    user = str(uuid.uuid4())
    ended, kept = claims(user), claims(user)
    assert not await reader.is_revoked(ended)
    await writer.revoke(ended.token_id, ended.expires_at)
    assert await writer.is_revoked(ended)  # the revoking process at once
    await within_a_second(lambda: reader.is_revoked(ended))
    assert not await reader.is_revoked(kept) and not await writer.is_revoked(kept)


async def test_ending_a_users_sessions_refuses_those_issued_until_then(pair: Pair) -> None:
    writer, reader = pair
    user, other = str(uuid.uuid4()), str(uuid.uuid4())
    now = datetime.now(UTC).replace(microsecond=500_000)
    before, at = claims(user, now - timedelta(minutes=5)), claims(user, now)
    after, others = claims(user, now + timedelta(milliseconds=1)), claims(other, now)
    await writer.revoke_user(user, now)
    await within_a_second(lambda: reader.is_revoked(before))
    for process in (writer, reader):
        assert await process.is_revoked(before) and await process.is_revoked(at)
        assert not await process.is_revoked(after) and not await process.is_revoked(others)


async def test_a_later_not_before_wins_an_earlier_one_never_undoes_it(pair: Pair) -> None:
    writer, reader = pair
    user = str(uuid.uuid4())
    now = datetime.now(UTC)
    session = claims(user, now - timedelta(seconds=1))
    await writer.revoke_user(user, now)
    await writer.revoke_user(user, now - timedelta(minutes=10))
    await within_a_second(lambda: reader.is_revoked(session))
    await asyncio.sleep(0.3)  # the older entry has been read too by now
    assert await reader.is_revoked(session)


async def test_revoking_an_already_expired_session_is_a_no_op(pair: Pair) -> None:
    writer, reader = pair
    expired = claims(str(uuid.uuid4()), datetime.now(UTC) - timedelta(hours=3))
    await writer.revoke(expired.token_id, expired.expires_at)
    assert not await writer.is_revoked(expired) and not await reader.is_revoked(expired)


async def test_a_process_started_later_loads_every_earlier_revocation(
    redis_url: str, redis_prefix: str
) -> None:
    writer = connect_revocations(redis_url, redis_prefix)
    sessions = [claims(str(uuid.uuid4())) for _ in range(1500)]  # more than one read batch
    for session in sessions:
        await writer.revoke(session.token_id, session.expires_at)
    user = str(uuid.uuid4())
    await writer.revoke_user(user, datetime.now(UTC))
    late = connect_revocations(redis_url, redis_prefix)
    await late.start()
    try:
        assert all([await late.is_revoked(session) for session in sessions])
        assert await late.is_revoked(claims(user, datetime.now(UTC) - timedelta(seconds=1)))
    finally:
        await writer.close()
        await late.close()


async def test_redis_keys_expire_with_the_session(redis_url: str, redis_prefix: str) -> None:
    writer = connect_revocations(redis_url, redis_prefix)
    session = claims(str(uuid.uuid4()), datetime.now(UTC) - timedelta(minutes=90))
    await writer.revoke(session.token_id, session.expires_at)
    await writer.revoke_user(session.subject, datetime.now(UTC))
    client = Redis.from_url(redis_url)
    try:
        token_ttl = await client.pttl(f"{redis_prefix}session:revoked:{session.token_id}")
        user_ttl = await client.pttl(f"{redis_prefix}session:not-before:{session.subject}")
    finally:
        await client.aclose()
        await writer.close()
    assert 29 * 60_000 < token_ttl <= 30 * 60_000  # the token's remaining half hour
    assert 2 * 3600_000 - 5000 < user_ttl <= 2 * 3600_000  # one session lifetime


async def test_without_redis_checks_and_revocations_fail_closed() -> None:
    dead = RedisSessionRevocations(
        Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2),
        max_staleness=0.5,
    )
    session = claims(str(uuid.uuid4()))
    try:
        with pytest.raises(Unavailable):
            await dead.is_revoked(session)
        with pytest.raises(Unavailable):
            await dead.revoke(session.token_id, session.expires_at)
        with pytest.raises(Unavailable):
            await dead.ready()
    finally:
        await dead.close()


async def test_a_mirror_that_loses_redis_fails_closed_after_its_staleness_bound(
    redis_url: str, redis_prefix: str
) -> None:
    proxy = await TcpProxy.start(redis_url)
    reader = RedisSessionRevocations(
        Redis.from_url(proxy.url, socket_timeout=1.25, socket_connect_timeout=0.2),
        redis_prefix,
        max_staleness=0.5,
    )
    session = claims(str(uuid.uuid4()))
    try:
        await reader.start()
        assert not await reader.is_revoked(session)
        proxy.cut()
        await asyncio.sleep(0.8)
        with pytest.raises(Unavailable):
            await reader.is_revoked(session)
    finally:
        await reader.close()
        await proxy.close()


async def test_a_late_follower_is_caught_up_by_the_check_instead_of_refusing(
    redis_url: str, redis_prefix: str
) -> None:
    """The process's loop stalled past the staleness bound (busy, not cut off from Redis):
    the check reads what the follower missed, sees a revocation made meanwhile, answers."""
    reader = connect_revocations(redis_url, redis_prefix, max_staleness=0.5)
    writer = connect_revocations(redis_url, redis_prefix, max_staleness=0.5)
    mine, other = claims(str(uuid.uuid4())), claims(str(uuid.uuid4()))
    try:
        await reader.start()
        await writer.start()
        await writer.revoke(mine.token_id, mine.expires_at)
        time.sleep(0.7)  # noqa: ASYNC251 - the point: the loop is blocked, the follower late
        with pytest.raises(Unavailable):
            reader.fresh()  # stale: readiness says so
        assert await reader.is_revoked(mine)  # caught up: the revocation is seen
        assert not await reader.is_revoked(other)
        reader.fresh()  # and fresh again
    finally:
        await reader.close()
        await writer.close()


class TcpProxy:
    """A TCP relay to Redis whose connections can be cut (a partition, not a refusal)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server: asyncio.Server | None = None
        self.writers: list[asyncio.StreamWriter] = []
        self.port = 0

    @classmethod
    async def start(cls, redis_url: str) -> TcpProxy:
        address = redis_url.split("//", 1)[1].split("/", 1)[0]
        host, _, port = address.rpartition(":")
        proxy = cls((host, int(port)))
        proxy.server = await asyncio.start_server(proxy._relay, "127.0.0.1", 0)
        proxy.port = proxy.server.sockets[0].getsockname()[1]
        return proxy

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, upstream_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)

        await asyncio.gather(
            pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True
        )

    def cut(self) -> None:
        """Stop relaying: nothing answers, as when the network between them fails."""
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.transport.pause_reading()

    async def close(self) -> None:
        for writer in self.writers:
            writer.transport.abort()
        if self.server is not None:
            self.server.close()
