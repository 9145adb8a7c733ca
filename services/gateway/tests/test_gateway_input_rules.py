"""The gateway's input rules before anything reaches a store: ids are canonical UUIDs
(either case, refused otherwise), revisions fit their integer column."""

from __future__ import annotations

import uuid

import pytest
from gateway_route_fakes import (
    FakeAnnouncer,
    FakeCache,
    FakeLimiter,
    FakeQueue,
    FakeRouteRequests,
    FakeThemes,
)
from starlette.requests import ClientDisconnect, Request
from starlette.types import Message

from wildside_common.errors import InvalidInput, NotFound, PayloadTooLarge
from wildside_common.inputs import INT4_MAX
from wildside_gateway.identity.domain.interests import InterestUpdate
from wildside_gateway.routes.adapters.batching import MicroBatching
from wildside_gateway.routes.app import RouteService, SubmissionPolicy
from wildside_gateway.routes.domain.idempotency import parse_key
from wildside_gateway.routes.domain.routes import DurationBounds, RouteState
from wildside_gateway.shared.adapters.inbound.requests import read_json
from wildside_gateway.shared.domain.principal import Principal

pytestmark = pytest.mark.unit
ALICE = Principal(str(uuid.uuid4()))
BODY = {"start": {"lat": 60.17, "lng": 24.94}, "duration_minutes": 60}
KEY = "0b7e4d1c-3f6a-4c1e-9a52-6d2f0e8b9c11"
NON_CANONICAL = ["{" + KEY + "}", "urn:uuid:" + KEY, KEY.replace("-", ""), KEY + "0", "x"]


class SeenRouteRequests(FakeRouteRequests):
    """The fake store, remembering every id it was asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    async def get(self, request_id: str) -> RouteState | None:
        self.asked.append(request_id)
        return await super().get(request_id)


def service() -> tuple[RouteService, SeenRouteRequests]:
    store = SeenRouteRequests()
    policy = SubmissionPolicy(DurationBounds(10, 480))
    queue, cache = FakeQueue(), FakeCache()
    svc = RouteService(
        store,
        queue,
        FakeAnnouncer(),
        FakeThemes(),
        policy,
        cache,
        FakeLimiter(1000),
        batching=MicroBatching(),
    )
    return svc, store


@pytest.mark.parametrize("spelling", NON_CANONICAL)
async def test_a_request_id_not_in_canonical_form_is_not_found_and_never_looked_up(
    spelling: str,
) -> None:
    svc, store = service()
    await svc.submit(ALICE, BODY)
    with pytest.raises(NotFound):
        await svc.state(ALICE, spelling)
    assert store.asked == []


async def test_a_request_id_in_upper_case_names_the_same_request() -> None:
    svc, store = service()
    accepted = await svc.submit(ALICE, BODY)
    state = await svc.state(ALICE, accepted.request_id.upper())
    assert state.request_id == accepted.request_id
    assert store.asked == [accepted.request_id]


@pytest.mark.parametrize("spelling", [KEY, KEY.upper(), f"  {KEY} "])
def test_an_idempotency_key_is_a_canonical_uuid_in_lower_case(spelling: str) -> None:
    assert parse_key(spelling) == KEY


@pytest.mark.parametrize("spelling", NON_CANONICAL)
def test_an_idempotency_key_in_another_spelling_is_refused(spelling: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_key(spelling)
    assert caught.value.details == {"field": "Idempotency-Key"}


@pytest.mark.parametrize("revision", [0, 1, INT4_MAX])
def test_an_expected_revision_within_the_column_is_taken(revision: int) -> None:
    update = InterestUpdate.parse({"interest_theme_ids": [], "expected_revision": revision}, set())
    assert update.expected_revision == revision


@pytest.mark.parametrize("revision", [INT4_MAX + 1, 2**40, 2**63, -1, -(2**63)])
def test_an_expected_revision_beyond_the_integer_column_is_400(revision: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        InterestUpdate.parse({"interest_theme_ids": [], "expected_revision": revision}, set())
    assert caught.value.details == {"field": "expected_revision"}


# Header bytes are latin-1: b"\xb2" arrives as "²", which str.isdigit() calls a digit.
@pytest.mark.parametrize("declared", ["\u00b2", "1\u00b3", "-1", "1e3"])
async def test_a_content_length_that_is_not_ascii_digits_is_not_trusted(declared: str) -> None:
    body: list[Message] = [{"type": "http.request", "body": b"{}", "more_body": False}]

    async def receive() -> Message:
        return body.pop(0)

    headers = [
        (b"content-length", declared.encode("latin-1")),
        (b"content-type", b"application/json"),
    ]
    request = Request({"type": "http", "method": "PUT", "headers": headers}, receive)
    assert await read_json(request, 1024) == {}


def json_request(messages: list[Message]) -> Request:
    async def receive() -> Message:
        return messages.pop(0)

    headers = [(b"content-type", b"application/json")]
    return Request({"type": "http", "method": "POST", "headers": headers}, receive)


async def test_a_body_in_several_messages_is_read_whole() -> None:
    request = json_request(
        [
            {"type": "http.request", "body": b'{"a":', "more_body": True},
            {"type": "http.request", "body": b"", "more_body": True},
            {"type": "http.request", "body": b" [1, 2]}", "more_body": False},
        ]
    )
    assert await read_json(request, 1024) == {"a": [1, 2]}
    with pytest.raises(RuntimeError):  # consumed, as Starlette's stream leaves it
        await request.body()


async def test_a_body_read_before_is_read_again() -> None:
    request = json_request([{"type": "http.request", "body": b'{"b": 1}', "more_body": False}])
    assert await request.body() == b'{"b": 1}'
    assert await read_json(request, 1024) == {"b": 1}


async def test_a_body_over_the_limit_is_refused_before_its_end() -> None:
    messages: list[Message] = [
        {"type": "http.request", "body": b"[" + b"1," * 300, "more_body": True},
        {"type": "http.request", "body": b"1" * 600, "more_body": True},
        {"type": "http.request", "body": b"1]", "more_body": False},
    ]
    with pytest.raises(PayloadTooLarge):
        await read_json(json_request(messages), 1024)
    assert len(messages) == 1  # the last message was never asked for


async def test_a_client_gone_before_the_end_of_its_body_is_a_disconnect() -> None:
    request = json_request(
        [
            {"type": "http.request", "body": b"{", "more_body": True},
            {"type": "http.disconnect"},
        ]
    )
    with pytest.raises(ClientDisconnect):
        await read_json(request, 1024)
    assert await request.is_disconnected()


async def test_an_empty_body_is_not_json() -> None:
    request = json_request([{"type": "http.request", "body": b"", "more_body": False}])
    with pytest.raises(InvalidInput):
        await read_json(request, 1024)
