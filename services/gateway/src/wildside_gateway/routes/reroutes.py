"""A live walk's reroute, submitted on the walker's behalf (docs/live-walk.md, "Reroutes").

The guide (in the router) publishes `reroute.wanted` with a POST /api/v1/routes body; the
gateway replica holding the walk's socket turns it into a route request of the walker's
through `RouteService.submit`, the use case of POST /api/v1/routes: the same validation,
user quota, route cache, record and job. Its idempotency key is derived from the walk's
id and the reroute's number, so the walker's sockets on several replicas (each gets the
frame) make one request, and a replayed frame makes none.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from wildside_common.errors import InvalidMessage
from wildside_common.inputs import canonical_uuid
from wildside_gateway.routes.app import RouteService
from wildside_gateway.shared.domain.principal import Principal

# uuid5 namespace of reroutes' idempotency keys (fixed: keys must not change on upgrade)
REROUTE_KEYS = uuid.UUID("0b6f5e55-4d1e-4f3a-9c55-7a1d2c9e0f31")


def reroute_key(walk_id: str, reroute: int) -> str:
    """The idempotency key of a walk's `reroute`-th reroute."""
    return str(uuid.uuid5(REROUTE_KEYS, f"{walk_id}:{reroute}"))


async def submit_reroute(
    service: RouteService, principal: Principal, wanted: Mapping[str, Any]
) -> str:
    """Submit the route request of a guide's `reroute.wanted` for `principal`; its id.

    The minutes left are clamped to the accepted durations (a walker with two minutes left
    still gets the shortest walk). Raises what `submit` raises (`RateLimited` when the
    walker's quota is spent, `InvalidInput`...), `InvalidMessage` for a malformed frame.
    """
    walk_id = canonical_uuid(wanted.get("request_id"))
    number = wanted.get("reroute")
    body = wanted.get("route_request")
    if walk_id is None or not isinstance(number, int) or not isinstance(body, Mapping):
        raise InvalidMessage("malformed reroute")
    bounds = service.policy.bounds
    minutes = body.get("duration_minutes")
    if isinstance(minutes, int) and not isinstance(minutes, bool):
        body = {**body, "duration_minutes": min(max(minutes, bounds.minimum), bounds.maximum)}
    accepted = await service.submit(
        principal, dict(body), reroute_key(walk_id, number), rerouted_from=walk_id
    )
    return accepted.request_id
