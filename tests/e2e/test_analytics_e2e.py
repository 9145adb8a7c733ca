"""Product analytics through the running services: a login, a route request and its
outcome reach a PostHog capture endpoint (a local stand-in) as typed events."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from websockets.sync.client import connect as ws_connect

from tests.e2e import stack
from tests.e2e.test_walking_skeleton import BODY, base, submit, wait_final
from wildside_common.testing.fake_posthog import FakePostHog

pytestmark = pytest.mark.e2e
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas" / "analytics"


@pytest.fixture(scope="module")
def posthog() -> Iterator[FakePostHog]:
    fake = FakePostHog().start()
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def services(
    stack_env: dict[str, str], posthog: FakePostHog
) -> Iterator[tuple[stack.Service, stack.Service]]:
    env = {
        **stack_env,
        "POSTHOG_API_KEY": "phc_e2e",
        "POSTHOG_HOST": posthog.url,
        "POSTHOG_FLUSH_INTERVAL_SECONDS": "0.2",
    }
    with stack.running(stack.gateway(env), stack.router(env)) as (gateway, router):
        yield gateway, router


def test_login_request_and_outcome_arrive_as_posthog_events(services, posthog) -> None:
    gateway, _ = services
    headers = stack.auth(gateway)  # logs in: UserLoggedIn
    ws_url = base(gateway).replace("http://", "ws://") + "/ws"
    with ws_connect(ws_url, subprotocols=stack.ws_protocols(gateway), open_timeout=5) as socket:
        response = httpx.post(
            f"{base(gateway)}/api/v1/routes",
            json={**BODY, "seed": 4242},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 202
        request_id = response.json()["request_id"]
        socket.send(json.dumps({"type": "subscribe", "request_id": request_id}))
        status = None
        while status not in ("succeeded", "failed"):
            status = json.loads(socket.recv(timeout=30)).get("status")
    logins = posthog.wait_for("UserLoggedIn")
    user_id = logins[0]["distinct_id"]
    mine = lambda e: e["properties"]["request_id"] == request_id  # noqa: E731
    # The router may first finish jobs other modules left queued on the shared stream.
    [requested] = posthog.wait_for("RouteRequested", where=mine)
    assert requested["distinct_id"] == user_id
    assert requested["properties"]["service"] == "gateway"
    assert requested["properties"]["seeded"] is True
    outcome = "RouteGenerated" if status == "succeeded" else "RouteFailed"
    [finished] = posthog.wait_for(outcome, where=mine)
    assert finished["distinct_id"] == user_id
    assert finished["properties"]["service"] == "router"
    assert finished["properties"]["schema_version"] == 1
    sent = json.dumps(posthog.events())
    assert "demo" not in sent and str(BODY["start"]["lat"]) not in sent  # no name, no place
    assert all(batch["api_key"] == "phc_e2e" for batch in posthog.batches)


def test_a_sign_up_arrives_as_a_user_signup_event(services, posthog) -> None:
    gateway, _ = services
    username = f"e2e-analytics-{uuid.uuid4().hex[:8]}"
    body = {"username": username, "password": "analytics pass phrase", "display_name": "A"}
    response = httpx.post(f"{base(gateway)}/api/v1/users", json=body, timeout=10)
    assert response.status_code == 201, response.text
    user_id = response.json()["id"]
    [signup] = posthog.wait_for("UserSignup", where=lambda e: e["distinct_id"] == user_id)
    properties = {k: v for k, v in signup["properties"].items() if not k.startswith("$")}
    assert properties == {
        "role": "user",
        "source": "signup",
        "schema_version": 1,
        "service": "gateway",
    }
    assert username not in json.dumps(posthog.events())  # the id only, never the name


def test_a_saved_route_arrives_as_user_saved_route_matching_its_schema(services, posthog) -> None:
    gateway, _ = services
    request_id = submit(gateway, {**BODY, "seed": 77})
    assert wait_final(gateway, request_id).json()["status"] == "succeeded"
    saved = httpx.post(
        f"{base(gateway)}/api/v1/saved-routes",
        json={"request_id": request_id, "name": "Secret garden tour"},
        headers=stack.auth(gateway),
        timeout=10,
    )
    assert saved.status_code == 201, saved.text
    [event] = posthog.wait_for(
        "UserSavedRoute", where=lambda e: e["properties"]["saved_route_id"] == saved.json()["id"]
    )
    schema = json.loads((SCHEMAS / "UserSavedRoute.schema.json").read_text())
    Draft202012Validator(schema, format_checker=FormatChecker()).validate(event["properties"])
    assert event["properties"]["request_id"] == request_id
    assert event["properties"]["service"] == "gateway"
    assert "Secret garden" not in json.dumps(event)  # the name never leaves
