"""Router engine benchmark on the Helsinki extract ((c) OpenStreetMap contributors, ODbL).

    .venv/bin/python bench/router/run.py --out bench/router/results.json [--starts 50]
        [--time-limit 0.1] [--local-only] [--max-candidates 60] [--cpsat-max-nodes 30]
        [--baseline earlier.json] [--no-rss] [--profile profile.txt]

A private stack (scratch database, own nats-server, Redis prefix; bench/harness.py); the
extract ingested with `ingest-osm`. Then, in this process, the engine as the router
wires it (PostGIS candidates, cached street network, the production solver, or with
`--local-only` the local search alone; time limit, candidate cap and CP-SAT size by
default the router's own defaults) plans `--starts`
round trips from street nodes picked at random (fixed seed) x 30, 60, 90 minutes x
three interest profiles, and checks every route: within
budget, starts and ends where asked, no place twice, every vertex of the geometry on
the network (or a stop), distance = the geometry's length. A sample is planned twice to
check determinism for a seed. Finally `wildside-router` runs as a process, serves a few
requests through the gateway, and its VmRSS is read from /proc (`--no-rss` skips it).
Every walk's score, plan time and CPU time (process time: CP-SAT's threads included)
are kept; `--baseline` compares the same walks with an earlier run's results.json
(score, theme match, budget use, CPU per plan). `--profile` runs the plans under
cProfile, the CPU part inline rather than in a worker thread, and writes the top
functions by cumulative time to the given file.
Writes the figures as JSON to --out and a Markdown summary beside it (results.md).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from prometheus_client import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from harness import base, private_stack, rss_mb  # noqa: E402

from tests.e2e import stack  # noqa: E402
from wildside_common.messages import GenerateRouteJob, GeoPoint, utc_now  # noqa: E402
from wildside_common.pg import create_pool  # noqa: E402
from wildside_common.route import route_to_json  # noqa: E402
from wildside_common.themes import load_theme_rules  # noqa: E402
from wildside_router.adapters.outbound.candidates_pg import PostgresCandidateSource  # noqa: E402
from wildside_router.adapters.outbound.network_pg import (  # noqa: E402
    NetworkCache,
    PostgresNetworkSource,
)
from wildside_router.config import RouterSettings  # noqa: E402
from wildside_router.domain.network import StreetNetwork  # noqa: E402
from wildside_router.domain.planner import PlannerSettings  # noqa: E402
from wildside_router.domain.scoring import InterestProfile  # noqa: E402
from wildside_router.planning import EngineOptions, PlanRoute  # noqa: E402
from wildside_router.solver.hybrid import HybridSolver  # noqa: E402
from wildside_router.solver.local_search import (  # noqa: E402
    LocalSearchSolver,
)
from wildside_router.solver.model import OPInstance, OPSolution, ProgressFn  # noqa: E402

EXTRACT = ROOT / "data" / "helsinki-centre.osm.pbf"
# The router's own defaults (ROUTER_SOLVER_TIME_LIMIT_SECONDS, ROUTER_MAX_CANDIDATES,
# ROUTER_CPSAT_MAX_NODES).
DEFAULTS = {f.name: f.default for f in dataclasses.fields(RouterSettings)}
DURATIONS = (30, 60, 90)
PROFILES = {
    "culture (history, art, culture)": ("history", "art", "culture"),
    "outdoors (nature, architecture)": ("nature", "architecture"),
    "balanced (no themes)": (),
}


class TimedSolver:
    """The production solver, timing each call."""

    def __init__(self, local_only: bool = False, cpsat_max_nodes: int = 30) -> None:
        self.inner: HybridSolver | LocalSearchSolver = (
            LocalSearchSolver() if local_only else HybridSolver(cpsat_max_nodes)
        )
        self.seconds: list[float] = []
        self.scores: list[float] = []
        # (instance, seed) of every call, kept for `--dump-instances` (bench/router/probe.py).
        self.calls: list[tuple[OPInstance, int]] = []

    def solve(
        self, instance: OPInstance, time_limit: float, seed: int, progress: ProgressFn | None
    ) -> OPSolution:
        self.calls.append((instance, seed))
        started = time.perf_counter()
        try:
            solution = self.inner.solve(instance, time_limit, seed, progress)
        finally:
            self.seconds.append(time.perf_counter() - started)
        self.scores.append(solution.score)
        return solution


def ingest(database_url: str) -> str:
    done = subprocess.run(
        [str(ROOT / ".venv/bin/ingest-osm"), str(EXTRACT), "--no-progress"],
        env={**os.environ, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()


def start_points(network: StreetNetwork, count: int) -> list[GeoPoint]:
    """Street nodes of the largest component, chosen at random with a fixed seed."""
    from scipy.sparse.csgraph import connected_components

    _, labels = connected_components(network.graph, directed=False)
    biggest = np.flatnonzero(labels == np.bincount(labels).argmax())
    chosen = np.random.default_rng(2026).choice(biggest, size=count, replace=False)
    return [GeoPoint(float(network.lat[i]), float(network.lng[i])) for i in sorted(chosen)]


def check(route: dict[str, Any], job: GenerateRouteJob, network: StreetNetwork) -> list[str]:
    """Why the route is wrong (empty when it is right)."""
    problems = []
    points, coords = route["points"], route["geometry"]["coordinates"]
    if route["duration_minutes"] > job.duration_minutes:
        problems.append("over budget")
    start = [job.start.lng, job.start.lat]
    if [points[0]["lng"], points[0]["lat"]] != start or coords[0] != start:
        problems.append("does not start where asked")
    if [points[-1]["lng"], points[-1]["lat"]] != start or coords[-1] != start:
        problems.append("does not end where asked")
    osm = [p["osm"] for p in points[1:-1]]
    if len(set(osm)) != len(osm):
        problems.append("a place twice")
    on_network = {(round(float(x), 7), round(float(y), 7)) for x, y in network.line_points}
    stops = {(round(p["lng"], 7), round(p["lat"], 7)) for p in points}
    off = [c for c in coords if (round(c[0], 7), round(c[1], 7)) not in on_network | stops]
    if off or route["straight_line"]:
        problems.append(f"{len(off)} vertices off the network")
    length = sum(_metres(a, b) for a, b in itertools.pairwise(coords))
    if abs(length - route["distance_m"]) > max(2.0, 0.01 * length):
        problems.append(f"distance {route['distance_m']} != geometry {length:.1f}")
    return problems


def _metres(a: list[float], b: list[float]) -> float:
    from wildside_router.domain.geometry import haversine_m

    return haversine_m(a[1], a[0], b[1], b[0])


async def engine_runs(
    database_url: str,
    starts: int,
    time_limit: float = 0.1,
    local_only: bool = False,
    max_candidates: int = 60,
    cpsat_max_nodes: int = 30,
) -> dict[str, Any]:
    pool = await create_pool(database_url, 2)
    solver = TimedSolver(local_only, cpsat_max_nodes)
    rules = load_theme_rules()
    cache = NetworkCache(PostgresNetworkSource(pool), 3600)
    planner = PlanRoute(
        PostgresCandidateSource(pool),
        cache,
        solver,
        rules,
        EngineOptions(PlannerSettings(time_limit=time_limit), max_candidates=max_candidates),
    )
    loaded = time.perf_counter()
    network = await cache.current()
    assert network is not None
    load_seconds = time.perf_counter() - loaded
    rows: list[dict[str, Any]] = []
    for point in start_points(network, starts):
        for minutes in DURATIONS:
            for label, themes in PROFILES.items():
                rows.append(await one(planner, solver, network, point, minutes, label, themes))
    determinism = []
    for row in rows[:: max(1, len(rows) // 12)]:
        again = await one(planner, solver, network, GeoPoint(*row["start"]), row["minutes"],
                          row["profile"], PROFILES[row["profile"]])  # fmt: skip
        determinism.append(again["visits"] == row["visits"])
    await pool.close()
    return {
        "rows": rows,
        "instances": solver.calls[: len(rows)],
        "cpsat_runs": cpsat_runs(),
        "network_load_seconds": load_seconds,
        "deterministic": determinism,
        "network_nodes": network.size,
        "network_edges": int(network.graph.nnz // 2),
        "distance_rows": {"hits": network.rows.hits, "misses": network.rows.misses},
    }


def dump_instances(calls: list[tuple[OPInstance, int]], path: Path) -> None:
    """The walks' solver instances, in the walks' order, for bench/router/probe.py:
    arrays `distances_<i>`, `scores_<i>`, `service_<i>` and a row of (budget, start, end,
    seed) per walk in `meta`."""
    arrays: dict[str, np.ndarray] = {}
    meta = []
    for i, (instance, seed) in enumerate(calls):
        arrays[f"distances_{i}"] = instance.distances
        arrays[f"scores_{i}"] = instance.scores
        arrays[f"service_{i}"] = instance.service
        meta.append((instance.budget, instance.start, instance.end, seed))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, meta=np.array(meta, dtype=float), **arrays)


def cpsat_runs() -> dict[str, float]:
    """How this process's CP-SAT runs ended ("clock": the wall-clock net fired)."""
    ended = ("proven", "deterministic_limit", "clock", "not_run")
    sample = REGISTRY.get_sample_value
    return {e: sample("wildside_engine_cpsat_runs_total", {"ended": e}) or 0.0 for e in ended}


async def one(planner, solver, network, point, minutes, label, themes) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    job = GenerateRouteJob(str(uuid.uuid4()), str(uuid.uuid4()), point, minutes, themes,
                           utc_now(), seed=1)  # fmt: skip
    started, cpu = time.perf_counter(), time.process_time()
    route = route_to_json(await planner.plan(job, lambda _: None))
    plan_seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu
    profile = InterestProfile.of(themes, load_theme_rules().theme_ids)
    visits = route["points"][1:-1]
    return {
        "start": [point.lat, point.lng], "minutes": minutes, "profile": label,
        "plan_seconds": plan_seconds, "solver_seconds": solver.seconds[-1],
        "cpu_seconds": cpu_seconds, "score": solver.scores[-1],
        "budget_share": route["duration_minutes"] / minutes, "pois": len(visits),
        "matching": sum(bool(profile.matches(v["themes"])) for v in visits),
        "considered": route["pois_considered"], "visits": [v["osm"] for v in visits],
        "distance_m": route["distance_m"], "problems": check(route, job, network),
        "proven_optimal": route["proven_optimal"], "optimality_gap": route["optimality_gap"],
    }  # fmt: skip


def router_rss(bench_stack: Any, jobs: int = 6) -> dict[str, float]:
    """Start gateway + router, serve `jobs` Helsinki routes, read the router's VmRSS."""
    gateway = bench_stack.add(stack.gateway(bench_stack.env))
    router = bench_stack.add(stack.router(bench_stack.env))
    idle = rss_mb(router.process.pid)
    headers = {"Authorization": f"Bearer {bench_stack.login(gateway)}"}
    for i in range(jobs):
        body = {"start": {"lat": 60.1695, "lng": 24.9522 - 0.002 * i},
                "duration_minutes": 30 + 15 * i, "preferences": ["history", "art"]}  # fmt: skip
        response = httpx.post(f"{base(gateway)}/api/v1/routes", json=body, headers=headers)
        assert response.status_code == 202, response.text
        url = f"{base(gateway)}/api/v1/routes/{response.json()['request_id']}"
        while (done := httpx.get(url, headers=headers)).status_code == 202:
            time.sleep(0.1)
        assert done.json()["status"] == "succeeded", done.text
    return {"idle_mb": idle, "after_jobs_mb": rss_mb(router.process.pid), "jobs": jobs}


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def block(part: list[dict[str, Any]]) -> dict[str, Any]:
        pois = sum(r["pois"] for r in part)
        return {
            "routes": len(part),
            "plan_p50_s": pct([r["plan_seconds"] for r in part], 50),
            "plan_p95_s": pct([r["plan_seconds"] for r in part], 95),
            "cpu_mean_s": statistics.fmean(r["cpu_seconds"] for r in part),
            "score_mean": statistics.fmean(r["score"] for r in part),
            "solver_p50_s": pct([r["solver_seconds"] for r in part], 50),
            "solver_p95_s": pct([r["solver_seconds"] for r in part], 95),
            "budget_used_mean": statistics.fmean(r["budget_share"] for r in part),
            "budget_used_min": min(r["budget_share"] for r in part),
            "pois_mean": statistics.fmean(r["pois"] for r in part),
            "pois_min": min(r["pois"] for r in part),
            "matching_share": sum(r["matching"] for r in part) / pois if pois else 0.0,
            "considered_mean": statistics.fmean(r["considered"] for r in part),
            "failed_checks": sum(bool(r["problems"]) for r in part),
            "proven_share": sum(bool(r["proven_optimal"]) for r in part) / len(part),
        }

    table = {"all": block(rows)}
    for minutes in DURATIONS:
        table[f"{minutes} min"] = block([r for r in rows if r["minutes"] == minutes])
    for label in PROFILES:
        table[label] = block([r for r in rows if r["profile"] == label])
    return table


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "# Router engine on the Helsinki extract",
        "",
        f"Run {result['when']} on {result['machine']}; `{result['command']}`.",
        f"Data: {result['ingest']}",
        f"Load average (1, 5, 15 min) before {result['load_before']}, after "
        f"{result['load_after']}.",
        f"Network: {result['network_nodes']} nodes, {result['network_edges']} edges, loaded "
        f"in {result['network_load_seconds']:.2f} s. Round trips from {result['starts']} street "
        f"nodes x 30/60/90 min x 3 profiles; solver limit {result['time_limit']:g} s; walking "
        "4.8 km/h.",
        "",
        "| slice | routes | plan p50 / p95 (s) | solver p50 / p95 (s) | budget used mean (min) "
        "| POIs mean (min) | matching themes | considered | proven optimal | failed checks "
        "| CPU per plan (ms) | score mean |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, s in result["summary"].items():
        lines.append(
            f"| {name} | {s['routes']} | {s['plan_p50_s']:.2f} / {s['plan_p95_s']:.2f} "
            f"| {s['solver_p50_s']:.2f} / {s['solver_p95_s']:.2f} "
            f"| {s['budget_used_mean']:.0%} ({s['budget_used_min']:.0%}) "
            f"| {s['pois_mean']:.1f} ({s['pois_min']}) | {s['matching_share']:.0%} "
            f"| {s['considered_mean']:.0f} | {s['proven_share']:.0%} | {s['failed_checks']} "
            f"| {1000 * s['cpu_mean_s']:.0f} | {s['score_mean']:.2f} |"
        )
    rss = result["router_rss"]
    det = result["deterministic"]
    rows = result.get("distance_rows", {"hits": 0, "misses": 0})
    lines += ["", *compared(result)] if result.get("baseline") else []
    lines += [
        "",
        "Checks on every route: within budget, starts and ends at the asked point, no place "
        "twice, every geometry vertex a network vertex or a stop, distance = geometry length.",
        f"Determinism: {sum(det)}/{len(det)} re-planned routes identical (same request, seed).",
        "CP-SAT runs (re-plans included) ended: "
        + ", ".join(f"{k} {v:.0f}" for k, v in result["cpsat_runs"].items())
        + " (clock: stopped by the wall-clock net, an answer that depends on timing).",
        "Distance rows (one Dijkstra source each) from the network's cache: "
        f"{rows['hits']} reused, {rows['misses']} computed.",
        (
            f"`wildside-router` RSS with the Helsinki graph loaded: {rss['after_jobs_mb']:.0f} "
            f"MB after {rss['jobs']} jobs ({rss['idle_mb']:.0f} MB at start, before the graph "
            "loads)."
            if rss
            else "`wildside-router` RSS: not measured (--no-rss)."
        ),
        "",
        "Plan time = candidate query + snapping + Dijkstra + solver + geometry, in process.",
    ]
    return "\n".join(lines) + "\n"


async def profiled(work: Any, out: Path) -> Any:
    """Await `work` under cProfile, with the planner's worker thread made inline (the
    profiler sees only its own thread); write the top 40 by cumulative time to `out`."""
    import cProfile
    import pstats

    async def inline(function: Any, *args: Any) -> Any:
        return function(*args)

    # The planner calls asyncio.to_thread at run time: this process plans one walk at a
    # time, so running it inline changes nothing but what the profiler sees.
    vars(asyncio)["to_thread"] = inline
    profile = cProfile.Profile()
    profile.enable()
    try:
        return await work
    finally:
        profile.disable()
        with out.open("w", encoding="utf-8") as handle:
            pstats.Stats(profile, stream=handle).sort_stats("cumulative").print_stats(40)


def walk_key(row: dict[str, Any]) -> tuple[float, float, int, str]:
    """What identifies a walk across runs: start, duration, profile."""
    return (round(row["start"][0], 7), round(row["start"][1], 7), row["minutes"], row["profile"])


def against(rows: list[dict[str, Any]], path: Path) -> dict[str, Any]:
    """The same walks in an earlier run (`--baseline`): score, theme match, budget use,
    CPU per plan, over the walks both runs planned."""
    earlier = json.loads(path.read_text(encoding="utf-8"))
    before = {walk_key(r): r for r in earlier["routes"]}
    pairs = [(before[walk_key(r)], r) for r in rows if walk_key(r) in before]
    if not pairs:
        return {"command": earlier["command"], "walks": 0}

    def mean(key: str, side: int) -> float:
        return statistics.fmean(float(pair[side][key]) for pair in pairs)

    def share(side: int) -> float:
        pois = sum(pair[side]["pois"] for pair in pairs)
        return sum(pair[side]["matching"] for pair in pairs) / pois if pois else 0.0

    return {
        "command": earlier["command"],
        "walks": len(pairs),
        "score": [mean("score", 0), mean("score", 1)],
        "matching_share": [share(0), share(1)],
        "budget_used": [mean("budget_share", 0), mean("budget_share", 1)],
        "cpu_mean_s": [mean("cpu_seconds", 0), mean("cpu_seconds", 1)],
        "plan_p95_s": [
            pct([pair[0]["plan_seconds"] for pair in pairs], 95),
            pct([pair[1]["plan_seconds"] for pair in pairs], 95),
        ],
        "better": sum(pair[1]["score"] > pair[0]["score"] + 1e-9 for pair in pairs),
        "worse": sum(pair[1]["score"] < pair[0]["score"] - 1e-9 for pair in pairs),
    }


def compared(result: dict[str, Any]) -> list[str]:
    """Markdown lines for the `--baseline` comparison."""
    b = result["baseline"]
    if not b["walks"]:
        return [f"Baseline `{b['command']}`: no walk in common."]
    score, cpu = b["score"], b["cpu_mean_s"]
    return [
        f"Against `{b['command']}` ({result['baseline_when']}) on the same {b['walks']} walks:",
        f"score mean {score[0]:.3f} -> {score[1]:.3f} ({score[1] / score[0] - 1:+.2%}; "
        f"{b['better']} walks better, {b['worse']} worse); matching themes "
        f"{b['matching_share'][0]:.1%} -> {b['matching_share'][1]:.1%}; budget used "
        f"{b['budget_used'][0]:.1%} -> {b['budget_used'][1]:.1%}; plan p95 "
        f"{b['plan_p95_s'][0]:.3f} -> {b['plan_p95_s'][1]:.3f} s; CPU per plan "
        f"{1000 * cpu[0]:.0f} -> {1000 * cpu[1]:.0f} ms (routes per second per core "
        f"x{cpu[0] / cpu[1]:.1f}).",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench/router/results.json")
    parser.add_argument("--starts", type=int, default=50)
    parser.add_argument(
        "--time-limit", type=float, default=DEFAULTS["solver_time_limit"], help="solver limit, s"
    )
    parser.add_argument(
        "--local-only", action="store_true", help="the local search alone, for comparison"
    )
    parser.add_argument("--max-candidates", type=int, default=DEFAULTS["max_candidates"])
    parser.add_argument("--cpsat-max-nodes", type=int, default=DEFAULTS["cpsat_max_nodes"])
    parser.add_argument(
        "--baseline", type=Path, help="an earlier results.json: compare the same walks with it"
    )
    parser.add_argument("--no-rss", action="store_true", help="skip the router process's RSS")
    parser.add_argument("--profile", type=Path, help="write a cProfile summary of the plans here")
    parser.add_argument(
        "--dump-instances", type=Path, help="write the walks' solver instances here (.npz)"
    )
    args = parser.parse_args()
    load_before = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    with private_stack() as bench_stack:
        database_url = bench_stack.env["DATABASE_URL"]
        summary_line = ingest(database_url)
        work = engine_runs(
            database_url,
            args.starts,
            args.time_limit,
            args.local_only,
            args.max_candidates,
            args.cpsat_max_nodes,
        )
        runs = asyncio.run(profiled(work, args.profile) if args.profile else work)
        rss = None if args.no_rss else router_rss(bench_stack)
    result = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "command": f"bench/router/run.py --starts {args.starts} --time-limit {args.time_limit:g}"
        + (" --local-only" if args.local_only else "")
        + f" --max-candidates {args.max_candidates} --cpsat-max-nodes {args.cpsat_max_nodes}",
        "time_limit": args.time_limit,
        "ingest": summary_line.split(";")[0],
        "starts": args.starts,
        "network_nodes": runs["network_nodes"],
        "network_edges": runs["network_edges"],
        "network_load_seconds": runs["network_load_seconds"],
        "summary": summarise(runs["rows"]),
        "deterministic": runs["deterministic"],
        "router_rss": rss,
        "cpsat_runs": runs["cpsat_runs"],
        "distance_rows": runs["distance_rows"],
        "load_before": load_before,
        "load_after": ", ".join(f"{v:.2f}" for v in os.getloadavg()),
        "problems": [r for r in runs["rows"] if r["problems"]],
        "routes": runs["rows"],
    }
    if args.baseline:
        result["baseline"] = against(runs["rows"], args.baseline)
        result["baseline_when"] = json.loads(args.baseline.read_text())["when"]
    if args.dump_instances:
        dump_instances(runs["instances"], args.dump_instances)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    args.out.with_suffix(".md").write_text(markdown(result), encoding="utf-8")
    print(markdown(result))


if __name__ == "__main__":
    main()
