"""Sign-up and leaving rules (`identity.domain.accounts`), pure: usernames, passwords
(NIST SP 800-63B), the bodies, the re-authentication window."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wildside_common.errors import InvalidInput
from wildside_gateway.identity.adapters.outbound.common_passwords import ZxcvbnCommonPasswords
from wildside_gateway.identity.domain.accounts import (
    MAX_PASSWORD,
    MIN_PASSWORD,
    Departure,
    SignUp,
    WeakPassword,
    check_password,
    check_username,
    session_is_fresh,
)

pytestmark = pytest.mark.unit
COMMON = ZxcvbnCommonPasswords()
USERNAME_CHARS = string.ascii_letters + string.digits + "_-"


def never_common(password: str) -> bool:
    return False


@given(st.text(alphabet=USERNAME_CHARS, min_size=3, max_size=32))
def test_every_name_of_3_to_32_allowed_characters_is_a_username(name: str) -> None:
    assert check_username(name) == name


@given(
    st.one_of(
        st.text(alphabet=USERNAME_CHARS, max_size=2),
        st.text(alphabet=USERNAME_CHARS, min_size=33, max_size=80),
        st.text(min_size=3, max_size=32).filter(lambda s: any(c not in USERNAME_CHARS for c in s)),
    )
)
def test_anything_else_is_refused_naming_the_username(name: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_username(name)
    assert refused.value.details["field"] == "username"
    assert refused.value.code == "invalid_request"


@pytest.mark.parametrize("name", ["ünïcode", "wälker", "walker ", "a.b", "\u0430dmin", "x\u0000yz"])
def test_non_ascii_lookalikes_spaces_and_dots_are_not_usernames(name: str) -> None:
    with pytest.raises(InvalidInput):
        check_username(name)


@given(st.text(min_size=MIN_PASSWORD, max_size=MAX_PASSWORD), st.text(max_size=8))
def test_any_10_to_128_characters_that_are_not_common_or_the_name_are_accepted(
    password: str, username: str
) -> None:
    # No composition rules: spaces, emoji, any script count as characters.
    assert check_password(password, username + "@", never_common) == password


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-pw1", "too_short"),
        ("x" * (MAX_PASSWORD + 1), "too_long"),
        ("Walker-2026", "matches_username"),
        ("qwertyuiop", "common"),
        ("Password123", "common"),  # the list is compared ignoring case
        ("1q2w3e4r5t", "common"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(password: str, reason: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_password(password, "walker-2026", COMMON.is_common)
    assert refused.value.code == "weak_password"
    assert refused.value.details == {"field": "password", "reason": reason}


@given(st.text(min_size=1, max_size=MIN_PASSWORD - 1))
def test_every_password_under_10_characters_is_too_short(password: str) -> None:
    with pytest.raises(WeakPassword) as refused:
        check_password(password, "walker", never_common)
    assert refused.value.details["reason"] == "too_short"


def test_the_common_list_is_the_shipped_one_not_a_handful() -> None:
    assert len(COMMON) > 20_000
    assert COMMON.is_common("password") and COMMON.is_common("PASSWORD")
    assert not COMMON.is_common("correct horse battery staple 7")


def test_a_sign_up_body_is_checked_field_by_field() -> None:
    body = {"username": "New_walker-1", "password": "a long enough secret", "display_name": "N"}
    signup = SignUp.parse(body, COMMON.is_common)
    assert (signup.username, signup.display_name) == ("New_walker-1", "N")
    assert "secret" not in repr(signup)
    for bad, field in [
        ({**body, "role": "admin"}, "role"),
        ({k: v for k, v in body.items() if k != "display_name"}, "display_name"),
        ({**body, "display_name": "  "}, "display_name"),
        ({**body, "display_name": "x" * 129}, "display_name"),
        ({**body, "display_name": "bell\u0007"}, "display_name"),
        ({**body, "username": 7}, "username"),
        ({**body, "username": "no spaces"}, "username"),
    ]:
        with pytest.raises(InvalidInput) as refused:
            SignUp.parse(bad, COMMON.is_common)
        assert refused.value.details["field"] == field, bad
    with pytest.raises(InvalidInput):
        SignUp.parse(["not", "an", "object"], COMMON.is_common)


def test_a_departure_takes_a_password_or_nothing() -> None:
    assert Departure.parse(None).password is None
    assert Departure.parse({}).password is None
    assert Departure.parse({"password": "p"}).password == "p"
    assert "s3cr3t-value" not in repr(Departure.parse({"password": "s3cr3t-value"}))
    for bad in ({"password": ""}, {"password": 5}, {"pass": "x"}, "x", {"password": "x" * 1025}):
        with pytest.raises(InvalidInput):
            Departure.parse(bad)


def test_a_session_is_fresh_for_five_minutes() -> None:
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    assert session_is_fresh(issued, issued)
    assert session_is_fresh(issued, issued + timedelta(minutes=5))
    assert not session_is_fresh(issued, issued + timedelta(minutes=5, milliseconds=1))
