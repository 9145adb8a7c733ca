"""Prometheus helpers: one registry per process, common job and HTTP metrics."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, Counter, Gauge, Histogram
from prometheus_client import generate_latest as _generate

JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120)
HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests handled", ["service", "method", "path", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "path"],
    buckets=HTTP_BUCKETS,
)
JOBS_HANDLED = Counter(
    "wildside_jobs_total", "Bus messages handled, by outcome", ["consumer", "outcome"]
)
JOBS_IN_FLIGHT = Gauge("wildside_jobs_in_flight", "Bus messages being handled", ["consumer"])
JOB_DURATION = Histogram(
    "wildside_job_duration_seconds",
    "Time to handle one bus message",
    ["consumer"],
    buckets=JOB_BUCKETS,
)
DEAD_LETTERS = Counter(
    "wildside_dead_letters_total", "Messages copied to the dead-letter stream", ["stream", "reason"]
)
BUS_CONNECTED = Gauge("wildside_bus_connected", "1 while connected to NATS")
BUS_RECONNECTS = Counter("wildside_bus_reconnects_total", "NATS reconnections")


def exposition() -> tuple[bytes, str]:
    """The process's metrics in Prometheus text format, with its content type."""
    return _generate(REGISTRY), CONTENT_TYPE_LATEST
