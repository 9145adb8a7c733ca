"""Prometheus adapter of `RouteMetrics` (the metric names and labels dashboards use)."""

from __future__ import annotations

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


class PrometheusRouteMetrics:
    def idempotency(self, outcome: str, user_scope: str, key_age: str) -> None:
        IDEMPOTENCY.labels(outcome, user_scope, key_age).inc()

    def cancel(self, outcome: str) -> None:
        CANCELS.labels(outcome).inc()
