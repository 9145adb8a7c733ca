"""Keyset pagination: opaque cursors, page parameters, the `Paginated[T]` envelope.

Ordering requirements
    The listing must be ordered by a *unique, total* key, usually `(timestamp, id)`, served
    by an index over exactly those columns in that order (e.g. `users (created_at, id)`).
    A cursor stores the key of a page's boundary row, so the next page is
    `WHERE (created_at, id) > (:t, :id) ORDER BY created_at, id LIMIT :limit + 1` and the
    previous one `WHERE (created_at, id) < (:t, :id) ORDER BY created_at DESC, id DESC`,
    reversed. Rows sharing a timestamp are neither skipped nor repeated because the id
    breaks the tie. Descending listings swap the comparisons.

Cursors
    url-safe base64 (no padding) of the JSON `{"k": [key...], "d": "next"|"prev",
    "n": depth}`; `k` holds strings and integers (timestamps as ISO 8601 strings), `n`
    counts pages from the first one (for the traversal-depth metric). Cursors are opaque
    to clients and not signed: a forged cursor only moves the window. A cursor is at most
    `MAX_CURSOR_CHARS` long and its depth at most `MAX_DEPTH`; a `(timestamp, id)` key
    holds an ISO 8601 instant with an offset (years 1-9999 in UTC) and a canonical UUID
    (`wildside_common.inputs`), so nothing a client sends reaches the database unchecked.

Limits
    `PageParams.parse` takes the raw `limit` and `cursor` query values; the limit
    defaults to 20 and may not exceed 100 unless an endpoint sets its own bounds.

Error mapping
    Every bad input is `InvalidInput` (HTTP 400, code `invalid_request`) with
    `details.code`: `invalid_cursor` (not base64, not JSON, wrong shape),
    `unsupported_direction` (a direction other than next/prev) or `invalid_limit`
    (not an integer, below 1, above the maximum). Adapters count them by that code.

This module is pure (no I/O, no framework); see docs/pagination.md.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from wildside_common.errors import InvalidInput
from wildside_common.inputs import INT4_MAX, canonical_uuid, utc_instant

T = TypeVar("T")
KeyPart = str | int
Key = tuple[KeyPart, ...]
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
INVALID_CURSOR = "invalid_cursor"
UNSUPPORTED_DIRECTION = "unsupported_direction"
INVALID_LIMIT = "invalid_limit"
# Ours are ~140 characters; the cap keeps decoding cheap and nesting shallow.
MAX_CURSOR_CHARS = 2048
MAX_DEPTH = INT4_MAX


class Direction(StrEnum):
    NEXT = "next"
    PREV = "prev"


def _bad_cursor(problem: str) -> InvalidInput:
    return InvalidInput(f"cursor: {problem}", {"field": "cursor", "code": INVALID_CURSOR})


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a keyset-ordered listing: the boundary row's key and where to go."""

    key: Key
    direction: Direction = Direction.NEXT
    depth: int = 0

    def __post_init__(self) -> None:
        if not self.key or not all(_is_part(part) for part in self.key):
            raise _bad_cursor("the key must be a non-empty list of strings and integers")
        if not 0 <= self.depth <= MAX_DEPTH:
            raise _bad_cursor(f"the depth must be from 0 to {MAX_DEPTH}")

    def encode(self) -> str:
        body = {"k": list(self.key), "d": str(self.direction), "n": self.depth}
        raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """The cursor `text` encodes; `InvalidInput` with a `details.code` otherwise."""
        if len(text) > MAX_CURSOR_CHARS:
            raise _bad_cursor(f"longer than {MAX_CURSOR_CHARS} characters")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            raise _bad_cursor("not url-safe base64") from None
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):  # bad UTF-8 or JSON, too many digits, too deep
            raise _bad_cursor("not JSON") from None
        if not isinstance(body, dict) or set(body) - {"k", "d", "n"} or "k" not in body:
            raise _bad_cursor("wrong shape")
        key, depth = body["k"], body.get("n", 0)
        if not isinstance(key, list) or type(depth) is not int:
            raise _bad_cursor("wrong shape")
        direction = body.get("d", "next")
        if direction not in (Direction.NEXT.value, Direction.PREV.value):
            raise InvalidInput(
                "cursor: the direction must be next or prev",
                {"field": "cursor", "code": UNSUPPORTED_DIRECTION},
            )
        return cls(tuple(key), Direction(direction), depth)


def time_id_key(stamp: datetime, row_id: object) -> Key:
    """The cursor key of a row ordered by `(timestamp, id)`."""
    return (stamp.isoformat(), str(row_id))


def time_id_position(params: PageParams) -> tuple[datetime, uuid.UUID] | None:
    """The `(timestamp, uuid)` a cursor of a `(timestamp, id)` listing points at.

    None for the first page; `invalid_cursor` unless the key is an instant with an
    offset and a canonical UUID (`wildside_common.inputs`).
    """
    if params.cursor is None:
        return None
    key = params.cursor.key
    if len(key) == 2 and isinstance(key[0], str):
        stamp = utc_instant(key[0], naive_is_utc=False)
        row_id = canonical_uuid(key[1])
        if stamp is not None and row_id is not None:
            return stamp, uuid.UUID(row_id)
    raise _bad_cursor("not a cursor of this listing")


def _is_part(value: object) -> bool:
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


@dataclass(frozen=True, slots=True)
class PageParams:
    """How many rows to return, from where."""

    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None

    @classmethod
    def parse(
        cls,
        limit: str | None,
        cursor: str | None,
        default: int = DEFAULT_LIMIT,
        maximum: int = MAX_LIMIT,
    ) -> PageParams:
        """Page parameters from raw query values: an absent limit is the default, an empty
        one (`limit=`) is invalid like any other non-integer (the documents declare an
        integer); an absent or empty cursor is the first page."""
        return cls(_parse_limit(limit, default, maximum), Cursor.decode(cursor) if cursor else None)

    @property
    def direction(self) -> Direction:
        return self.cursor.direction if self.cursor else Direction.NEXT

    @property
    def depth(self) -> int:
        return self.cursor.depth if self.cursor else 0


def _parse_limit(raw: str | None, default: int, maximum: int) -> int:
    if raw is None:
        return default
    details = {"field": "limit", "code": INVALID_LIMIT, "maximum": maximum}
    text = raw.strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise InvalidInput(f"limit: must be an integer from 1 to {maximum}", details)
    value = int(text)
    if not 1 <= value <= maximum:
        raise InvalidInput(f"limit: must be an integer from 1 to {maximum}", details)
    return value


@dataclass(frozen=True, slots=True)
class Window(Generic[T]):
    """One page of rows in listing order, with the cursors to its neighbours."""

    items: list[T]
    next_cursor: Cursor | None
    prev_cursor: Cursor | None


def assemble(rows: Sequence[T], params: PageParams, key_of: Callable[[T], Key]) -> Window[T]:
    """Build a page from up to `limit + 1` rows fetched in the direction of travel.

    Rows fetched backwards (direction prev) come nearest-first and are reversed here;
    the extra row only tells whether there is more in the direction of travel.
    """
    more = len(rows) > params.limit
    items = list(rows[: params.limit])
    backwards = params.direction is Direction.PREV
    if backwards:
        items.reverse()
    if not items:
        return Window(items, None, None)
    has_next = more if not backwards else True
    has_prev = more if backwards else params.cursor is not None
    depth = params.depth
    return Window(
        items,
        Cursor(key_of(items[-1]), Direction.NEXT, min(depth + 1, MAX_DEPTH)) if has_next else None,
        Cursor(key_of(items[0]), Direction.PREV, max(depth - 1, 0)) if has_prev else None,
    )


@dataclass(frozen=True, slots=True)
class Links:
    self: str
    next: str | None
    prev: str | None


def page_url(base: str, query: Sequence[tuple[str, str]], limit: int, cursor: str | None) -> str:
    """`base` with the query kept, except `limit` and `cursor`, which are replaced."""
    kept = [(name, value) for name, value in query if name not in ("limit", "cursor")]
    kept.append(("limit", str(limit)))
    if cursor is not None:
        kept.append(("cursor", cursor))
    return f"{base}?{urlencode(kept)}"


@dataclass(frozen=True, slots=True)
class Paginated(Generic[T]):
    """The envelope `{"data": [...], "limit": N, "links": {"self", "next", "prev"}}`."""

    data: list[T]
    limit: int
    links: Links

    @classmethod
    def build(
        cls, window: Window[T], params: PageParams, base: str, query: Sequence[tuple[str, str]]
    ) -> Paginated[T]:
        """The envelope with absolute links; `base` is scheme://host/path of the listing."""
        current = params.cursor.encode() if params.cursor else None

        def link(cursor: Cursor | None) -> str | None:
            return page_url(base, query, params.limit, cursor.encode()) if cursor else None

        links = Links(
            page_url(base, query, params.limit, current),
            link(window.next_cursor),
            link(window.prev_cursor),
        )
        return cls(window.items, params.limit, links)

    def to_wire(self, serialize: Callable[[T], Any]) -> dict[str, Any]:
        return {
            "data": [serialize(item) for item in self.data],
            "limit": self.limit,
            "links": {"self": self.links.self, "next": self.links.next, "prev": self.links.prev},
        }
