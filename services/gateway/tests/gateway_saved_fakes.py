"""In-memory fake of the saved-routes store (kept honest by test_saved_store_contract.py,
which runs the same suite against the PostgreSQL adapter)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from wildside_common.pagination import (
    Direction,
    PageParams,
    Window,
    assemble,
    time_id_key,
    time_id_position,
)
from wildside_gateway.routes.domain.idempotency import StoredResponse
from wildside_gateway.routes.ports import IdempotencyClaim
from wildside_gateway.saved.domain.saved import (
    NewSavedRoute,
    SavedRoute,
    SavedRouteSummary,
    SourceRequest,
)
from wildside_gateway.shared.domain.walks import WalkSummary


class FakeSaving:
    def __init__(self, store: FakeSavedRoutes, user_id: str) -> None:
        self.store = store
        self.user_id = user_id
        self.inserted: list[SavedRoute] = []
        self.claims: dict[str, tuple[str, IdempotencyClaim]] = {}

    async def stored_response(self, key: str) -> StoredResponse | None:
        found = self.store.keys.get((self.user_id, key))
        if found is None or found[1] <= datetime.now(UTC):
            return None
        return found[0]

    async def source(self, request_id: str) -> SourceRequest | None:
        return self.store.sources.get(request_id)

    async def count(self) -> int:
        return sum(1 for owner, _ in self.store.saved.values() if owner == self.user_id) + len(
            self.inserted
        )

    async def insert(self, new: NewSavedRoute) -> SavedRoute:
        now = self.store.tick()
        walk = WalkSummary.with_route(new.payload, new.route)
        saved = SavedRoute(
            SavedRouteSummary(new.saved_id, new.name, new.request_id, now, now, walk), new.route
        )
        self.inserted.append(saved)
        return saved

    async def claim(self, saved_id: str, claim: IdempotencyClaim) -> None:
        self.claims[claim.key] = (saved_id, claim)

    def commit(self) -> None:
        for saved in self.inserted:
            self.store.saved[saved.summary.saved_id] = (self.user_id, saved)
        for key, (saved_id, claim) in self.claims.items():
            stored = StoredResponse(
                claim.fingerprint, saved_id, claim.status_code, dict(claim.body), datetime.now(UTC)
            )
            self.store.keys[(self.user_id, key)] = (stored, datetime.now(UTC) + claim.ttl)


class FakeSavedRoutes:
    def __init__(self) -> None:
        self.sources: dict[str, SourceRequest] = {}
        self.saved: dict[str, tuple[str, SavedRoute]] = {}
        self.keys: dict[tuple[str, str], tuple[StoredResponse, datetime]] = {}
        self.locks: dict[str, asyncio.Lock] = {}
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)

    def tick(self) -> datetime:
        self.clock += timedelta(microseconds=1)
        return self.clock

    @asynccontextmanager
    async def saving(self, user_id: str) -> AsyncIterator[FakeSaving]:
        lock = self.locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            saving = FakeSaving(self, user_id)
            yield saving
            saving.commit()

    def _mine(self, user_id: str, saved_id: str) -> SavedRoute | None:
        found = self.saved.get(saved_id)
        return found[1] if found is not None and found[0] == user_id else None

    async def get(self, user_id: str, saved_id: str) -> SavedRoute | None:
        return self._mine(user_id, saved_id)

    async def page(self, user_id: str, params: PageParams) -> Window[SavedRouteSummary]:
        mine = sorted(
            (saved.summary for owner, saved in self.saved.values() if owner == user_id),
            key=lambda item: (item.created_at, item.saved_id),
            reverse=True,
        )
        at = time_id_position(params)
        if at is not None:
            edge = (at[0], str(at[1]))
            if params.direction is Direction.PREV:
                mine = [i for i in reversed(mine) if (i.created_at, i.saved_id) > edge]
            else:
                mine = [i for i in mine if (i.created_at, i.saved_id) < edge]
        return assemble(
            mine[: params.limit + 1], params, lambda i: time_id_key(i.created_at, i.saved_id)
        )

    async def rename(self, user_id: str, saved_id: str, name: str) -> SavedRouteSummary | None:
        saved = self._mine(user_id, saved_id)
        if saved is None:
            return None
        summary = replace(saved.summary, name=name, updated_at=self.tick())
        self.saved[saved_id] = (user_id, SavedRoute(summary, saved.route))
        return summary

    async def delete(self, user_id: str, saved_id: str) -> bool:
        if self._mine(user_id, saved_id) is None:
            return False
        del self.saved[saved_id]
        return True
