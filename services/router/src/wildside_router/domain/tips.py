"""Tips on a live walk (pure): a place matching the walker's themes within a short detour,
not on the walk, never twice, at most one every few minutes (docs/live-walk.md).

Places near the walker come from a port; `should_look` keeps that lookup cheap (only when
a tip is due, and again only after the walker moved or sent enough positions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from wildside_router.domain.geometry import haversine_m
from wildside_router.domain.guide import GuideParams, Position, WalkPlan, WalkState


@dataclass(frozen=True, slots=True)
class TipCandidate:
    id: str  # "node/123", as a stop's `osm`
    name: str
    themes: tuple[str, ...]
    lat: float
    lng: float


@dataclass(frozen=True, slots=True)
class Tip:
    poi: TipCandidate
    distance_m: float
    detour_minutes: float


def tip_due(state: WalkState, position: Position, params: GuideParams) -> bool:
    """Whether the last tip (if any) is at least `tip_every_s` old at this position."""
    return state.last_tip_at is None or position.timestamp - state.last_tip_at >= params.tip_every_s


def should_look(state: WalkState, position: Position, params: GuideParams) -> bool:
    """Whether to look up places for a tip now: a tip is due, and nothing was looked up
    yet, or the walker moved `tip_look_every_m` or sent `tip_look_every_positions` since."""
    if not tip_due(state, position, params):
        return False
    if state.looked_lat is None or state.looked_lng is None:
        return True
    moved = haversine_m(state.looked_lat, state.looked_lng, position.lat, position.lng)
    return (
        moved >= params.tip_look_every_m
        or state.positions - state.looked_at_position >= params.tip_look_every_positions
    )


def looked(state: WalkState, position: Position) -> WalkState:
    """The state after a lookup of places at this position."""
    return replace(
        state,
        looked_lat=position.lat,
        looked_lng=position.lng,
        looked_at_position=state.positions,
    )


def pick_tip(
    plan: WalkPlan,
    state: WalkState,
    position: Position,
    candidates: Sequence[TipCandidate],
    themes: Sequence[str],
    params: GuideParams,
) -> tuple[WalkState, Tip | None]:
    """The nearest place matching the walker's themes within a short detour, if a tip is due.

    Never a place on the walk, never the same place twice, at most one every `tip_every_s`.
    """
    if not tip_due(state, position, params):
        return state, None
    on_walk = {s.osm for s in plan.stops if s.osm is not None}
    wanted = set(themes)
    best: Tip | None = None
    for c in candidates:
        if c.id in on_walk or c.id in state.tips_given:
            continue
        if wanted and not wanted.intersection(c.themes):
            continue
        d = haversine_m(position.lat, position.lng, c.lat, c.lng)
        detour = 2 * d / params.walking_speed_mps / 60
        if detour > params.tip_max_detour_minutes:
            continue
        if best is None or d < best.distance_m:
            best = Tip(c, round(d, 1), round(detour, 1))
    if best is None:
        return state, None
    return (
        replace(
            state,
            tips_given=(*state.tips_given, best.poi.id),
            last_tip_at=position.timestamp,
        ),
        best,
    )


def tip_radius_m(params: GuideParams) -> float:
    """How far a tip may be: half the longest detour, walked."""
    return params.tip_max_detour_minutes * 60 * params.walking_speed_mps / 2
