"""msgpack codec for typed bus messages, with the schema headers the bus carries."""

from __future__ import annotations

from typing import Any, TypeVar

import msgpack

from wildside_common.errors import InvalidInput
from wildside_common.messages import Message

M = TypeVar("M", bound=Message)

SCHEMA_HEADER = "Wildside-Schema"
SCHEMA_VERSION_HEADER = "Wildside-Schema-Version"


def encode(message: Message) -> bytes:
    """Pack a message's wire dict as msgpack."""
    packed: bytes = msgpack.packb(message.to_wire(), use_bin_type=True)
    return packed


def unpack(payload: bytes) -> dict[str, Any]:
    """The msgpack map of a payload, not yet validated; else `InvalidInput`."""
    try:
        data: Any = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
        raise InvalidInput("payload is not valid msgpack", {"reason": str(exc)}) from None
    except Exception as exc:  # msgpack raises a few unrelated types on garbage
        raise InvalidInput("payload is not valid msgpack", {"reason": repr(exc)}) from None
    if not isinstance(data, dict):
        raise InvalidInput("payload must be a map")
    return data


def decode(kind: type[M], payload: bytes) -> M:
    """Unpack and validate; anything malformed raises `InvalidInput`."""
    result: M = kind.from_wire(unpack(payload))
    return result


def schema_headers(message: Message) -> dict[str, str]:
    return {SCHEMA_HEADER: message.schema_name, SCHEMA_VERSION_HEADER: str(message.schema_version)}
