"""The guide worker's plans of the walks it saw lately, in memory: an optimisation only (any
replica may take any position; a replica without the plan reads the route and plans again)."""

from __future__ import annotations

from collections import OrderedDict

from wildside_router.domain.guide import WalkPlan


class PlanCache:
    """At most `size` plans, least recently used dropped first, keyed by walk id and the
    stored route's revision (a walk whose route changed is planned again)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._plans: OrderedDict[tuple[str, str], WalkPlan] = OrderedDict()

    def get(self, walk_id: str, rev: str) -> WalkPlan | None:
        plan = self._plans.get((walk_id, rev))
        if plan is not None:
            self._plans.move_to_end((walk_id, rev))
        return plan

    def put(self, walk_id: str, rev: str, plan: WalkPlan) -> None:
        self._plans[(walk_id, rev)] = plan
        self._plans.move_to_end((walk_id, rev))
        while len(self._plans) > self.size:
            self._plans.popitem(last=False)

    def __len__(self) -> int:
        return len(self._plans)
