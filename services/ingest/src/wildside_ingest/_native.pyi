"""Type stub of the C++ readers (services/ingest/native/)."""

from collections.abc import Callable, Iterable, Sequence

def round3(value: float) -> float: ...
def is_walkable(
    tags: dict[str, str],
    walkable: Iterable[str],
    trunk: Iterable[str],
    foot_allowed: Iterable[str],
    foot_forbidden: Iterable[str],
    access_forbidden: Iterable[str],
) -> bool: ...

class NetworkReader:
    def __init__(
        self,
        path: str,
        walkable: Iterable[str],
        trunk: Iterable[str],
        foot_allowed: Iterable[str],
        foot_forbidden: Iterable[str],
        access_forbidden: Iterable[str],
        rect: Sequence[float] | None,
        bounds: Sequence[float],
        touches: Callable[[list[tuple[float, float]]], bool],
        batch_size: int,
    ) -> None: ...
    def next_batch(
        self, edge_type: type
    ) -> tuple[list[object], dict[int, tuple[int, float, float]]]: ...
    @property
    def ways_read(self) -> int: ...
    @property
    def vertex_count(self) -> int: ...

class PoiReader:
    def __init__(
        self,
        path: str,
        rules: Iterable[tuple[str, Iterable[str] | None]],
        keys: Iterable[str],
        wiki: bool,
        reference_keys: Iterable[str],
        member_ways: Iterable[int],
        skip_highway: bool,
        batch_size: int,
    ) -> None: ...
    def next_batch(
        self,
    ) -> tuple[
        list[tuple[int, dict[str, str], float, float]],
        list[tuple[int, dict[str, str], list[tuple[float, float]] | None]],
    ]: ...
    def member_coords(self) -> dict[int, list[tuple[float, float]]]: ...
    @property
    def nodes_read(self) -> int: ...
    @property
    def ways_read(self) -> int: ...
