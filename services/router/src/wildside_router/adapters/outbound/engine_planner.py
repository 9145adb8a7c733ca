"""The engine behind the `RoutePlanner` port: candidates, network, solver, enrichment.

`plan` gathers its inputs on the event loop (the cached network, the candidate query),
runs the CPU-bound part (snapping, Dijkstra, the solver) in a worker thread, and asks
for enrichment when the area has fewer matching places than `sparse_threshold`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client import Counter, Histogram

from wildside_common.messages import GenerateRouteJob
from wildside_common.route import Route
from wildside_common.themes import ThemeRules
from wildside_router.adapters.outbound.network_pg import NetworkCache
from wildside_router.domain.candidates import reach_area
from wildside_router.domain.orienteering import RouteSolver
from wildside_router.domain.planner import PlannerSettings, plan_walk
from wildside_router.domain.scoring import InterestProfile, matching_places, select_candidates
from wildside_router.ports import CandidateSource, EnrichmentRequester, Progress

POIS_CONSIDERED = Histogram(
    "wildside_engine_pois_considered",
    "Candidate places handed to the solver per route",
    buckets=(0, 1, 2, 5, 10, 20, 40, 60, 100, 200),
)
SOLVES = Counter(
    "wildside_engine_solves_total",
    "Routes planned, by whether the solver proved the route optimal",
    ["proven_optimal"],
)
# The candidate query fetches this many times the cap, so the scoring's diversity
# discount can still reach past a cluster of near-identical places.
PREFETCH_FACTOR = 4


@dataclass(frozen=True, slots=True)
class EngineOptions:
    """Candidate cap, sparse-area threshold, default dwell, and the planner's settings."""

    planner: PlannerSettings
    max_candidates: int = 60
    sparse_threshold: int = 5
    default_dwell: float = 5.0


class EnginePlanner:
    """`RoutePlanner`: the real engine (docs/engine.md)."""

    def __init__(
        self,
        candidates: CandidateSource,
        network: NetworkCache,
        solver: RouteSolver,
        rules: ThemeRules,
        options: EngineOptions,
        enrichment: EnrichmentRequester | None = None,
    ) -> None:
        self.candidates = candidates
        self.network = network
        self.solver = solver
        self.rules = rules
        self.options = options
        self.enrichment = enrichment

    async def plan(self, job: GenerateRouteJob, progress: Progress) -> Route:
        """The walk for `job`; the solver runs off the event loop."""
        options = self.options
        profile = InterestProfile.of(job.themes, self.rules.theme_ids)
        area = reach_area(job.start, job.end, options.planner.walk_metres(job.duration_minutes))
        network = await self.network.current()
        places = await self.candidates.within(
            area, sorted(profile.chosen), options.max_candidates * PREFETCH_FACTOR
        )
        found = matching_places(places, profile)
        sparse = found < options.sparse_threshold
        if sparse and self.enrichment is not None:
            await self.enrichment.request(area.bbox(), job.themes, job.request_id, found)

        def compute() -> Route:
            scored = select_candidates(
                places, profile, self.rules, options.max_candidates, options.default_dwell
            )
            return plan_walk(job, network, scored, profile, self.solver, options.planner, progress)

        route = replace(await asyncio.to_thread(compute), sparse_area=sparse)
        POIS_CONSIDERED.observe(route.pois_considered)
        SOLVES.labels(proven_optimal=str(route.proven_optimal).lower()).inc()
        return route


class SimulatedWork:
    """Wraps a planner, adding ROUTER_SIMULATED_WORK_SECONDS of reported, idle work first
    (reliability tests kill a worker mid-job or exceed the job timeout with it)."""

    def __init__(self, inner: Any, seconds: float) -> None:
        self.inner = inner
        self.seconds = seconds

    async def plan(self, job: GenerateRouteJob, progress: Progress) -> Route:
        """Wait `seconds` (reporting progress), then plan with the inner planner."""
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) < self.seconds:
            progress(0.5 * elapsed / self.seconds)
            await asyncio.sleep(min(0.05, self.seconds))
        result: Route = await self.inner.plan(job, progress)
        return result
