"""Keyset pagination: cursors, page parameters, page assembly and links."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from wildside_common.errors import InvalidInput
from wildside_common.pagination import (
    MAX_CURSOR_CHARS,
    MAX_DEPTH,
    Cursor,
    Direction,
    PageParams,
    Paginated,
    Window,
    assemble,
    page_url,
    time_id_position,
)

pytestmark = pytest.mark.unit


def raw_cursor(body: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def test_a_cursor_is_url_safe_base64_of_its_key_and_direction() -> None:
    cursor = Cursor(("2026-01-01T00:00:00+00:00", "abc"), Direction.PREV, 3)
    text = cursor.encode()
    assert "=" not in text and "+" not in text and "/" not in text
    body = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    assert body == {"k": ["2026-01-01T00:00:00+00:00", "abc"], "d": "prev", "n": 3}
    assert Cursor.decode(text) == cursor


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("!!!not-base64!!!", "invalid_cursor"),
        (base64.urlsafe_b64encode(b"\xff\xfe").decode(), "invalid_cursor"),
        (base64.urlsafe_b64encode(b"not json").decode(), "invalid_cursor"),
        (raw_cursor([1, 2]), "invalid_cursor"),
        (raw_cursor({"d": "next"}), "invalid_cursor"),
        (raw_cursor({"k": [], "d": "next"}), "invalid_cursor"),
        (raw_cursor({"k": [1.5], "d": "next"}), "invalid_cursor"),
        (raw_cursor({"k": [True], "d": "next"}), "invalid_cursor"),
        (raw_cursor({"k": ["a"], "d": "next", "x": 1}), "invalid_cursor"),
        (raw_cursor({"k": ["a"], "d": "next", "n": -1}), "invalid_cursor"),
        (raw_cursor({"k": ["a"], "d": "sideways"}), "unsupported_direction"),
        (raw_cursor({"k": ["a"], "d": 1}), "unsupported_direction"),
    ],
)
def test_bad_cursors_are_invalid_input_with_a_code(text: str, code: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        PageParams.parse(None, text)
    assert caught.value.details["code"] == code
    assert caught.value.details["field"] == "cursor"


@pytest.mark.parametrize(
    "limit", ["0", "101", "-1", "abc", "1.5", "", " ", "9999999", "\u00b2", "1\u0661"]
)
def test_bad_limits_are_invalid_limit(limit: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        PageParams.parse(limit, None)
    assert caught.value.details["code"] == "invalid_limit"


def test_limits_default_to_20_and_stop_at_the_maximum() -> None:
    assert PageParams.parse(None, None).limit == 20
    assert PageParams.parse("100", None).limit == 100
    assert PageParams.parse("1", None).limit == 1
    assert PageParams.parse(None, None, default=50, maximum=200).limit == 50
    assert PageParams.parse("200", None, default=50, maximum=200).limit == 200
    with pytest.raises(InvalidInput):
        PageParams.parse("201", None, default=50, maximum=200)


ROWS = [(f"t{i // 3:03d}", f"id{i:03d}") for i in range(10)]  # timestamps shared by 3 rows


def fetch(params: PageParams) -> list[tuple[str, str]]:
    """An in-memory keyset query, as a database would run it."""
    if params.cursor is None:
        return ROWS[: params.limit + 1]
    key = tuple(params.cursor.key)
    if params.direction is Direction.NEXT:
        return [row for row in ROWS if row > key][: params.limit + 1]
    return [row for row in reversed(ROWS) if row < key][: params.limit + 1]


def test_pages_forward_then_back_return_the_same_pages() -> None:
    params = PageParams(4)
    forward = []
    while True:
        window = assemble(fetch(params), params, lambda row: row)
        forward.append(window.items)
        if window.next_cursor is None:
            break
        params = PageParams(4, window.next_cursor)
    assert [row for page in forward for row in page] == ROWS
    assert window.prev_cursor is not None
    backward = [window.items]
    while window.prev_cursor is not None:
        params = PageParams(4, window.prev_cursor)
        window = assemble(fetch(params), params, lambda row: row)
        backward.append(window.items)
    assert list(reversed(backward)) == forward
    assert params.depth == 0 and window.prev_cursor is None


def test_the_first_page_has_no_prev_and_the_last_no_next() -> None:
    first = assemble(fetch(PageParams(20)), PageParams(20), lambda row: row)
    assert first.items == ROWS and first.next_cursor is None and first.prev_cursor is None
    no_rows: list[tuple[str, str]] = []
    empty = assemble(no_rows, PageParams(5), lambda row: row)
    assert empty.items == [] and empty.next_cursor is None


def test_links_are_absolute_and_keep_the_other_query_parameters() -> None:
    params = PageParams(2, Cursor(("t000", "id001")))
    window = assemble(fetch(params), params, lambda row: row)
    query = [("from", "2026-01-01T00:00:00Z"), ("limit", "2"), ("cursor", "old"), ("x", "a b")]
    page = Paginated.build(window, params, "https://api.example/api/v1/users", query)
    wire = page.to_wire(lambda row: {"id": row[1]})
    assert wire["limit"] == 2
    assert [item["id"] for item in wire["data"]] == ["id002", "id003"]
    links = wire["links"]
    assert links["self"].startswith("https://api.example/api/v1/users?from=2026-01-01T00")
    assert "x=a+b" in links["next"] and "limit=2" in links["next"]
    assert links["self"].count("cursor=") == 1 and "cursor=old" not in links["self"]
    next_cursor = links["next"].split("cursor=")[1]
    assert Cursor.decode(next_cursor) == Cursor(("t001", "id003"), Direction.NEXT, 1)
    assert Cursor.decode(links["prev"].split("cursor=")[1]).direction is Direction.PREV


def test_page_url_without_a_cursor() -> None:
    assert (
        page_url("http://h/p", [("cursor", "c"), ("q", "1")], 5, None) == "http://h/p?q=1&limit=5"
    )


def test_time_id_positions_accept_only_their_own_shape() -> None:
    stamp = datetime(2026, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
    key = (stamp.isoformat(), "6f1c6c1e-8a43-4b8e-9d0e-0e4bb7c8a111")
    at = time_id_position(PageParams(5, Cursor(key)))
    assert at is not None and at[0] == stamp and str(at[1]) == key[1]
    assert time_id_position(PageParams(5)) is None
    for bad in [("x", "y"), (stamp.isoformat(),), (1, "a"), ("2026-01-01T00:00:00", key[1])]:
        with pytest.raises(InvalidInput) as caught:
            time_id_position(PageParams(5, Cursor(bad)))
        assert caught.value.details["code"] == "invalid_cursor"


ROW_ID = "6f1c6c1e-8a43-4b8e-9d0e-0e4bb7c8a111"
HOSTILE_CURSORS = {
    "depth of 4,000 digits": '{"k":["a"],"d":"next","n":' + "9" * 4000 + "}",
    "depth over the maximum": '{"k":["a"],"d":"next","n":' + str(MAX_DEPTH + 1) + "}",
    "arrays nested 3,000 deep": '{"k":' + "[" * 3000 + "]" * 3000 + "}",
    "arrays nested 900 deep": '{"k":' + "[" * 900 + "]" * 900 + "}",
    "a number of 5,000 digits": '{"k":[' + "9" * 5000 + "]}",
}


@pytest.mark.parametrize("body", HOSTILE_CURSORS.values(), ids=HOSTILE_CURSORS.keys())
def test_hostile_cursors_are_invalid_cursor_not_a_crash(body: str) -> None:
    text = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    with pytest.raises(InvalidInput) as caught:
        PageParams.parse(None, text)
    assert caught.value.details["code"] == "invalid_cursor"


def test_a_cursor_longer_than_the_cap_is_refused_before_decoding() -> None:
    long = Cursor(("x" * MAX_CURSOR_CHARS,)).encode()
    with pytest.raises(InvalidInput) as caught:
        PageParams.parse(None, long)
    assert caught.value.details["code"] == "invalid_cursor"
    assert "longer than" in caught.value.message


def test_the_deepest_cursor_still_pages_on() -> None:
    params = PageParams(1, Cursor(("a",), Direction.NEXT, MAX_DEPTH))
    window: Window[str] = assemble(["a", "b"], params, lambda row: (row,))
    assert window.next_cursor is not None and window.next_cursor.depth == MAX_DEPTH


@pytest.mark.parametrize(
    "key",
    [
        ("0001-01-01T00:00:00+14:00", ROW_ID),  # year 0 in UTC: asyncpg cannot send it
        ("9999-12-31T23:59:00-14:00", ROW_ID),  # year 10000 in UTC
        ("2026-01-01T00:00:00+00:00", "{" + ROW_ID + "}"),
        ("2026-01-01T00:00:00+00:00", "urn:uuid:" + ROW_ID),
        ("2026-01-01T00:00:00+00:00", ROW_ID.replace("-", "")),
        ("2026-01-01T00:00:00+00:00", 7),
    ],
)
def test_time_id_positions_refuse_what_the_database_cannot_take(key: tuple[str, object]) -> None:
    with pytest.raises(InvalidInput) as caught:
        time_id_position(PageParams(5, Cursor(key)))  # type: ignore[arg-type]
    assert caught.value.details["code"] == "invalid_cursor"


def test_time_id_positions_take_the_edges_of_the_range_in_utc() -> None:
    key = ("0001-01-01T00:00:00-14:00", ROW_ID.upper())
    at = time_id_position(PageParams(5, Cursor(key)))
    assert at is not None and at[0] == datetime(1, 1, 1, 14, tzinfo=UTC)
    assert str(at[1]) == ROW_ID
