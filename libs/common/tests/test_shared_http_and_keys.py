"""The one framework-error handler and the one key-loading log line the services share."""

from __future__ import annotations

import logging

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Route

from wildside_common.config import CommonSettings, EnvReader
from wildside_common.http import http_exception
from wildside_common.session_keys import KeyringSettings

pytestmark = pytest.mark.unit


async def test_framework_errors_are_envelopes_that_keep_the_framework_headers() -> None:
    async def ok(_: object) -> Response:
        return Response("ok")

    app = Starlette(
        routes=[Route("/only-get", ok, methods=["GET"])],
        exception_handlers={HTTPException: http_exception},
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        missing = await client.get("/nowhere")
        wrong = await client.post("/only-get")
    assert missing.status_code == 404
    assert orjson.loads(missing.content)["code"] == "not_found"
    assert wrong.status_code == 405 and set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD"}
    assert orjson.loads(wrong.content)["code"] == "invalid_request"


def test_announce_logs_warnings_then_the_loaded_keys_on_the_given_logger(
    caplog: pytest.LogCaptureFixture,
) -> None:
    env = EnvReader({})
    keys = KeyringSettings.from_env(env, CommonSettings.from_env(env, "test", 9100))
    log = logging.getLogger("wildside_test_service.bootstrap")
    with caplog.at_level(logging.INFO, logger=log.name):
        assert keys.announce(log) is keys.keyring
    records = [r for r in caplog.records if r.name == log.name]
    assert [r.levelno for r in records] == [logging.WARNING, logging.INFO]
    assert "ephemeral" in records[0].getMessage()
    assert records[1].getMessage() == "session keys loaded"
    assert records[1].__dict__["source"] == "ephemeral"
    assert records[1].__dict__["keys"] == keys.keyring.describe()
