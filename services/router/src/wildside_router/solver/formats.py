"""Parsers for the two public OP instance formats the benchmark uses.

- classic (Tsiligirides; Chao, Golden & Wasil): first line `Tmax P`, then one `x y score`
  line per node; node 0 is the start, node 1 the end; Euclidean distances, not rounded.
- OPLib (Kobeaga, Merino & Lozano): a TSPLIB header with `COST_LIMIT`, then
  `NODE_COORD_SECTION`, `NODE_SCORE_SECTION` and `DEPOT_SECTION`; a round trip from the
  depot; EUC_2D distances rounded to the nearest integer (TSPLIB `nint`).
"""

from __future__ import annotations

import math

import numpy as np

from wildside_common.errors import InvalidInput
from wildside_router.solver.model import FloatArray, OPInstance


def euclidean(coords: FloatArray) -> FloatArray:
    """Pairwise Euclidean distances between rows of `coords`."""
    diff = coords[:, np.newaxis, :] - coords[np.newaxis, :, :]
    return np.asarray(np.sqrt((diff**2).sum(axis=2)), dtype=np.float64)


def _floats(line: str, count: int, where: str) -> list[float]:
    parts = line.split()
    if len(parts) < count:
        raise InvalidInput(f"{where}: expected {count} numbers, got {line.strip()!r}")
    try:
        values = [float(p) for p in parts[:count]]
    except ValueError as exc:
        raise InvalidInput(f"{where}: not a number in {line.strip()!r}") from exc
    if not all(math.isfinite(v) for v in values):
        raise InvalidInput(f"{where}: non-finite number in {line.strip()!r}")
    return values


def parse_classic(text: str, name: str = "") -> OPInstance:
    """Parse the classic format: start node 0, end node 1, unrounded distances."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 3:
        raise InvalidInput("classic OP file needs a header and at least two nodes")
    budget = _floats(lines[0], 1, "line 1")[0]
    rows = [_floats(line, 3, f"line {k + 2}") for k, line in enumerate(lines[1:])]
    table = np.array(rows, dtype=np.float64)
    return OPInstance(euclidean(table[:, :2]), table[:, 2], budget, 0, 1, name=name)


def _sections(text: str) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Split a TSPLIB file into `KEY: value` header entries and named sections."""
    header: dict[str, str] = {}
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line == "EOF":
            continue
        key = line.split(":", 1)[0].strip().upper()
        if key.endswith("_SECTION"):
            current = sections.setdefault(key, [])
        elif ":" in line and not line[0].isdigit() and line[0] != "-":
            header[key] = line.split(":", 1)[1].strip()
            current = None
        elif current is not None:
            current.append(line)
        else:
            raise InvalidInput(f"OPLib: unexpected line {line!r}")
    return header, sections


def _indexed(lines: list[str], count: int, section: str, n: int) -> FloatArray:
    """Rows `id v1 .. v_count` keyed by 1-based node id, in id order."""
    values = np.full((n, count), np.nan)
    for line in lines:
        row = _floats(line, count + 1, section)
        node = int(row[0])
        if node != row[0] or not 1 <= node <= n:
            raise InvalidInput(f"{section}: bad node id in {line!r}")
        values[node - 1] = row[1:]
    if np.isnan(values).any():
        raise InvalidInput(f"{section}: needs one line per node (1..{n})")
    return values


def parse_oplib(text: str, name: str = "") -> OPInstance:
    """Parse an OPLib instance: round trip from the depot, EUC_2D rounded distances."""
    header, sections = _sections(text)
    try:
        n = int(header["DIMENSION"])
        budget = float(header["COST_LIMIT"])
    except (KeyError, ValueError) as exc:
        raise InvalidInput("OPLib: DIMENSION and COST_LIMIT are required") from exc
    if header.get("EDGE_WEIGHT_TYPE", "EUC_2D").upper() != "EUC_2D":
        raise InvalidInput("OPLib: only EDGE_WEIGHT_TYPE EUC_2D is supported")
    if n < 1 or "NODE_COORD_SECTION" not in sections or "NODE_SCORE_SECTION" not in sections:
        raise InvalidInput("OPLib: NODE_COORD_SECTION and NODE_SCORE_SECTION are required")
    coords = _indexed(sections["NODE_COORD_SECTION"], 2, "NODE_COORD_SECTION", n)
    scores = _indexed(sections["NODE_SCORE_SECTION"], 1, "NODE_SCORE_SECTION", n)[:, 0]
    depot = _depot(sections.get("DEPOT_SECTION", ["1", "-1"]), n)
    # TSPLIB nint: round half up, as the reference solutions were computed with it.
    distances = np.floor(euclidean(coords) + 0.5)
    return OPInstance(distances, scores, budget, depot, depot, name=name)


def _depot(lines: list[str], n: int) -> int:
    ids = [int(tok) for line in lines for tok in line.split() if tok.lstrip("-").isdigit()]
    depots = [v for v in ids if v != -1]
    if not depots or not 1 <= depots[0] <= n:
        raise InvalidInput("OPLib: DEPOT_SECTION needs a node id")
    return depots[0] - 1


def parse_instance(text: str, name: str = "") -> OPInstance:
    """Parse either format, telling them apart by OPLib's `DIMENSION` header."""
    if "NODE_COORD_SECTION" in text or "DIMENSION" in text.upper():
        return parse_oplib(text, name)
    return parse_classic(text, name)
