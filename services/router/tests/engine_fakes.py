"""Hand-made networks, candidates and in-memory fakes for the engine's tests."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence

import numpy as np

from wildside_common.messages import BoundingBox, GenerateRouteJob, GeoPoint, utc_now
from wildside_router.domain.candidates import Candidate, ReachArea
from wildside_router.domain.network import StreetNetwork
from wildside_router.solver.baseline import exact_solve
from wildside_router.solver.model import OPInstance, OPSolution, ProgressFn

ORIGIN = GeoPoint(60.17, 24.94)
M_PER_DEG_LAT = 111_195.0


def offset(north_m: float, east_m: float, origin: GeoPoint = ORIGIN) -> GeoPoint:
    """The point `north_m` north and `east_m` east of `origin`."""
    lat = origin.lat + north_m / M_PER_DEG_LAT
    lng = origin.lng + east_m / (M_PER_DEG_LAT * math.cos(math.radians(origin.lat)))
    return GeoPoint(lat, lng)


def grid_network(size: int = 5, spacing: float = 100.0, first_id: int = 1) -> StreetNetwork:
    """A size x size street grid; node (r, c) has id first_id + r*size + c."""
    ids, lats, lngs = [], [], []
    for r in range(size):
        for c in range(size):
            point = offset(r * spacing, c * spacing)
            ids.append(first_id + r * size + c)
            lats.append(point.lat)
            lngs.append(point.lng)
    src, dst = [], []
    for r in range(size):
        for c in range(size):
            here = first_id + r * size + c
            if c + 1 < size:
                src.append(here)
                dst.append(here + 1)
            if r + 1 < size:
                src.append(here)
                dst.append(here + size)
    lengths = np.full(len(src), spacing)
    return StreetNetwork.build(
        np.array(ids), np.array(lats), np.array(lngs), (np.array(src), np.array(dst), lengths)
    )


def place(
    osm_id: int,
    at: GeoPoint,
    themes: Sequence[str] = ("history",),
    name: str | None = "Place",
    popularity: float = 0.5,
    tags: dict[str, str] | None = None,
) -> Candidate:
    return Candidate(
        "node", osm_id, at.lat, at.lng, name, tuple(themes), popularity,
        tags if tags is not None else {"historic": "memorial"},
    )  # fmt: skip


def route_job(
    minutes: int = 30,
    themes: Sequence[str] = ("history",),
    start: GeoPoint = ORIGIN,
    end: GeoPoint | None = None,
    seed: int | None = 7,
) -> GenerateRouteJob:
    return GenerateRouteJob(
        str(uuid.uuid4()), str(uuid.uuid4()), start, minutes, tuple(themes), utc_now(),
        end=end, seed=seed,
    )  # fmt: skip


class ExactSolver:
    """`RouteSolver` by exhaustive dynamic programming (tiny instances only)."""

    def solve(
        self, instance: OPInstance, time_limit: float, seed: int, progress: ProgressFn | None
    ) -> OPSolution:
        return exact_solve(instance)


class FakeCandidates:
    def __init__(self, places: list[Candidate]) -> None:
        self.places = places
        self.areas: list[ReachArea] = []

    async def within(self, area: ReachArea, themes: Sequence[str], limit: int) -> list[Candidate]:
        self.areas.append(area)
        return [p for p in self.places if area.contains(p.lat, p.lng)][:limit]


class FakeNetworkSource:
    def __init__(self, network: StreetNetwork | None) -> None:
        self.network = network
        self.loads = 0
        self.version = "v1"

    async def fingerprint(self) -> str:
        return self.version

    async def load(self) -> StreetNetwork | None:
        self.loads += 1
        return self.network


class FakeEnrichment:
    def __init__(self) -> None:
        self.requests: list[tuple[BoundingBox, tuple[str, ...], str, int]] = []

    async def request(
        self, bbox: BoundingBox, themes: Sequence[str], request_id: str, found: int
    ) -> None:
        self.requests.append((bbox, tuple(themes), request_id, found))
