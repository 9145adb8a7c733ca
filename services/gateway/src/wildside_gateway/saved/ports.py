"""Ports of the saved-routes use cases, in domain words."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from wildside_common.errors import RateLimited
from wildside_common.pagination import PageParams, Window
from wildside_gateway.routes.domain.idempotency import StoredResponse
from wildside_gateway.routes.ports import IdempotencyClaim
from wildside_gateway.saved.domain.saved import (
    NewSavedRoute,
    SavedRoute,
    SavedRouteSummary,
    SourceRequest,
)


class Saving(Protocol):
    """One user's save in progress: an open transaction that holds the user's save lock,
    so two saves of one user run one after the other (the cap and a key hold under races)."""

    async def stored_response(self, key: str) -> StoredResponse | None:
        """The response the user's unexpired `Idempotency-Key` is bound to, if any."""
        ...

    async def source(self, request_id: str) -> SourceRequest | None:
        """The route request (with its route once succeeded); None when unknown or expired."""
        ...

    async def count(self) -> int:
        """How many saved routes the user has."""
        ...

    async def insert(self, new: NewSavedRoute) -> SavedRoute:
        """Store the copy; the saved route as stored (with its timestamps)."""
        ...

    async def claim(self, saved_id: str, claim: IdempotencyClaim) -> None:
        """Bind the user's key to this save (`saved_id`), its fingerprint and response."""
        ...


class SavedRoutes(Protocol):
    """Where saved routes are kept; every read and write is scoped to their owner."""

    def saving(self, user_id: str) -> AbstractAsyncContextManager[Saving]:
        """A transaction for one save by `user_id`, committed only if the block exits
        without error."""
        ...

    async def get(self, user_id: str, saved_id: str) -> SavedRoute | None:
        """The user's saved route; None when missing or another user's."""
        ...

    async def page(self, user_id: str, params: PageParams) -> Window[SavedRouteSummary]:
        """One page of the user's saved routes, newest first (`created_at, id` descending)."""
        ...

    async def rename(self, user_id: str, saved_id: str, name: str) -> SavedRouteSummary | None:
        """Rename the user's saved route; None when missing or another user's."""
        ...

    async def delete(self, user_id: str, saved_id: str) -> bool:
        """Delete the user's saved route; False when missing or another user's."""
        ...


class SaveLimiter(Protocol):
    async def acquire_many(self, user_ids: Sequence[str]) -> list[RateLimited | None]:
        """Count one save per entry; each entry's refusal or None when it may go ahead."""
        ...


class SavedMetrics(Protocol):
    def saved(self, outcome: str) -> None:
        """Count a save: `saved`, `replayed`, `not_found`, `not_succeeded`, `limit_reached`."""
        ...


class NullSavedMetrics:
    def saved(self, outcome: str) -> None:
        pass
