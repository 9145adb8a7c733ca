"""The Prometheus adapter of RouteMetrics counts on the labels it is given, its label
children bound once and still counted per call."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from wildside_gateway.routes.adapters.outbound import metrics
from wildside_gateway.routes.adapters.outbound.metrics import PrometheusRouteMetrics

pytestmark = pytest.mark.unit

NAME = "wildside_idempotency_requests_total"


def count(outcome: str, scope: str, age: str) -> float:
    labels = {"outcome": outcome, "user_scope": scope, "key_age": age}
    return REGISTRY.get_sample_value(NAME, labels) or 0.0


def test_every_call_counts_on_its_own_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "CHILDREN_KEPT", 2)
    route_metrics = PrometheusRouteMetrics()
    before = {
        labels: count(*labels)
        for labels in [
            ("miss", "t19aaaa", "new"),
            ("hit", "t19aaaa", "lt_1m"),
            ("miss", "t19bbbb", "new"),
        ]
    }
    route_metrics.idempotency("miss", "t19aaaa", "new")
    route_metrics.idempotency("miss", "t19aaaa", "new")
    route_metrics.idempotency("hit", "t19aaaa", "lt_1m")
    route_metrics.idempotency("miss", "t19bbbb", "new")  # past CHILDREN_KEPT: starts over
    route_metrics.idempotency("miss", "t19aaaa", "new")
    assert count("miss", "t19aaaa", "new") - before[("miss", "t19aaaa", "new")] == 3
    assert count("hit", "t19aaaa", "lt_1m") - before[("hit", "t19aaaa", "lt_1m")] == 1
    assert count("miss", "t19bbbb", "new") - before[("miss", "t19bbbb", "new")] == 1
