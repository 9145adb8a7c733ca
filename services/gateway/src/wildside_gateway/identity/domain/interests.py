"""A user's interest set: validation of a replacement and its optimistic revision.

The set carries a revision. A writer states the revision it read (`expected_revision`);
the write succeeds only if that is still the current one, and bumps it. A user who has
never saved interests has revision 0, so the first write may omit it or send 0.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from typing import Any

from wildside_common.errors import Conflict, InvalidInput
from wildside_common.inputs import INT4_MAX, bounded_int

MAX_INTERESTS = 100
FIELD = "interest_theme_ids"
MAX_REVISION = INT4_MAX  # user_interest_sets.revision is an `integer`


@dataclass(frozen=True, slots=True)
class InterestUpdate:
    theme_ids: tuple[str, ...]
    expected_revision: int | None

    def __post_init__(self) -> None:
        if len(self.theme_ids) > MAX_INTERESTS:
            raise InvalidInput.field(FIELD, f"at most {MAX_INTERESTS} ids", limit=MAX_INTERESTS)
        if len(set(self.theme_ids)) != len(self.theme_ids):
            seen: set[str] = set()
            for index, theme in enumerate(self.theme_ids):
                if theme in seen:
                    raise InvalidInput.field(f"{FIELD}[{index}]", f"duplicate id {theme!r}")
                seen.add(theme)
        revision = self.expected_revision
        if revision is not None and bounded_int(revision, 0, MAX_REVISION) is None:
            raise InvalidInput.field(
                "expected_revision", f"must be an integer from 0 to {MAX_REVISION}"
            )

    @classmethod
    def parse(cls, body: Any, known: Set[str]) -> InterestUpdate:
        """The update in a request body; 400 naming the field, index or limit at fault."""
        if not isinstance(body, dict):
            raise InvalidInput("the body must be a JSON object")
        for name in body:
            if name not in (FIELD, "expected_revision"):
                raise InvalidInput.field(str(name), "is not a known field")
        ids = body.get(FIELD)
        if not isinstance(ids, list):
            raise InvalidInput.field(FIELD, "must be a list of theme ids")
        if len(ids) > MAX_INTERESTS:
            raise InvalidInput.field(FIELD, f"at most {MAX_INTERESTS} ids", limit=MAX_INTERESTS)
        for index, theme in enumerate(ids):
            if not isinstance(theme, str):
                raise InvalidInput.field(f"{FIELD}[{index}]", "must be a string")
            if theme not in known:
                raise InvalidInput.field(f"{FIELD}[{index}]", f"unknown theme {theme!r}")
        revision = body.get("expected_revision")
        if revision is not None and (type(revision) is not int):
            raise InvalidInput.field("expected_revision", "must be an integer")
        return cls(tuple(ids), revision)


def check_revision(expected: int | None, actual: int) -> None:
    """Conflict unless the writer saw the current revision (missing counts only for 0)."""
    if (expected is None and actual == 0) or expected == actual:
        return
    raise Conflict(
        "the interests changed since they were read; reload and retry",
        {"expected_revision": expected, "actual_revision": actual},
    )
