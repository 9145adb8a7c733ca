"""The shared rules for values from outside: canonical UUIDs, UTC instants, bounded ints."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wildside_common.inputs import INT4_MAX, bounded_int, canonical_uuid, utc_instant

pytestmark = pytest.mark.unit

ID = "12345678-9abc-4def-8123-456789abcdef"


@pytest.mark.parametrize("text", [ID, ID.upper(), "12345678-9ABC-4def-8123-456789ABCDEF"])
def test_a_canonical_uuid_in_either_case_comes_back_in_lower_case(text: str) -> None:
    assert canonical_uuid(text) == ID


@pytest.mark.parametrize(
    "text",
    [
        "{" + ID + "}",
        "urn:uuid:" + ID,
        ID.replace("-", ""),
        ID + "\n",
        " " + ID,
        ID[:-1],
        ID[:-1] + "g",
        ID.replace("1", "\uff11"),  # a full-width digit: str.isdigit() says yes
        "",
        "\x00" * 36,
    ],
)
def test_every_other_spelling_python_may_accept_is_refused(text: str) -> None:
    assert canonical_uuid(text) is None


@pytest.mark.parametrize("value", [None, 7, uuid.UUID(ID), [ID], b"x"])
def test_a_uuid_must_be_text(value: object) -> None:
    assert canonical_uuid(value) is None


@given(st.uuids())
def test_every_uuid_in_its_standard_form_is_canonical(value: uuid.UUID) -> None:
    assert canonical_uuid(str(value)) == str(value)


@given(st.text(max_size=50))
def test_whatever_is_accepted_is_what_str_uuid_gives(text: str) -> None:
    accepted = canonical_uuid(text)
    assert accepted is None or accepted == str(uuid.UUID(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T12:00:00+02:00", datetime(2026, 3, 1, 10, tzinfo=UTC)),
        ("2026-03-01T12:00:00", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("0001-01-01T00:00-14:00", datetime(1, 1, 1, 14, tzinfo=UTC)),
        ("9999-12-31T23:59+14:00", datetime(9999, 12, 31, 9, 59, tzinfo=UTC)),
    ],
)
def test_an_instant_comes_back_in_utc(text: str, expected: datetime) -> None:
    value = utc_instant(text)
    assert value == expected and value is not None and value.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00+14:00", "9999-12-31T23:59-14:00", "yesterday", "", "2026-02-30T00:00Z"],
)
def test_an_instant_outside_years_1_to_9999_in_utc_or_malformed_is_refused(text: str) -> None:
    assert utc_instant(text) is None


def test_an_instant_without_offset_may_be_refused() -> None:
    assert utc_instant("2026-03-01T12:00:00", naive_is_utc=False) is None
    assert utc_instant("2026-03-01T12:00:00Z", naive_is_utc=False) is not None


@pytest.mark.parametrize(
    ("value", "accepted"),
    [(0, 0), (INT4_MAX, INT4_MAX), (INT4_MAX + 1, None), (2**40, None), (-1, None)],
)
def test_an_integer_is_bounded(value: int, accepted: int | None) -> None:
    assert bounded_int(value, 0, INT4_MAX) == accepted


@pytest.mark.parametrize("value", [True, 1.0, "1", None, float("nan")])
def test_an_integer_is_an_int_and_not_a_bool(value: object) -> None:
    assert bounded_int(value, 0, 10) is None


def test_a_new_uuid4_is_a_random_version_4_uuid_in_canonical_form() -> None:
    from wildside_common.inputs import new_uuid4

    ids = [new_uuid4() for _ in range(4000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert str(parsed) == text == canonical_uuid(text)
        assert parsed.version == 4 and parsed.variant == uuid.RFC_4122
    # Every hex digit and all four variant digits occur: the random bits are kept.
    assert {text[19] for text in ids} == set("89ab")
    assert {text[0] for text in ids} == set("0123456789abcdef")
