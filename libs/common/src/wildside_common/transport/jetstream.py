"""The error tree mapped to JetStream acknowledgements.

- success                                    -> ack
- InvalidInput, NotFound, Forbidden, Conflict,
  Unauthorized (a bad message: never retried) -> term: the worker dead-letters it on this
                                                  delivery with the reason "<code>: <message>"
                                                  (the error's stable code and message, never
                                                  a stack trace), then acknowledges it
- Unavailable, RateLimited, Timeout           -> nak(delay): try again later
- anything else (a bug or a crash)            -> nak(delay) with backoff; MaxDeliver bounds it,
                                                  then the max-deliveries advisory dead-letters it
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from wildside_common.errors import (
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Timeout,
    Unauthorized,
    Unavailable,
)

BACKOFF_SECONDS = (1.0, 5.0, 15.0, 30.0, 60.0)


class Action(StrEnum):
    ACK = "ack"
    TERM = "term"
    NAK = "nak"


@dataclass(frozen=True, slots=True)
class Disposition:
    action: Action
    delay: float = 0.0
    reason: str = ""


def backoff(attempt: int, schedule: tuple[float, ...] = BACKOFF_SECONDS) -> float:
    """Delay before delivery `attempt + 1` (attempt counts from 1), bounded."""
    return schedule[min(max(attempt, 1), len(schedule)) - 1]


def disposition_for(error: BaseException | None, attempt: int) -> Disposition:
    if error is None:
        return Disposition(Action.ACK)
    if isinstance(error, InvalidInput | NotFound | Forbidden | Conflict | Unauthorized):
        return Disposition(Action.TERM, reason=f"{error.code}: {error.message}")
    if isinstance(error, RateLimited):
        return Disposition(Action.NAK, float(error.retry_after), reason="rate_limited")
    if isinstance(error, Unavailable):
        return Disposition(Action.NAK, max(error.retry_after, backoff(attempt)), "unavailable")
    if isinstance(error, Timeout):
        return Disposition(Action.NAK, backoff(attempt), reason="timeout")
    return Disposition(Action.NAK, backoff(attempt), reason=f"error: {type(error).__name__}")
