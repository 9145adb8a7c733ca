"""The router's planning use case, `PlanRoute` (the `RoutePlanner` behind `GenerateRoute`).

Where to read it: `app.py` holds `GenerateRoute` (a job to one final status) and this
module the walk itself: the reach area, the candidates, the sparse-area enrichment
request, scoring and the solve (docs/engine.md). It depends on ports only
(`CandidateSource`, `NetworkProvider`, `EnrichmentRequester`, `PlanMetrics` in
`ports.py`; `RouteSolver` from the solver library) and is wired in `bootstrap.py`.

`plan` gathers its inputs on the event loop (the cached network, the candidate query),
runs the CPU-bound part (snapping, Dijkstra, the solver) in a worker thread, and asks
for enrichment when the area has fewer matching places than `sparse_threshold`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from wildside_common.messages import GenerateRouteJob
from wildside_common.route import Route
from wildside_common.themes import ThemeRules
from wildside_router.domain.candidates import reach_area
from wildside_router.domain.planner import PlannerSettings, plan_walk
from wildside_router.domain.scoring import InterestProfile, matching_places, select_candidates
from wildside_router.ports import (
    CandidateSource,
    EnrichmentRequester,
    NetworkProvider,
    PlanMetrics,
    Progress,
)
from wildside_router.solver.model import RouteSolver

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


class NoPlanMetrics:
    """`PlanMetrics` that records nothing."""

    def observe(self, pois_considered: int, proven_optimal: bool) -> None:
        return None


class PlanRoute:
    """`RoutePlanner`: the real engine (docs/engine.md)."""

    def __init__(
        self,
        candidates: CandidateSource,
        network: NetworkProvider,
        solver: RouteSolver,
        rules: ThemeRules,
        options: EngineOptions,
        enrichment: EnrichmentRequester | None = None,
        metrics: PlanMetrics | None = None,
    ) -> None:
        self.candidates = candidates
        self.network = network
        self.solver = solver
        self.rules = rules
        self.options = options
        self.enrichment = enrichment
        self.metrics = metrics or NoPlanMetrics()

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
        self.metrics.observe(route.pois_considered, route.proven_optimal)
        return route
