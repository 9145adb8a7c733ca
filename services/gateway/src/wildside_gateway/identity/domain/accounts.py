"""Accounts people open and close themselves: sign-up rules and leaving, pure.

Usernames: 3-32 ASCII letters, digits, `_` and `-` (ASCII only, so two names never look
alike), compared case-insensitively as `users.username` (citext) compares them.

Passwords, as NIST SP 800-63B (5.1.1.2) asks of memorized secrets a user chooses: at
least 10 characters and at most 128 (counted as Unicode code points, any character
allowed, spaces too), not the username, and not in a list of commonly used passwords
(compared case-insensitively); no composition rules. A refusal is 400 `weak_password`
with `details.reason`: `too_short`, `too_long`, `matches_username` or `common`.

Only new passwords are held to these rules: accounts made by `wildside-manage` (the
development accounts among them) log in as before.

Leaving (`DELETE /api/v1/users/me`) needs the password, or a session issued less than
`REAUTHENTICATION_WINDOW` ago: a session left open on a shared computer cannot close the
account on its own.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from wildside_common.errors import Conflict, Forbidden, InvalidInput

MIN_USERNAME = 3
MAX_USERNAME = 32
USERNAME = re.compile(r"[A-Za-z0-9_-]{3,32}")
MIN_PASSWORD = 10
MAX_PASSWORD = 128
MAX_DISPLAY_NAME = 128
REAUTHENTICATION_WINDOW = timedelta(minutes=5)


class WeakPassword(InvalidInput):
    """A new password the rules refuse (HTTP 400); `details.reason` says which rule."""

    code = "weak_password"

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(f"password: {message}", {"field": "password", "reason": reason})


class UsernameTaken(Conflict):
    """Sign-up with a username someone has (in any letter case): HTTP 409."""

    code = "username_taken"


class SignupDisabled(Forbidden):
    """Sign-up is switched off (SIGNUP_ENABLED=false): HTTP 403."""

    code = "signup_disabled"


class ReauthenticationRequired(Forbidden):
    """Leaving without a password on a session older than the window: HTTP 403."""

    code = "reauthentication_required"


class WrongPassword(Forbidden):
    """Leaving with a password that is not the account's: HTTP 403 (not 401: the session
    itself is valid, and a client must not take this for being logged out)."""

    code = "wrong_password"


class LastAdmin(Conflict):
    """The one remaining administrator cannot delete their account: HTTP 409."""

    code = "last_admin"


def check_username(username: str) -> str:
    """The username as typed, if it is one; InvalidInput (field `username`) otherwise."""
    if USERNAME.fullmatch(username) is None:
        raise InvalidInput.field(
            "username",
            f"must be {MIN_USERNAME}-{MAX_USERNAME} letters (a-z, A-Z), digits, '_' or '-'",
        )
    return username


def check_password(password: str, username: str, is_common: Callable[[str], bool]) -> str:
    """The password, if the rules accept it for `username`; WeakPassword otherwise."""
    if len(password) < MIN_PASSWORD:
        raise WeakPassword(f"must be at least {MIN_PASSWORD} characters", "too_short")
    if len(password) > MAX_PASSWORD:
        raise WeakPassword(f"must be at most {MAX_PASSWORD} characters", "too_long")
    if password.casefold() == username.casefold():
        raise WeakPassword("must not be the username", "matches_username")
    if is_common(password):
        raise WeakPassword("is too common: it is in a list of passwords people often use", "common")
    return password


def check_display_name(display_name: str) -> str:
    if not display_name.strip():
        raise InvalidInput.field("display_name", "must not be blank")
    if len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidInput.field("display_name", f"must be at most {MAX_DISPLAY_NAME} characters")
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in display_name):
        raise InvalidInput.field("display_name", "must not contain control characters")
    return display_name


def _strings(
    body: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, str]:
    if not isinstance(body, dict):
        raise InvalidInput("the body must be a JSON object")
    for name in body:
        if name not in required + optional:
            raise InvalidInput.field(str(name), "is not a known field")
    for name in required + optional:
        value = body.get(name)
        if value is None:
            if name in required:
                raise InvalidInput.field(name, "is required")
            continue
        if not isinstance(value, str):
            raise InvalidInput.field(name, "must be a string")
    return {name: body[name] for name in required + optional if body.get(name) is not None}


@dataclass(frozen=True, slots=True)
class SignUp:
    """A sign-up body (`POST /api/v1/users`), checked except for the common-password list
    (the use case asks the list's port)."""

    username: str
    password: str
    display_name: str

    def __repr__(self) -> str:
        return f"SignUp(username={self.username!r})"

    @classmethod
    def parse(cls, body: Any, is_common: Callable[[str], bool]) -> SignUp:
        fields = _strings(body, ("username", "password", "display_name"))
        username = check_username(fields["username"])
        display_name = check_display_name(fields["display_name"])
        password = check_password(fields["password"], username, is_common)
        return cls(username, password, display_name)


@dataclass(frozen=True, slots=True)
class Departure:
    """A `DELETE /api/v1/users/me` body: the password, or nothing (a fresh session)."""

    password: str | None

    def __repr__(self) -> str:
        return f"Departure(password={'given' if self.password is not None else None})"

    @classmethod
    def parse(cls, body: Any) -> Departure:
        if body is None:
            return cls(None)
        password = _strings(body, (), ("password",)).get("password")
        if password is not None and not password:
            raise InvalidInput.field("password", "must not be empty")
        if password is not None and len(password) > 1024:
            raise InvalidInput.field("password", "must be at most 1024 characters")
        return cls(password)


def session_is_fresh(issued_at: datetime, now: datetime) -> bool:
    """Whether a session issued at `issued_at` may close its account without a password."""
    return now - issued_at <= REAUTHENTICATION_WINDOW
