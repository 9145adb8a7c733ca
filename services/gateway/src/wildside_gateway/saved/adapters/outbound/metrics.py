"""Prometheus adapter of `SavedMetrics`."""

from __future__ import annotations

from prometheus_client import Counter

SAVES = Counter(
    "wildside_saved_route_saves_total",
    "POST /api/v1/saved-routes by outcome (saved, replayed, not_found, not_succeeded, "
    "limit_reached)",
    ["outcome"],
)


class PrometheusSavedMetrics:
    def saved(self, outcome: str) -> None:
        SAVES.labels(outcome).inc()
