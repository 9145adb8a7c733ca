"""An in-memory RouteOwners (kept honest by test_route_owners_contract.py)."""

from __future__ import annotations


class FakeRouteOwners:
    def __init__(self, owners: dict[str, str] | None = None) -> None:
        self.owners = dict(owners or {})
        self.lookups = 0

    async def owner_of(self, request_id: str) -> str | None:
        self.lookups += 1
        return self.owners.get(request_id)


class FakeTileStore:
    """Tile functions as canned bytes and comments (kept honest by
    test_tile_functions_contract.py, which runs the same checks on the real functions)."""

    def __init__(self, tiles: dict[str, bytes], comments: dict[str, str] | None = None) -> None:
        self.tiles = dict(tiles)
        self.comments = dict(comments or {})
        self.calls: list[tuple[str, int, int, int, dict]] = []

    async def tile(self, source: str, z: int, x: int, y: int, params) -> bytes:
        self.calls.append((source, z, x, y, dict(params)))
        return self.tiles.get(source, b"")

    async def comment(self, source: str) -> str | None:
        return self.comments.get(source)
