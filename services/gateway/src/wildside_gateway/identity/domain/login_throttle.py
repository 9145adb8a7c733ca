"""Login throttling rules (OWASP Authentication cheat sheet), pure.

Two limits, both decided before the password is checked, so a refused guess costs no
argon2 run:

- per username (whether or not the account exists, so a refusal says nothing about it):
  at most `max_failures` failed logins in `failure_window`; the next attempt is refused
  (429 `too_many_attempts`) until the window, which starts at the first failure, ends.
  A successful login clears the username's count. Usernames are compared as the
  database compares them (citext: case-insensitive), so `Alice` and `alice` share one
  count; the count is kept under a hash, never the name.
- per client address, looser: at most `address_attempts` attempts (any outcome: each
  costs argon2's ~120 ms and 64 MiB) per `address_window`.

An attempt is counted when it starts, so concurrent guesses cannot all slip through
before the first failure is recorded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from wildside_common.errors import RateLimited


class TooManyAttempts(RateLimited):
    """A login refused by the throttle (HTTP 429 with Retry-After)."""

    code = "too_many_attempts"


class Limit(StrEnum):
    USERNAME = "username"
    ADDRESS = "address"


@dataclass(frozen=True, slots=True)
class LoginLimits:
    max_failures: int = 5
    failure_window: int = 900  # seconds
    address_attempts: int = 100
    address_window: int = 60  # seconds

    def __post_init__(self) -> None:
        for name in ("max_failures", "failure_window", "address_attempts", "address_window"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


def username_key(username: str) -> str:
    """The throttle's name for a username: as citext compares it (lower case), hashed."""
    return hashlib.sha256(username.lower().encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    username: str  # `username_key` of the name typed
    address: str  # the client address (see the HTTP adapter for proxies)

    @classmethod
    def of(cls, username: str, address: str) -> LoginAttempt:
        return cls(username_key(username), address)


@dataclass(frozen=True, slots=True)
class Lockout:
    """Why an attempt is refused: the limit, seconds until it lifts, and whether this
    attempt is the first one refused in the window (a lockout beginning)."""

    limit: Limit
    retry_after: int
    began: bool

    def error(self) -> TooManyAttempts:
        if self.limit is Limit.USERNAME:
            message = "too many failed logins for this username; try again later"
        else:
            message = "too many login attempts from this address; try again later"
        return TooManyAttempts(message, self.retry_after, {"limit": str(self.limit)})
