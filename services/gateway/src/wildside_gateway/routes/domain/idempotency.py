"""Idempotency keys for route submission (pure rules)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from wildside_common.errors import Conflict, InvalidInput
from wildside_common.inputs import canonical_uuid

HEADER = "Idempotency-Key"
AGE_BUCKETS = (
    (timedelta(minutes=1), "lt_1m"),
    (timedelta(hours=1), "lt_1h"),
    (timedelta(hours=24), "lt_24h"),
)


def parse_key(raw: str | None) -> str | None:
    """The header's canonical UUID in lower case, None when absent; anything else
    (braces, `urn:uuid:`, no hyphens) is 400 (`wildside_common.inputs`)."""
    if raw is None:
        return None
    key = canonical_uuid(raw.strip())
    if key is None:
        raise InvalidInput.field(HEADER, "must be a UUID (8-4-4-4-12 hexadecimal digits)")
    return key


def user_scope(user_id: str) -> str:
    """A short, stable, non-reversible label for a user in metrics."""
    return hashlib.sha256(user_id.encode()).hexdigest()[:8]


def age_bucket(created_at: datetime, now: datetime) -> str:
    age = now - created_at
    for limit, label in AGE_BUCKETS:
        if age < limit:
            return label
    return "ge_24h"


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """What a key is bound to: the payload fingerprint and the first response."""

    fingerprint: str
    request_id: str
    status_code: int
    body: dict[str, Any]
    created_at: datetime

    def replay_for(self, fingerprint: str) -> StoredResponse:
        if fingerprint != self.fingerprint:
            raise Conflict(
                "Idempotency key conflict", {"reason": "the key was used with a different payload"}
            )
        return self
