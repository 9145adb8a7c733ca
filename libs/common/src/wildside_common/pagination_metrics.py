"""Prometheus metrics for keyset pagination (kept apart so `pagination` stays pure).

wildside_pagination_page_size{listing, direction}        rows per page served
wildside_pagination_depth{listing, direction}            pages away from the first one
wildside_pagination_errors_total{listing, code}          rejected cursors and limits
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from wildside_common.errors import InvalidInput
from wildside_common.pagination import PageParams

PAGE_SIZE = Histogram(
    "wildside_pagination_page_size",
    "Rows per page served",
    ["listing", "direction"],
    buckets=(0, 1, 5, 10, 20, 50, 100, 200),
)
PAGE_DEPTH = Histogram(
    "wildside_pagination_depth",
    "Traversal depth: pages away from the first page",
    ["listing", "direction"],
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 500),
)
PAGINATION_ERRORS = Counter(
    "wildside_pagination_errors_total",
    "Rejected pagination parameters, by details.code",
    ["listing", "code"],
)


def observe_page(listing: str, params: PageParams, size: int) -> None:
    """Record one served page's size, direction and depth."""
    direction = str(params.direction)
    PAGE_SIZE.labels(listing, direction).observe(size)
    PAGE_DEPTH.labels(listing, direction).observe(params.depth)


def count_error(listing: str, error: InvalidInput) -> None:
    """Count a rejected cursor or limit by its `details.code`."""
    PAGINATION_ERRORS.labels(listing, str(error.details.get("code", "invalid_request"))).inc()
