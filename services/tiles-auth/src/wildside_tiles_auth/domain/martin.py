"""How Martin 1.3.1 reads a request URI: a model of its routing, to check tiles-auth by.

tiles-auth's rule (route_tiles.py) accepts a narrow, canonical grammar; this module says
what Martin itself would serve for any URI, so tests can prove that every URI the rule
accepts is read by Martin the same way, and that no spelling of a source that takes a
`request_id` reaches its function without the ownership check. Read from maplibre/martin
at tag martin-v1.3.1 and the crates its Cargo.lock pins (actix-web 4.12.1, actix-router
0.5.3, serde_urlencoded 0.7.1, form_urlencoded 1.2.2):

- martin/src/srv/server.rs wraps the app in `NormalizePath::new(TrailingSlash::MergeOnly)`
  (actix-web middleware/normalize.rs): runs of `/` in the raw path become one `/`; a
  trailing slash stays. Nothing else is normalised: no dot segments, no case, no `\\`.
- Routes, in registration order (`register_services`): `/health`, `/catalog`,
  `/{ids}/{z}/{x}/{y}.{ext}` (301 to the same tile without the extension),
  `/{source_ids}` (TileJSON), `/{source_ids}/{z}/{x}/{y}` (the tile),
  `/tiles/{source_ids}/{z}/{x}/{y}` (301), then sprites, fonts, styles and `/`. A
  `{name}` is one non-empty segment (`[^/]+`) and the whole path must match.
- actix-router url.rs: routes match the path percent-decoded except `%25 %2F %2B`
  (`Quoter::new(b"", b"%/+")`), invalid escapes left as they are, read as lossy UTF-8.
- actix-router de.rs: a captured segment is decoded once more, fully (`FULL_QUOTER`), when
  it becomes a `Path<...>` field: `%%35F` reads `%5F` to the router and `_` to the handler.
- content.rs `TileRequest`: `z: u8`, `x, y: u32` by Rust's `str::parse` (leading `+` and
  zeros accepted); a segment that does not parse is a 404.
- martin/src/source.rs `TileSources::get_sources`: `source_ids.split(',')`, each id
  looked up exactly (case-sensitive) in a map; one unknown id makes the request a 404.
- content.rs `DynTileSource::new`: for a source that takes a query, the raw query string
  goes through serde_urlencoded into a `HashMap<String, String>` (form_urlencoded: pairs
  split on `&` only, `+` is a space, keys and values percent-decoded, a later duplicate
  key replaces an earlier one); martin-core postgres/utils.rs `query_to_json` parses each
  value as JSON when it is JSON, else keeps it as a string: that object is the function's
  `query_params`, where `get_route_tile` reads `query_params ->> 'request_id'`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

_HEX = b"0123456789abcdefABCDEF"
_ROUTER_PROTECTED = b"%/+"
_EXTENSION = re.compile(r"[^/]+\.[^/]+")
_UNSIGNED = re.compile(r"\+?[0-9]+")


@dataclass(frozen=True, slots=True)
class MartinReading:
    """What Martin does with a URI: which handler runs, on which sources, with what query.

    `route` is one of health, catalog, tile, tilejson, redirect, error (a 404 from a
    handler's path extraction), or other (no tile handler: sprites, fonts, styles, `/`).
    """

    route: str
    source_ids: tuple[str, ...] = ()
    query_params: Mapping[str, Any] = field(default_factory=dict)


def requote(data: bytes, protected: bytes = b"") -> bytes:
    """actix-router's `Quoter::requote`: decode every valid `%XX` except protected ASCII."""
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == 0x25 and i + 2 < len(data) and data[i + 1] in _HEX and data[i + 2] in _HEX:
            byte = int(data[i + 1 : i + 3], 16)
            if not (byte < 128 and byte in protected):
                out.append(byte)
                i += 3
                continue
        out.append(data[i])
        i += 1
    return bytes(out)


def _lossy(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def router_path(raw_path: str) -> str:
    """The path actix matches routes against: slashes merged, then partly decoded."""
    merged = re.sub("//+", "/", raw_path) or "/"
    return _lossy(requote(merged.encode(), _ROUTER_PROTECTED))


def segment_value(segment: str) -> str:
    """A captured segment as the handler's `Path<...>` sees it (decoded in full)."""
    return _lossy(requote(segment.encode()))


def form_pairs(query: str) -> list[tuple[str, str]]:
    """form_urlencoded::parse: `&`-separated pairs, `+` as space, percent-decoded."""
    pairs = []
    for piece in query.split("&"):
        if piece:
            key, _, value = piece.partition("=")
            pairs.append((_form_decode(key), _form_decode(value)))
    return pairs


def _form_decode(part: str) -> str:
    return _lossy(requote(part.replace("+", " ").encode()))


def _json_value(text: str) -> Any:
    def no_constants(name: str) -> Any:
        raise ValueError(name)  # serde_json has no NaN or Infinity

    try:
        return json.loads(text, parse_constant=no_constants)
    except ValueError:
        return text


def query_params(query: str) -> dict[str, Any]:
    """The JSON object a function source receives as `query_params` (last duplicate wins)."""
    return {key: _json_value(value) for key, value in dict(form_pairs(query)).items()}


def _unsigned(text: str, bits: int) -> int | None:
    if not _UNSIGNED.fullmatch(text):
        return None
    value = int(text)
    return value if value < 2**bits else None


def martin_reads(uri: str) -> MartinReading:
    """What Martin does with `uri` (the request after Traefik strips `/tiles`)."""
    raw_path, _, query = uri.partition("?")
    path = router_path(raw_path)
    if path in ("/health", "/catalog"):
        return MartinReading(path[1:])
    segments = path.split("/")[1:]
    if not all(segments) or not path.startswith("/"):
        return MartinReading("other")
    if len(segments) == 4 and _EXTENSION.fullmatch(segments[3]):
        return MartinReading("redirect")
    if len(segments) == 5 and segments[0] == "tiles":
        return MartinReading("redirect")
    if len(segments) not in (1, 4):
        return MartinReading("other")
    ids = tuple(segment_value(segments[0]).split(","))
    if len(segments) == 4:
        z, x, y = (segment_value(s) for s in segments[1:])
        if _unsigned(z, 8) is None or _unsigned(x, 32) is None or _unsigned(y, 32) is None:
            return MartinReading("error")
    return MartinReading("tile" if len(segments) == 4 else "tilejson", ids, query_params(query))


def postgres_uuid(text: str) -> str | None:
    """PostgreSQL's `text::uuid` (uuid.c string_to_uuid): optional braces, 32 hex digits,
    a `-` allowed after any group of four; anything else is invalid (None)."""
    body = text[1:-1] if text.startswith("{") and text.endswith("}") and len(text) > 1 else text
    digits = ""
    i = 0
    while len(digits) < 32:
        pair = body[i : i + 2]
        if len(pair) < 2 or any(c not in "0123456789abcdefABCDEF" for c in pair):
            return None
        digits += pair
        i += 2
        if body[i : i + 1] == "-" and len(digits) % 4 == 0 and len(digits) < 32:
            i += 1
    if i != len(body):
        return None
    return str(uuid.UUID(digits))


def function_request_id(params: Mapping[str, Any]) -> str | None:
    """The route `get_route_tile` draws for these `query_params`: `->> 'request_id'`,
    cast to uuid (None: an invalid one, which draws nothing)."""
    value = params.get("request_id")
    # A JSON number, array, object or boolean never reads as 32 hex digits: serde_json
    # keeps at most 20 digits of an integer and writes larger numbers with `.` and `e`.
    return postgres_uuid(value) if isinstance(value, str) else None
