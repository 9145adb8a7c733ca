"""Hostile values for the input fuzz (hypothesis strategies).

Text for paths and queries; request bodies shaped like an operation's OpenAPI schema,
mostly valid with hostile leaves (so valid neighbours carry a bad value deep into the
code), or any JSON value, NaN and lone surrogates included, or raw bytes.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st

SAMPLE_ID = "0b7e4d1c-3f6a-4c1e-9a52-6d2f0e8b9c11"
DEEP = "__deep__"  # a string the body encoder replaces with JSON nested 3,000 deep


def uuid_spellings(value: str) -> list[str]:
    """`value` as uuid.UUID accepts it and asyncpg or our rule may not."""
    hexes = value.replace("-", "")
    return [
        value,
        value.upper(),
        "{" + value + "}",
        "urn:uuid:" + value,
        hexes,
        value + "-",
        value[:-1],
        value + "\x00",
        "{" + hexes + "}",
    ]


INTEGERS = [0, -1, 1, 2**31 - 1, 2**31, -(2**31) - 1, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1]
INTEGERS += [2**64, 10**40, int("9" * 400)]
FLOATS = [1e308, -1e308, 5e-324, -0.0, 0.5, 1e-7]
NOT_JSON_FLOATS = [float("nan"), float("inf"), float("-inf")]  # json.dumps writes NaN ...
TEXT = [
    "",
    " ",
    "a" * 10_000,
    "\x00",
    "nul\x00inside",
    "\ud800",
    "lone\udfffsurrogate",
    "\U0001f600",
    "\u00b2",
    "\u0663",
    "\uff11",
    "-0",
    "1e308",
    "1e309",
    "NaN",
    "-Infinity",
    "0x10",
    "1_000",
    "true",
    "null",
    "[]",
    "{}",
    "9" * 4000,
    *(str(n) for n in INTEGERS[:10]),
    *uuid_spellings(SAMPLE_ID),
    "00000000-0000-0000-0000-000000000000",
    "0001-01-01T00:00+14:00",
    "9999-12-31T23:59-14:00",
    "0000-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z",
    "2026-02-30T00:00:00Z",
    "2026-01-01T00:00:00+25:00",
    "2026-01-01",
    "1e308,0,0,0",
    "nan,nan,nan,nan",
    "-180,-90,180,90",
    ",,,",
    "../../etc/passwd",
    "%00",
    ";x=1",
    "' OR 1=1 --",
]


def _is_utf8(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _deep(depth: int = 3000) -> str:
    return "[" * depth + "]" * depth


# Leaves any JSON parser reads (hypothesis's text has no lone surrogates) ...
json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(INTEGERS),
    st.integers(),
    st.sampled_from(FLOATS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([text for text in TEXT if _is_utf8(text)]),
    st.text(max_size=20),
)
# ... and leaves a strict one refuses: NaN, Infinity, lone surrogates, 3,000 levels deep.
wild_leaves = json_leaves | st.sampled_from(
    [*NOT_JSON_FLOATS, *(text for text in TEXT if not _is_utf8(text)), DEEP]
)


def _values(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=12,
    )


json_values = _values(json_leaves)
wild_values = _values(wild_leaves)


def encode_json(value: Any) -> bytes:
    """JSON as an attacker may send it: NaN, Infinity and lone surrogates included."""
    text = json.dumps(value, ensure_ascii=True, allow_nan=True)
    return text.replace(json.dumps(DEEP), _deep()).encode()


STAMPS = ["2026-01-01T00:00:00+00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59-14:00"]
DEPTHS = [0, 1, -1, 2**31, 10**40, int("9" * 4000)]
# Cursors shaped like ours, (timestamp, id) key, with a hostile part ...
keyed_cursors = st.builds(
    lambda stamp, row_id, direction, depth: _b64(
        encode_json({"k": [stamp, row_id], "d": direction, "n": depth})
    ),
    st.sampled_from(STAMPS) | wild_leaves,
    st.sampled_from(uuid_spellings(SAMPLE_ID)) | wild_leaves,
    st.sampled_from(["next", "prev", "sideways"]),
    st.sampled_from(DEPTHS),
)
# ... or anything that decodes, or does not
cursors = (
    keyed_cursors
    | st.lists(wild_leaves, max_size=3).map(lambda key: _b64(encode_json({"k": key})))
    | st.sampled_from([_b64(b'{"k":' + _deep().encode() + b"}"), _b64(b"\xff\xfe"), "!!", "="])
)
texts = st.one_of(st.sampled_from(TEXT), st.text(max_size=40), cursors, st.integers().map(str))
# Plausible values of query parameters whose schema is a bare pattern.
QUERY_VALUES = {
    "cursor": keyed_cursors,
    "bbox": st.sampled_from(["24.9,60.1,25.0,60.2", "-180,-90,180,90", "0,0,0,0"]),
}
raw_bodies = st.sampled_from(
    [b"", b"\x00", b"\xff\xfe\xfd", b"{", b"nul", b"{}" * 1000, _deep(3000).encode()]
)


def quoted(value: str) -> str:
    """Percent-encoded, lone surrogates too (as the UTF-8-like bytes a client could send)."""
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


THEMES = ["history", "art", "food", "nature", "culture"]


def plausible(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values of the schema's own type, mostly valid, at and around its bounds."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "integer" in kinds:
        low, high = schema.get("minimum", -(2**31)), schema.get("maximum", 2**31 - 1)
        edges = [low, high, low - 1, high + 1, 2**31, 2**63]  # int4 and int8 overflow
        return mostly(st.sampled_from(edges), st.integers(low, high))
    if "number" in kinds:
        low, high = schema.get("minimum", -180), schema.get("maximum", 180)
        return st.floats(low, high) | st.sampled_from([low, high])
    if schema.get("format") == "uuid":
        return st.uuids().map(str)
    if schema.get("format") == "date-time":
        return st.sampled_from(STAMPS) | st.datetimes().map(lambda moment: moment.isoformat())
    return st.sampled_from(THEMES)


def mostly(
    valid: st.SearchStrategy[Any], hostile: st.SearchStrategy[Any]
) -> st.SearchStrategy[Any]:
    """Three valid draws to one hostile: most requests pass validation but for one value,
    so the hostile value gets as deep into the code as it can. (st.one_of(valid, hostile)
    would draw either as often; hypothesis shrinks `pick` towards 0, the valid side.)"""
    return st.integers(0, 3).flatmap(lambda pick: hostile if pick == 3 else valid)


def _mostly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return mostly(valid, json_values)


def shaped(schema: dict[str, Any], components: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values shaped like `schema` (objects keep their field names) with hostile leaves."""
    if "$ref" in schema:
        return shaped(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema["oneOf"]
        return st.one_of([shaped(option, components) for option in options])
    if "properties" in schema:
        fields = {name: shaped(sub, components) for name, sub in schema["properties"].items()}
        required = {name: fields.pop(name) for name in schema.get("required", [])}
        unknown = st.dictionaries(st.sampled_from(["x", "", "__proto__"]), json_values, max_size=1)
        whole = st.tuples(
            st.fixed_dictionaries(required, optional=fields), mostly(st.just({}), unknown)
        )
        return _mostly(whole.map(lambda parts: {**parts[1], **parts[0]}))
    if "items" in schema:
        return _mostly(st.lists(shaped(schema["items"], components), max_size=5))
    return _mostly(plausible(schema))


def request_ids(owned: str) -> st.SearchStrategy[str]:
    """Path ids: the user's own request and a stranger's, spelled every way, or anything."""
    spelled = uuid_spellings(owned) + uuid_spellings(SAMPLE_ID)
    return st.sampled_from(spelled) | texts
