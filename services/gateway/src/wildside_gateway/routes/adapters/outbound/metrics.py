"""Prometheus adapter of `RouteMetrics` (the metric names and labels dashboards use)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

IDEMPOTENCY = Counter(
    "wildside_idempotency_requests_total",
    "Route submissions carrying an Idempotency-Key, by outcome",
    ["outcome", "user_scope", "key_age"],
)

CANCELS = Counter(
    "wildside_route_cancels_total",
    "Route cancels (DELETE /api/v1/routes/{id}, WebSocket cancel), by outcome",
    ["outcome"],
)


CHILDREN_KEPT = 4096  # label children remembered (one per user scope and outcome); then start over


class PrometheusRouteMetrics:
    def __init__(self) -> None:
        # The counter's child per label values, bound once (`labels` validates, locks and
        # looks the values up on every call; a submission counts one).
        self._idempotency: dict[tuple[str, str, str], Any] = {}

    def idempotency(self, outcome: str, user_scope: str, key_age: str) -> None:
        key = (outcome, user_scope, key_age)
        child = self._idempotency.get(key)
        if child is None:
            if len(self._idempotency) >= CHILDREN_KEPT:
                self._idempotency.clear()
            child = self._idempotency[key] = IDEMPOTENCY.labels(outcome, user_scope, key_age)
        child.inc()

    def cancel(self, outcome: str) -> None:
        CANCELS.labels(outcome).inc()
