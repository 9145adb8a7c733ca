"""`schemas/asyncapi.yaml` documents the topology, headers and messages the code uses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from wildside_common import codec
from wildside_common.bus import dead_letter, topology
from wildside_common.messages import MESSAGE_TYPES, RouteStatus, can_transition

pytestmark = pytest.mark.unit

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((SCHEMAS / "asyncapi.yaml").read_text())
    return loaded


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def bus_channels(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The JetStream channels: every channel but the gateway's WebSocket (server `gateway`)
    and the core NATS ones (`x-wildside-core-nats`)."""
    return [
        channel
        for channel in document["channels"].values()
        if {"$ref": "#/servers/gateway"} not in channel.get("servers", [])
        and not channel.get("x-wildside-core-nats")
    ]


def core_channels(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in document["channels"].values() if c.get("x-wildside-core-nats")]


def test_live_walk_channels_are_core_nats_and_in_no_stream(document: dict[str, Any]) -> None:
    channels = core_channels(document)
    assert {c["address"] for c in channels} == {
        topology.walk_position_subject("{request_id}"),
        topology.walk_guidance_subject("{request_id}"),
    }
    patterns = [p for config in topology.streams() for p in config.subjects or []]
    for channel in channels:
        assert "x-wildside-stream" not in channel
        address = re.sub(r"{\w+}", "x", channel["address"])
        assert not any(_matches(pattern, address) for pattern in patterns), address


def test_is_an_asyncapi_3_document(document: dict[str, Any]) -> None:
    assert document["asyncapi"] == "3.0.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert document["defaultContentType"] == "application/msgpack"
    assert {"channels", "operations", "components"} <= document.keys()


def test_every_reference_resolves(document: dict[str, Any]) -> None:
    all_refs = refs(document)
    assert len(all_refs) > 20
    for ref in all_refs:
        if ref.startswith("#/"):
            assert resolve(document, ref) is not None
        else:
            assert (SCHEMAS / ref).is_file(), ref


def test_channel_addresses_are_the_topologys_subjects(document: dict[str, Any]) -> None:
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert topology.ROUTE_JOB_SUBJECT in addresses
    assert topology.ENRICHMENT_JOB_SUBJECT in addresses
    assert topology.status_subject("{request_id}") in addresses
    assert topology.dead_letter_subject("{stream}", "{consumer}") in addresses
    assert f"{topology.MAX_DELIVERIES_ADVISORY}.{{stream}}.{{consumer}}" in addresses
    assert f"{topology.TERMINATED_ADVISORY}.{{stream}}.{{consumer}}" in addresses
    for channel in document["channels"].values():
        declared = set(re.findall(r"{(\w+)}", channel["address"]))
        assert declared == set(channel.get("parameters", {})), channel["address"]


def test_every_stream_is_documented_with_its_subjects(document: dict[str, Any]) -> None:
    channels = bus_channels(document)
    # all but /ws and the two core NATS channels of live walks
    assert len(channels) == len(document["channels"]) - 1 - 2
    assert len(core_channels(document)) == 2
    documented = {channel["x-wildside-stream"] for channel in channels}
    assert documented == {config.name for config in topology.streams()}
    by_stream = {config.name: config.subjects or [] for config in topology.streams()}
    for channel in channels:
        address = re.sub(r"{\w+}", "x", channel["address"])
        patterns = by_stream[channel["x-wildside-stream"]]
        assert any(_matches(pattern, address) for pattern in patterns), address


def _matches(pattern: str, subject: str) -> bool:
    want, have = pattern.split("."), subject.split(".")
    for index, token in enumerate(want):
        if token == ">":
            return len(have) > index
        if index >= len(have) or token not in ("*", have[index]):
            return False
    return len(want) == len(have)


def test_every_message_type_is_documented(document: dict[str, Any]) -> None:
    messages = document["components"]["messages"]
    for name, kind in MESSAGE_TYPES.items():
        message = messages[name]
        assert message["payload"]["schema"]["$ref"] == f"./{name}.schema.json"
        assert message["contentType"] == "application/msgpack"
        pinned = message["headers"]["allOf"][1]["properties"]
        assert pinned[codec.SCHEMA_HEADER] == {"const": name}
        assert pinned[codec.SCHEMA_VERSION_HEADER] == {"const": str(kind.schema_version)}


def test_examples_match_their_schemas_and_models(document: dict[str, Any]) -> None:
    headers_schema = document["components"]["schemas"]["BusHeaders"]
    for name, kind in MESSAGE_TYPES.items():
        schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
        for example in document["components"]["messages"][name]["examples"]:
            assert list(Draft202012Validator(schema).iter_errors(example["payload"])) == []
            assert kind.from_wire(example["payload"]).to_wire() == example["payload"]
            if "headers" in example:
                Draft202012Validator(headers_schema).validate(example["headers"])
                assert example["headers"][codec.SCHEMA_HEADER] == name


def test_headers_are_documented(document: dict[str, Any]) -> None:
    bus = document["components"]["schemas"]["BusHeaders"]["properties"]
    assert {"Nats-Msg-Id", "traceparent", codec.SCHEMA_HEADER, codec.SCHEMA_VERSION_HEADER} <= (
        bus.keys()
    )
    dlq = document["components"]["schemas"]["DeadLetterHeaders"]
    names = [value for key, value in vars(dead_letter).items() if key.endswith("_HEADER")]
    assert len(names) >= 5
    assert set(names) <= dlq["properties"].keys()
    assert dead_letter.REASON_HEADER in dlq["required"]


def test_documented_transitions_are_the_models(document: dict[str, Any]) -> None:
    transitions = document["channels"]["routeStatus"]["x-wildside-transitions"]
    assert set(transitions) == {status.value for status in RouteStatus}
    for current, allowed in transitions.items():
        for new in RouteStatus:
            assert can_transition(RouteStatus(current), new) == (new.value in allowed)
    description = document["channels"]["routeStatus"]["description"]
    assert "queued -> running -> succeeded" in description
    assert "running -> failed" in description


def test_operations_point_at_channels_and_their_messages(document: dict[str, Any]) -> None:
    for name, operation in document["operations"].items():
        assert operation["action"] in ("send", "receive"), name
        channel_ref = operation["channel"]["$ref"]
        for message in operation["messages"]:
            assert message["$ref"].startswith(channel_ref + "/messages/"), name
    consumers = {
        op["x-wildside-consumer"]["durable"]
        for op in document["operations"].values()
        if "x-wildside-consumer" in op
    }
    assert consumers == {topology.ROUTER_CONSUMER, topology.ENRICHER_CONSUMER}
