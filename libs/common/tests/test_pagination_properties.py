"""Property tests (hypothesis): cursors round-trip; paging forward then back agrees."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wildside_common.pagination import Cursor, Direction, PageParams, Window, assemble

pytestmark = pytest.mark.unit

parts = st.one_of(st.text(max_size=40), st.integers(min_value=-(2**63), max_value=2**63))
cursors = st.builds(
    Cursor,
    st.lists(parts, min_size=1, max_size=4).map(tuple),
    st.sampled_from(list(Direction)),
    st.integers(min_value=0, max_value=10_000),
)


@given(cursors)
def test_decode_of_encode_is_identity(cursor: Cursor) -> None:
    assert Cursor.decode(cursor.encode()) == cursor


@given(st.text(max_size=60))
def test_decoding_arbitrary_text_never_crashes(text: str) -> None:
    try:
        Cursor.decode(text)
    except Exception as exc:
        assert type(exc).__name__ == "InvalidInput"


def walk(rows: list[tuple[int, int]], limit: int, params: PageParams) -> Window[tuple[int, int]]:
    def fetch(p: PageParams) -> list[tuple[int, int]]:
        if p.cursor is None:
            return rows[: limit + 1]
        key = tuple(p.cursor.key)
        if p.direction is Direction.NEXT:
            return [row for row in rows if row > key][: limit + 1]
        return [row for row in reversed(rows) if row < key][: limit + 1]

    return assemble(fetch(params), params, lambda row: (row[0], row[1]))


@settings(max_examples=150, deadline=None)
@given(
    st.sets(st.tuples(st.integers(0, 15), st.integers(0, 1000)), max_size=60).map(sorted),
    st.integers(min_value=1, max_value=12),
)
def test_paging_forward_then_backward_returns_the_same_pages(
    rows: list[tuple[int, int]], limit: int
) -> None:
    params = PageParams(limit)
    forward = []
    window = walk(rows, limit, params)
    forward.append(window.items)
    while window.next_cursor is not None:
        params = PageParams(limit, window.next_cursor)
        window = walk(rows, limit, params)
        forward.append(window.items)
    assert [row for page in forward for row in page] == rows
    backward = [window.items]
    while window.prev_cursor is not None:
        window = walk(rows, limit, PageParams(limit, window.prev_cursor))
        backward.append(window.items)
    assert list(reversed(backward)) == forward
