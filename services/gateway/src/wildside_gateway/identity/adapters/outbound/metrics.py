"""Prometheus adapter of `IdentityMetrics` (the metric names and labels dashboards use)."""

from __future__ import annotations

from prometheus_client import Counter

LOCKOUTS = Counter(
    "wildside_login_lockouts_total",
    "Login lockouts begun: a username or client address refused until its window ends",
    ["limit"],
)
THROTTLED = Counter(
    "wildside_login_throttled_total", "Login attempts refused by the throttle (429)", ["limit"]
)

SIGNUPS = Counter(
    "wildside_signups_total",
    "Sign-up attempts by outcome (created, taken, invalid, throttled, disabled)",
    ["outcome"],
)
DELETIONS = Counter(
    "wildside_account_deletions_total",
    "Account deletion attempts by outcome (deleted, refused, last_admin)",
    ["outcome"],
)


class PrometheusIdentityMetrics:
    def login_throttled(self, limit: str) -> None:
        THROTTLED.labels(limit).inc()

    def lockout_began(self, limit: str) -> None:
        LOCKOUTS.labels(limit).inc()

    def signup(self, outcome: str) -> None:
        SIGNUPS.labels(outcome).inc()

    def account_deleted(self, outcome: str) -> None:
        DELETIONS.labels(outcome).inc()
