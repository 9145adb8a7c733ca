"""An in-memory RouteOwners (kept honest by test_route_owners_contract.py)."""

from __future__ import annotations


class FakeRouteOwners:
    def __init__(self, owners: dict[str, str] | None = None) -> None:
        self.owners = dict(owners or {})
        self.lookups = 0

    async def owner_of(self, request_id: str) -> str | None:
        self.lookups += 1
        return self.owners.get(request_id)
