"""The `/ws` messages of `schemas/asyncapi.yaml` as JSON Schema validators: each message's
payload with its `$ref`s (in the document, or to a schema file next to it) inlined."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"
CHANNEL = "statusSocket"


def load() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((SCHEMAS / "asyncapi.yaml").read_text("utf-8"))
    return document


def _pointer(document: dict[str, Any], ref: str) -> Any:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def inline(document: dict[str, Any], node: Any) -> Any:
    """`node` with every `$ref` replaced by what it names (recursively)."""
    if isinstance(node, list):
        return [inline(document, item) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str):
        if ref.startswith("#/"):
            target = _pointer(document, ref)
        else:  # a schema file of schemas/; its own $id and $schema are dropped
            loaded = json.loads((SCHEMAS / ref).read_text("utf-8"))
            target = {k: v for k, v in loaded.items() if k not in ("$id", "$schema")}
        rest = {k: v for k, v in node.items() if k != "$ref"}
        resolved = inline(document, target)
        return {**resolved, **inline(document, rest)} if rest else resolved
    return {key: inline(document, value) for key, value in node.items()}


@dataclass(frozen=True)
class WsMessage:
    name: str  # the channel's message key
    type: str  # the frame's "type"
    validator: Draft202012Validator
    examples: list[dict[str, Any]]


def _messages(document: dict[str, Any], action: str) -> dict[str, WsMessage]:
    """The /ws messages the gateway sends (`send`) or reads (`receive`), by frame type."""
    found: dict[str, WsMessage] = {}
    for operation in document["operations"].values():
        if operation["channel"]["$ref"] != f"#/channels/{CHANNEL}":
            continue
        if operation["action"] != action:
            continue
        for ref in operation["messages"]:
            message = inline(document, _pointer(document, ref["$ref"]))
            schema = message["payload"]
            types = {
                branch["properties"]["type"]["const"] for branch in schema.get("anyOf", [schema])
            }
            assert len(types) == 1, (ref, types)
            (kind,) = types
            validator = Draft202012Validator(
                schema, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            payloads = [example["payload"] for example in message.get("examples", [])]
            found[kind] = WsMessage(ref["$ref"].rsplit("/", 1)[-1], kind, validator, payloads)
    return found


def server_messages(document: dict[str, Any]) -> dict[str, WsMessage]:
    return _messages(document, "send")


def client_messages(document: dict[str, Any]) -> dict[str, WsMessage]:
    return _messages(document, "receive")


def violations(messages: dict[str, WsMessage], frame: Any) -> list[str]:
    """Why `frame` is none of `messages` (empty when it is the one its type names)."""
    if not isinstance(frame, dict) or frame.get("type") not in messages:
        return [f"no documented message has type {frame!r}"]
    validator = messages[frame["type"]].validator
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(frame)]
