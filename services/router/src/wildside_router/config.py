"""Router settings, read once from the environment."""

from __future__ import annotations

from dataclasses import dataclass

from wildside_common.analytics import AnalyticsSettings
from wildside_common.bus.topology import WorkerPolicy
from wildside_common.config import CommonSettings, EnvReader


@dataclass(frozen=True, slots=True)
class RouterSettings:
    common: CommonSettings
    database_url: str
    concurrency: int
    policy: WorkerPolicy
    job_timeout: float
    heartbeat_interval: float
    drain_timeout: float
    db_pool_size: int
    redis_url: str
    redis_prefix: str
    cache_ttl_seconds: int
    analytics: AnalyticsSettings
    walking_speed_kmh: float = 4.8
    solver_time_limit: float = 0.1
    max_candidates: int = 60
    sparse_threshold: int = 5
    max_snap_m: float = 250.0
    network_refresh_seconds: float = 60.0
    default_dwell_minutes: float = 5.0
    cpsat_max_nodes: int = 30
    guide_tip_interval_seconds: float = 180.0
    guide_tip_max_detour_minutes: float = 5.0
    guide_off_route_metres: float = 50.0
    guide_reroute_after_seconds: float = 20.0

    @classmethod
    def from_env(cls, env: EnvReader) -> RouterSettings:
        ack_wait = env.real("ROUTER_ACK_WAIT_SECONDS", 30.0, minimum=1.0)
        return cls(
            common=CommonSettings.from_env(env, "router", default_metrics_port=9101),
            database_url=env.text("DATABASE_URL"),
            concurrency=env.integer("ROUTER_CONCURRENCY", 2, minimum=1, maximum=64),
            policy=WorkerPolicy(
                ack_wait=ack_wait,
                max_deliver=env.integer("ROUTER_MAX_DELIVER", 5, minimum=1, maximum=100),
                max_ack_pending=env.integer("ROUTER_MAX_ACK_PENDING", 64, minimum=1),
            ),
            job_timeout=env.real("ROUTER_JOB_TIMEOUT_SECONDS", 20.0, minimum=0.1),
            heartbeat_interval=env.real(
                "ROUTER_HEARTBEAT_SECONDS", max(ack_wait / 3, 0.2), minimum=0.1
            ),
            drain_timeout=env.real("ROUTER_DRAIN_TIMEOUT_SECONDS", 30.0, minimum=0.0),
            db_pool_size=env.integer("DB_POOL_SIZE", 4, minimum=1),
            redis_url=env.text("REDIS_URL", "redis://127.0.0.1:6379/0"),
            redis_prefix=env.text("REDIS_PREFIX", ""),
            cache_ttl_seconds=env.integer("ROUTE_CACHE_TTL_SECONDS", 24 * 3600, minimum=1),
            analytics=AnalyticsSettings.from_env(env),
            walking_speed_kmh=env.real("ROUTER_WALKING_SPEED_KMH", 4.8, minimum=0.5, maximum=20.0),
            solver_time_limit=env.real(
                "ROUTER_SOLVER_TIME_LIMIT_SECONDS", 0.1, minimum=0.05, maximum=60.0
            ),
            max_candidates=env.integer("ROUTER_MAX_CANDIDATES", 60, minimum=1, maximum=500),
            sparse_threshold=env.integer("ROUTER_SPARSE_THRESHOLD", 5, minimum=0),
            max_snap_m=env.real("ROUTER_MAX_SNAP_METRES", 250.0, minimum=1.0),
            network_refresh_seconds=env.real("ROUTER_NETWORK_REFRESH_SECONDS", 60.0, minimum=0.0),
            default_dwell_minutes=env.real(
                "ROUTER_DEFAULT_DWELL_MINUTES", 5.0, minimum=0.0, maximum=240.0
            ),
            cpsat_max_nodes=env.integer("ROUTER_CPSAT_MAX_NODES", 30, minimum=0, maximum=500),
            guide_tip_interval_seconds=env.real("GUIDE_TIP_INTERVAL_SECONDS", 180.0, minimum=0.0),
            guide_tip_max_detour_minutes=env.real(
                "GUIDE_TIP_MAX_DETOUR_MINUTES", 5.0, minimum=0.0, maximum=60.0
            ),
            guide_off_route_metres=env.real(
                "GUIDE_OFF_ROUTE_METRES", 50.0, minimum=10.0, maximum=1000.0
            ),
            guide_reroute_after_seconds=env.real(
                "GUIDE_REROUTE_AFTER_SECONDS", 20.0, minimum=1.0, maximum=3600.0
            ),
        )
