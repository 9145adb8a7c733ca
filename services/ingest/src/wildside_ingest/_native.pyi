"""Type stub of the C++ reader (services/ingest/native/reader.cpp)."""

from collections.abc import Callable, Iterable, Sequence

def round3(value: float) -> float: ...
def header_box(path: str) -> tuple[float, float, float, float] | None: ...
def sha256_hex(data: bytes) -> str: ...
def canonical_json(tags: list[tuple[str, str]]) -> str: ...
def valid_utf8(data: bytes) -> bool: ...
def is_walkable(
    tags: dict[str, str],
    walkable: Iterable[str],
    trunk: Iterable[str],
    foot_allowed: Iterable[str],
    foot_forbidden: Iterable[str],
    access_forbidden: Iterable[str],
) -> bool: ...

class OsmReader:
    def __init__(self, path: str, batch_size: int, location_store: str = ...) -> None: ...
    def load_network(
        self,
        walkable: Iterable[str],
        trunk: Iterable[str],
        foot_allowed: Iterable[str],
        foot_forbidden: Iterable[str],
        access_forbidden: Iterable[str],
        rect: Sequence[float] | None,
        bounds: Sequence[float],
        touches: Callable[[list[tuple[float, float]]], bool],
    ) -> None: ...
    def load_pois(
        self,
        rules: Iterable[tuple[str, Iterable[str] | None]],
        keys: Iterable[str],
        wiki: bool,
        reference_keys: Iterable[str],
    ) -> None: ...
    def load_poi_rows(
        self,
        rules: Iterable[tuple[str, str, Iterable[str] | None]],
        selected: Iterable[str],
        rect: Sequence[float],
        weights: Iterable[tuple[str, Iterable[str] | None, float]],
        source: str,
    ) -> None: ...
    def scan(self) -> None: ...
    def relations(
        self,
    ) -> list[tuple[int, dict[str, str], tuple[tuple[int, str], ...]]]: ...
    def set_wire(self, wire: bool) -> None: ...
    def next_batch(
        self, edge_type: type, wire_type: type
    ) -> tuple[
        list[object] | object | None,
        dict[int, tuple[int, float, float]] | None,
        list[tuple[int, dict[str, str], float, float]],
        list[tuple[int, dict[str, str], list[tuple[float, float]] | None]],
        bytes | None,
        int,
    ]: ...
    def member_coords(self) -> dict[int, list[tuple[float, float]]]: ...
    @property
    def nodes_read(self) -> int: ...
    @property
    def ways_read(self) -> int: ...
    @property
    def vertex_count(self) -> int: ...
