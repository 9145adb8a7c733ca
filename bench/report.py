"""Write the benchmark figures into README.md (between the bench markers).

Reads what each benchmark wrote under bench/*/ and renders one section; a benchmark
that has not been run is shown as not run. Targets come from the brief; a missed
target is printed as missed, with its figure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def load(name: str) -> dict[str, Any] | None:
    path = ROOT / "bench" / name / "results.json"
    return json.loads(path.read_text()) if path.exists() else None


def verdict(met: bool) -> str:
    return "met" if met else "**missed**"


def gateway() -> list[str]:
    r = load("gateway")
    if r is None:
        return ["Gateway submission: not run."]
    half, hello, post = r["half_load"], r["hello"], r["gateway_post_routes"]
    crowd = r.get("gateway_more_clients")
    several = r.get("gateway_workers")

    def cpu(result: dict[str, Any]) -> str:
        value = result.get("cpu_ms_per_request")
        used = result.get("cpu_utilisation")
        return (
            " |" if value is None else f"{value:.3f} ms | {'' if used is None else f'{used:.2f}'}"
        )

    lines = [
        "**Gateway submission** (`bench/gateway/run.py`: wrk, 1 thread, 32 connections, one "
        "process each unless said; authenticated `POST /api/v1/routes` with a fresh "
        "Idempotency-Key and a distinct request each time, so every one is a cache miss that "
        "is recorded and published):",
        "",
        "| | requests/s | p99 | server CPU per request | cores |",
        "|---|---|---|---|---|",
        f"| bare Starlette hello | {hello['rps']:.0f} | {hello['p99_ms']:.1f} ms | {cpu(hello)} |",
        f"| gateway `POST /api/v1/routes` | {post['rps']:.0f} | {post['p99_ms']:.1f} ms | "
        f"{cpu(post)} |",
    ]
    single = r.get("gateway_unbatched")
    if single is not None:
        lines.append(
            f"| same, batching off (`SUBMIT_BATCH_MAX=1`) | {single['rps']:.0f} | "
            f"{single['p99_ms']:.1f} ms | {cpu(single)} |"
        )
    if several is not None:
        lines.append(
            f"| same, `GATEWAY_WORKERS={several['workers']}` (all its processes' CPU) | "
            f"{several['rps']:.0f} | {several['p99_ms']:.1f} ms | {cpu(several)} |"
        )
    if crowd is not None:
        lines.append(
            f"| same, {crowd['connections']} connections (not the target's setting) | "
            f"{crowd['rps']:.0f} | {crowd['p99_ms']:.1f} ms | {cpu(crowd)} |"
        )
    lines += [
        f"| gateway at half the 32-connection rate ({half['rate']:.0f}/s, open loop) | | "
        f"{half['p99_ms']:.1f} ms (p50 {half['p50_ms']:.1f} ms) | | |",
        "",
        f"Targets: CPU per submission {post['cpu_ms_per_request']:.3f} ms (<= 0.2 ms: "
        f"{verdict(post['cpu_ms_per_request'] <= 0.2)}); {r['ratio']:.1%} of hello's "
        f"requests/s (>= 14 %: {verdict(r['ratio'] >= 0.14)})",
    ]
    if several is not None:
        speedup = r["workers_speedup"]
        lines[-1] += (
            f"; `GATEWAY_WORKERS={several['workers']}` {speedup:.2f}x one process "
            f"(>= 1.7x: {verdict(speedup >= 1.7)})"
        )
    lines[-1] += (
        f"; p99 at half load {half['p99_ms']:.0f} ms (< 50 ms: {verdict(half['p99_ms'] < 50)})."
    )
    load_average = r.get("load_average")
    if load_average is not None:
        lines[-1] += (
            f" Load average during the run {load_average['before']:.1f} -> "
            f"{load_average['after']:.1f} on {load_average['cores']} cores. The cores column "
            "says how much CPU each server got: below 1 (one process) the server was not "
            "what limited the rate, but the clients, the other services on the same cores "
            "or the rest of the machine's work; on a loaded machine every figure here, "
            "CPU per request included (hello's too), is worse than on a quiet one, so "
            "compare within one run."
        )
    if several is not None and "machine_busy_cores" in several:
        lines[-1] += (
            f" During the `GATEWAY_WORKERS={several['workers']}` run the gateway's processes "
            f"used {several['cpu_utilisation']:.2f} cores, wrk {several['client_cores']:.2f}, "
            f"and the whole machine was busy {several['machine_busy_cores']:.2f} of its "
            f"{load_average['cores'] if load_average else '?'} cores (one process: "
            f"{post['machine_busy_cores']:.2f}): the other services of the stack "
            "(PostgreSQL, NATS, Redis) and the machine's other work share those cores, so a "
            "second process only adds what they leave idle."
        )
    lines += [
        "",
        "Where a submission's CPU goes (py-spy, `bench/gateway/profile_submissions.py`; "
        "top lines in `bench/gateway/results.md`): no single cost dominates. What is left "
        "per request is Python work that does not batch: HTTP parsing and the response "
        "(uvicorn, Starlette and the middleware: trace context, metrics, access log line, "
        "origin checks; spans are recorded only for sampled traces, none with "
        "`OTEL_EXPORTER=none` as here), cookie and session check, validation and canonical "
        "hashing, "
        "building and encoding the job and its publish, the `queued` status event; "
        "submissions are batched (one key lookup, one Redis round trip each for limits and "
        "cache, one transaction and one burst of JetStream publishes per batch)"
        + (
            f", {post['rps'] / single['rps']:.1f}x the rate of the same gateway with "
            "batching off in this run"
            if single is not None
            else ""
        )
        + ".",
    ]
    return lines


def end_to_end() -> list[str]:
    r = load("e2e")
    if r is None:
        return ["End to end: not run."]
    miss, hit = r["cache_miss"], r["cache_hit"]
    return [
        "**End to end** (`bench/e2e/run.py`: Helsinki demo, POST to `succeeded` on a "
        f"WebSocket, {miss['requests']} requests each way):",
        "",
        "| | p50 | p95 | failed |",
        "|---|---|---|---|",
        f"| cache miss | {miss['p50_ms']:.0f} ms | {miss['p95_ms']:.0f} ms | {miss['failed']} |",
        f"| cache hit | {hit['p50_ms']:.1f} ms | {hit['p95_ms']:.1f} ms | {hit['failed']} |",
        "",
        f"Targets: miss p95 < 2 s {verdict(miss['p95_ms'] < 2000)}; hit p95 < 50 ms "
        f"{verdict(hit['p95_ms'] < 50)}.",
    ]


def fan_out() -> list[str]:
    r = load("ws")
    if r is None:
        return ["WebSocket fan-out: not run."]
    return [
        f"**WebSocket fan-out** (`bench/ws/run.py`): {r['sockets']} subscribed sockets on one "
        f"gateway process, {r['events']} status events at {r.get('events_per_second', '?')}/s "
        f"through JetStream: lag p50 {r['p50_lag_ms']:.1f} ms, p99 {r['p99_lag_ms']:.1f} ms "
        f"(target < 100 ms: {verdict(r['p99_lag_ms'] < 100)}), gateway RSS "
        f"{r['gateway_rss_after_mb']:.0f} MB (target < 200 MB: "
        f"{verdict(r['gateway_rss_after_mb'] < 200)}).",
    ]


def live_walk() -> list[str]:
    def ms(value: float | None) -> str:
        return "> 5 s" if value is None else f"{value:.1f} ms"

    r = load("guide")
    if r is None:
        return ["Live-walk guidance: not run."]
    rows = []
    light = r["light_load"]
    phases = (
        (f"{light['walkers']} walkers, one worker", light),
        (f"{r['walkers']} walkers, one worker", r["one_worker"]),
        (f"{r['walkers']} walkers, two workers", r["two_workers"]),
    )
    for name, w in phases:
        cpu = w["cpu_ms_per_position"]
        guide_cpu = " + ".join(f"{v:.2f}" for k, v in cpu.items() if k != "gateway")
        rows.append(
            f"| {name} | {w['sent_per_second']:.0f} | {w['handled_per_second']:.0f} | "
            f"{ms(w['p50_ms'])} | {ms(w['p99_ms'])} | {w['lost_share']:.1%} | "
            f"{cpu['gateway']:.2f} ms | "
            f"{guide_cpu} ms | {w['redis_commands_per_position']:.2f} |"
        )
    one, two = r["one_worker"], r["two_workers"]
    shares = two["handled_per_worker"]
    split = " / ".join(f"{count / max(1, sum(shares.values())):.0%}" for count in shares.values())
    lines = [
        "**Live-walk guidance** (`bench/guide/run.py`): walkers at one position a second "
        "over `/ws`, one gateway, the router's guide worker(s), a private "
        "Redis; latency from a position sent to its `guidance` frame received, "
        f"{one['seconds']:.0f} s steady windows:",
        "",
        "| load | positions/s sent | taken by the guide | p50 | p99 | lost (> 5 s) | "
        "gateway CPU per position | guide CPU per position | Redis commands per position |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Target p99 < 50 ms at {r['walkers']} walkers: one worker "
        f"{verdict(r['targets']['p99_lt_50ms'])}, two workers "
        f"{verdict(r['targets']['p99_lt_50ms_two_workers'])} ({light['walkers']} walkers, one "
        f"worker: p99 {ms(light['p99_ms'])}). Two workers share the "
        f"positions ({split}: "
        f"{verdict(r['targets']['shared_by_two_workers'])}). Measured on the shared 2-core "
        f"machine (load average {r['load_average_before'][0]:.1f} at the start); where a "
        "position's time goes: `bench/guide/results.md`.",
    ]
    closed = r.get("sockets_closed_by_gateway") or {}
    if closed:
        lines += [
            "",
            "Sockets the gateway closed during the run (close code: count): "
            + ", ".join(f"{code}: {count}" for code, count in closed.items())
            + " (1013: it could not read session revocations in time, so it failed closed); "
            "the walkers reconnected.",
        ]
    if not (r["targets"]["p99_lt_50ms"] and r["targets"]["p99_lt_50ms_two_workers"]):
        runs = (light, one, r["two_workers"])
        guide_ms = min(w["cpu_ms_per_position"]["router"] for w in (light, one))
        gateway_ms = min(w["cpu_ms_per_position"]["gateway"] for w in runs)
        client_ms = min(w["client_cpu_ms_per_position"] for w in runs)
        cores = (guide_ms + gateway_ms + client_ms) * r["walkers"] / 1000
        lines += [
            "",
            f"Why the latency target is missed: at {r['walkers']} positions a second the "
            f"guide needs at least {guide_ms:.2f} ms of CPU per position "
            f"({guide_ms * r['walkers'] / 1000:.1f} cores), the gateway {gateway_ms:.2f} ms, "
            f"the bench's own client {client_ms:.2f} ms: {cores:.1f} cores in all, on "
            f"{r['cores']} cores shared with other work (load average "
            f"{r['load_average_before'][0]:.1f} at the start, "
            f"{r['load_average_after'][0]:.1f} at the end); positions wait in a queue on the "
            "contended cores and arrive late or not at all (`bench/guide/results.md`).",
        ]
    return lines


def solver() -> list[str]:
    r = load("op")
    if r is None:
        return ["Orienteering solver: not run."]
    rows = [row for row in r["summary"] if row["set"] == "all"]
    lines = [
        "**Orienteering solver** (`bench/op/run.py`, 125 classic instances, `docs/solver.md`):",
        "",
        "| solver | mean gap | worst gap | infeasible |",
        "|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['solver']} | {row['mean_gap_pct']:.2f} % | "
            f"{row['worst_gap_pct']:.1f} % | {row['infeasible']} |"
        )
    # The targets are the production solver's (HybridSolver); the others are comparisons.
    production = [row for row in r["results"] if row["solver"] == "hybrid"]
    limits = sorted({row["time_limit"] for row in production})
    mean = {row["solver"]: row["mean_gap_pct"] for row in rows}
    worst = {row["solver"]: row["worst_gap_pct"] for row in rows}
    feasible = all(row["feasible"] for row in production)

    def target(limit: float, key: str, bound: float) -> str:
        label = f"hybrid {limit:g} s"
        if limit not in limits:
            return f"{key} <= {bound:g} % at {limit:g} s: not run"
        value = (mean if key == "mean" else worst)[label]
        return f"{key} <= {bound:g} % at {limit:g} s: {verdict(value <= bound)} ({value:.2f} %)"

    brief = [target(1.0, "mean", 2.0), target(10.0, "mean", 0.5)]
    issue = [target(0.1, "mean", 1.0), target(1.0, "mean", 0.5), target(1.0, "worst", 5.0)]
    return [
        *lines,
        "",
        "Production is `hybrid` (the local search, then CP-SAT on instances of at most 80 "
        "nodes); `local` alone is for comparison. "
        f"Targets (production), the brief's: {'; '.join(brief)}; never infeasible: "
        f"{verdict(feasible)}. Issue 19's: {'; '.join(issue)}. "
        f"Run on a shared 2-core machine, load average {r['run']['load_before']} before: "
        "the wall-clock nets cut searches short there, so these gaps are worse than the "
        "work budgets alone give (docs/solver.md has those figures). Per instance: "
        "`bench/op/results.md`.",
    ]


def router() -> list[str]:
    r = load("router")
    if r is None:
        return ["Router on Helsinki: not run."]
    a = r["summary"]["all"]
    lines = [
        f"**Router on Helsinki** (`bench/router/run.py`, {a['routes']} walks: 50 starts x "
        f"30/60/90 min x 3 profiles, solver limit {r['time_limit']:g} s): plan p50/p95 "
        f"{a['plan_p50_s']:.2f}/{a['plan_p95_s']:.2f} s, {1000 * a['cpu_mean_s']:.0f} ms CPU "
        f"per plan, budget used {a['budget_used_mean']:.0%}, "
        f"{a['pois_mean']:.1f} POIs per walk, {a['matching_share']:.0%} matching the walker's "
        f"themes, {a['failed_checks']} routes failing a check; router RSS with the graph loaded "
        f"{r['router_rss']['after_jobs_mb']:.0f} MB (target < 300 MB: "
        f"{verdict(r['router_rss']['after_jobs_mb'] < 300)}). Per slice: "
        "`bench/router/results.md`.",
    ]
    b = r.get("baseline")
    if b and b["walks"]:
        score, cpu, themes, budget = (b["score"], b["cpu_mean_s"], b["matching_share"],
                                      b["budget_used"])  # fmt: skip
        same = score[1] >= 0.99 * score[0] and themes[1] >= themes[0] and budget[1] >= budget[0]
        lines += [
            "",
            f"Issue 19, against the 1 s plans of `{b['command']}` on the same {b['walks']} "
            f"walks (a separate run on the same machine, {r.get('baseline_when', '?')}; this "
            f"one {r['when']}, load average {r['load_before']} before): plan p95 "
            f"{a['plan_p95_s']:.2f} s (target <= 0.15 s: {verdict(a['plan_p95_s'] <= 0.15)}); "
            f"score {score[1] / score[0] - 1:+.2%}, themes {themes[0]:.1%} -> {themes[1]:.1%}, "
            f"budget used {budget[0]:.1%} -> {budget[1]:.1%} (same quality: {verdict(same)}); "
            f"routes per second per core x{cpu[0] / cpu[1]:.1f} (target x3: "
            f"{verdict(cpu[0] / cpu[1] >= 3)}).",
        ]
    return lines


def ingest() -> list[str]:
    path = ROOT / "bench" / "ingest" / "results.md"
    if not path.exists():
        return ["Ingest: not run."]
    text = path.read_text()
    table = [line for line in text.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in table]
    column = cells[0].index("ours / osm2pgsql")
    ratios = {row[0]: float(row[column]) for row in cells[2:]}
    worst = max(ratios, key=lambda size: ratios[size])
    slower = ", ".join(f"{ratio:.2f}x at {size}" for size, ratio in ratios.items())
    # Linear: the seconds per 1x of the file do not grow from the second size to the
    # largest (15 % allowed for noise; the smallest size is mostly start-up).
    per_1x = [float(row[cells[0].index("s per 1x (ours)")]) for row in cells[2:]]
    linear = len(per_1x) < 3 or per_1x[-1] <= per_1x[1] * 1.15
    # Memory: the same file with all its POIs and with none (the network only).
    found = re.search(r"peak RSS (\d+) MB vs (\d+) MB", text)
    flat = found is not None and int(found.group(1)) <= 1.25 * int(found.group(2))
    memory = (
        f"peak RSS {found.group(1)} MB with the POIs only vs {found.group(2)} MB with none"
        if found
        else "not measured"
    )
    return [
        "**Ingest** (`bench/ingest/run.py`, beside osm2pgsql in the same run):",
        "",
        *table,
        "",
        f"Target: no slower than osm2pgsql: {verdict(ratios[worst] <= 1.0)} (ours takes "
        f"{slower} osm2pgsql's time); time linear in file size: {verdict(linear)} (seconds "
        f"per 1x: {', '.join(f'{v:.2f}' for v in per_1x)}); memory flat in the number of "
        f"POIs: {verdict(flat)} ({memory} on the same file). Details and where the time "
        "goes: `bench/ingest/results.md`, `docs/ingest.md`.",
    ]


def tiles() -> list[str]:
    r = load("tiles")
    if r is None:
        return ["Tiles: not run."]
    rows = []
    for source in ("get_poi_tile", "get_base_tile"):
        t = r[source]
        cells = " | ".join(
            f"{t[step]['p50_ms']:.1f} / {t[step]['p95_ms']:.1f} ms"
            for step in ("sql", "direct", "gateway", "revalidate")
        )
        rows.append(f"| `{source}` ({t['bytes'] / 1024:.0f} KiB) | {cells} |")
    return [
        f"**Tiles** (`bench/tiles/run.py`: z{r['tile']} over central Helsinki, "
        f"{r['requests']} sequential requests each, p50 / p95; no Martin: the development "
        "tile server behind the gateway, as `make up` runs it):",
        "",
        "| source | SQL function | tile server | through the gateway | 304 revalidation |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "Target: a z14 tile in milliseconds, p95 < 50 ms through the gateway "
        f"{verdict(r['targets']['gateway_p95_lt_50ms'])}. A 304 saves the transfer, not "
        "the work: the tile is drawn to compare its ETag.",
    ]


def web() -> list[str]:
    r = load("web")
    if r is None:
        return ["Web client first paint: not run."]
    out, logged_in = r["logged_out"], r["logged_in"]

    def cell(result: dict[str, Any], key: str) -> str:
        return f"{result[key]['p50_ms']:.0f} / {result[key]['p95_ms']:.0f} ms"

    return [
        f"**Web client first paint** (`bench/web/run.py`: {r['loads']} cold loads each in "
        "headless Chromium, a new browser context per load, the demo stack on this machine; "
        "p50 / p95 from navigation start):",
        "",
        "| screen | first contentful paint | largest contentful paint | map drawn |",
        "|---|---|---|---|",
        f"| login (logged out) | {cell(out, 'fcp')} | {cell(out, 'lcp')} | |",
        f"| planning (logged in) | {cell(logged_in, 'fcp')} | {cell(logged_in, 'lcp')} | "
        f"{cell(logged_in, 'map_ready')} |",
        "",
        f"Target: first meaningful paint (LCP) p95 < {r['target_ms'] / 1000:.1f} s: "
        f"{verdict(r['met'])}.",
    ]


def render() -> str:
    parts = [
        gateway(),
        end_to_end(),
        fan_out(),
        live_walk(),
        solver(),
        router(),
        ingest(),
        tiles(),
        web(),
    ]
    body = "\n\n".join("\n".join(part) for part in parts)
    return f"{START}\n{body}\n{END}"


def main() -> None:
    readme = ROOT / "README.md"
    text = readme.read_text()
    if START in text:
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        text = head + render() + tail
    else:
        text = text.rstrip() + "\n\n" + render() + "\n"
    readme.write_text(text)


if __name__ == "__main__":
    main()
