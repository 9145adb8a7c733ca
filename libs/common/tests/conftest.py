"""Shared fixtures: message schema validation; for the bus contract tests a private
nats-server per module, a client per test and job queues named for one test."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import nats
import pytest
from jsonschema import Draft202012Validator, FormatChecker
from nats.aio.client import Client

from wildside_common.bus.topology import WorkerPolicy, ensure_streams
from wildside_common.testing.bus import JobQueue, job_queue
from wildside_common.testing.servers import NatsServer

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})", re.I)

FORMATS = FormatChecker()


def _is_rfc3339(value: object) -> bool:
    # jsonschema checks date-time only with an optional package; this is the same rule.
    if not isinstance(value, str):
        return True
    if not RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value)
    return True


def _is_uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()


FORMATS.checks("date-time", raises=ValueError)(_is_rfc3339)
FORMATS.checks("uuid", raises=ValueError)(_is_uuid)


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FORMATS)


def _schema_errors(name: str, instance: Any) -> list[str]:
    return [error.message for error in _validator(name).iter_errors(instance)]


@pytest.fixture(scope="session")
def schema_errors() -> Callable[[str, Any], list[str]]:
    """`schema_errors(name, instance)`: messages of schemas/<name>.schema.json's errors."""
    return _schema_errors


@pytest.fixture(scope="module")
def bus_server(each_nats_server: NatsServer) -> NatsServer:
    """A nats-server of this module's own, of each version the bus runs on (the pinned
    one and Debian's 2.9.10): every bus contract test runs on both."""
    return each_nats_server


@pytest.fixture
async def bus(bus_server: NatsServer) -> AsyncIterator[Client]:
    client = await nats.connect(bus_server.url, name="wildside-tests", connect_timeout=2)
    try:
        await ensure_streams(client.jetstream())
        yield client
    finally:
        await client.close()


MakeQueue = Callable[[WorkerPolicy], Awaitable[JobQueue]]


@pytest.fixture
def make_queue(bus: Client) -> MakeQueue:
    """Create a job stream and consumer with the given policy, named for this test only."""

    async def make(policy: WorkerPolicy) -> JobQueue:
        return await job_queue(bus.jetstream(), policy)

    return make
