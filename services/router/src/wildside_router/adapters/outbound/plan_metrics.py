"""`PlanMetrics` over prometheus_client: places considered and solves, per planned route."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

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


class PrometheusPlanMetrics:
    """`PlanMetrics`: the histogram and counter above, in the process's default registry."""

    def observe(self, pois_considered: int, proven_optimal: bool) -> None:
        POIS_CONSIDERED.observe(pois_considered)
        SOLVES.labels(proven_optimal=str(proven_optimal).lower()).inc()
