"""Quality benchmark of the router's orienteering solver on public OP instances.

    .venv/bin/python bench/op/run.py --time-limits 1 10 --jobs 2 --out bench/op/results.md

Solves every instance under `<data>/instances` (default: `../shared/bench/op` next to
the repository) with each of `--solvers` at each time limit (the greedy baseline once),
in one run; compares each score with `best_known.csv` (gap = (best - score) / best,
negative when we beat it), re-checks every route's feasibility and counts the answers
proven optimal (and any "proof" contradicted by a better known score). Writes a
Markdown summary to `--out` and every result to the same path with a `.json` suffix;
the machine's load average before and after goes into the summary, since other work on
the machine slows the solvers down.

Solvers: `hybrid` (production: local search, then CP-SAT on instances up to
`--max-nodes` nodes), `local` (the local search alone), `cpsat` (CP-SAT alone on every
instance, hinted with the local search's first route), `greedy`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from wildside_router.solver.hybrid import DEFAULT_MAX_NODES

REPO = Path(__file__).resolve().parents[2]
# ../shared next to the checkout (a worktree sits one level deeper).
DEFAULT_DATA = next(
    (p / "shared" / "bench" / "op" for p in REPO.parents if (p / "shared" / "bench").is_dir()),
    REPO.parent / "shared" / "bench" / "op",
)


SOLVERS = ("hybrid", "local", "cpsat", "greedy")


def make_solver(name: str, max_nodes: int, shares: tuple[float, float] | None) -> Any:
    """The named solver (module doc)."""
    from wildside_router.solver.baseline import GreedySolver
    from wildside_router.solver.hybrid import HybridSolver
    from wildside_router.solver.local_search import LocalSearchSolver

    if name == "hybrid":
        return HybridSolver(max_nodes) if shares is None else HybridSolver(max_nodes, shares=shares)
    if name == "cpsat":
        return HybridSolver(10**9, shares=(0.0, 0.85))
    return LocalSearchSolver() if name == "local" else GreedySolver()


Task = tuple[str, str, float, int, int, tuple[float, float] | None]


def solve_one(task: Task) -> dict[str, object]:
    """Solve one (instance file, solver, time limit, seed, max nodes, hybrid's shares) in
    a worker process."""
    from wildside_router.solver.formats import parse_instance
    from wildside_router.solver.model import feasibility_problem

    path, solver_name, time_limit, seed, max_nodes, shares = task
    instance = parse_instance(Path(path).read_text(encoding="utf-8"), Path(path).name)
    solver = make_solver(solver_name, max_nodes, shares)
    before = _cpsat_runs()
    started = time.monotonic()
    solution = solver.solve(instance, time_limit, seed, None)
    elapsed = time.monotonic() - started
    ended = [k for k, v in _cpsat_runs().items() if v > before[k]]
    problem = feasibility_problem(instance, list(solution.route))
    return {
        "instance": Path(path).name,
        "solver": solver_name,
        "time_limit": time_limit,
        "score": solution.score,
        "length": solution.length,
        "elapsed_s": round(elapsed, 4),
        "feasible": problem is None,
        "problem": problem,
        "proven_optimal": bool(getattr(solution, "proven_optimal", False)),
        "bound": getattr(solution, "bound", None),
        "nodes": instance.n,
        "cpsat_ended": ended[0] if ended else None,
        "route": list(solution.route),
    }


def _cpsat_runs() -> dict[str, float]:
    """This process's CP-SAT runs by how they ended (cpsat.RUNS)."""
    from prometheus_client import REGISTRY

    ended = ("proven", "deterministic_limit", "clock", "not_run")
    sample = REGISTRY.get_sample_value
    return {e: sample("wildside_engine_cpsat_runs_total", {"ended": e}) or 0.0 for e in ended}


def instance_set(name: str) -> str:
    """The benchmark set an instance file belongs to."""
    if name.startswith("tsiligirides"):
        return "Tsiligirides"
    if name.startswith("chao"):
        return "Chao"
    return "OPLib"


def _summary(rows: list[dict[str, object]], best: dict[str, float]) -> list[dict[str, object]]:
    groups: dict[tuple[str, str], list[dict[str, object]]] = {}
    for row in rows:
        label = (
            "greedy" if row["solver"] == "greedy" else f"{row['solver']} {row['time_limit']:g} s"
        )
        name = str(row["instance"])
        row["gap"] = (best[name] - float(str(row["score"]))) / best[name]
        # A proof is wrong if a better score is known (it would be a solver bug).
        row["wrong_proof"] = bool(row["proven_optimal"]) and float(str(row["gap"])) > 1e-9
        kind = instance_set(name)
        for group in (kind, "classic" if kind != "OPLib" else "", "all"):
            if not group:
                continue
            groups.setdefault((label, group), []).append(row)
    table = []
    for (label, group), members in sorted(groups.items()):
        gaps = [float(str(r["gap"])) for r in members]
        table.append(
            {
                "solver": label,
                "set": group,
                "instances": len(members),
                "mean_gap_pct": round(100 * statistics.fmean(gaps), 3),
                "worst_gap_pct": round(100 * max(gaps), 3),
                "at_or_above_best": sum(1 for g in gaps if g <= 1e-12),
                "infeasible": sum(1 for r in members if not r["feasible"]),
                "proven_optimal": sum(1 for r in members if r["proven_optimal"]),
                "wrong_proofs": sum(1 for r in members if r["wrong_proof"]),
                "cpsat_runs": sum(1 for r in members if r["cpsat_ended"]),
                "cpsat_clock": sum(1 for r in members if r["cpsat_ended"] == "clock"),
                "median_elapsed_s": round(
                    statistics.median(float(str(r["elapsed_s"])) for r in members), 3
                ),
                "max_elapsed_s": max(float(str(r["elapsed_s"])) for r in members),
            }
        )
    return table


COLUMNS = {
    "solver": "solver",
    "set": "set",
    "instances": "instances",
    "mean_gap_pct": "mean gap %",
    "worst_gap_pct": "worst gap %",
    "at_or_above_best": "= or > best",
    "proven_optimal": "proven optimal",
    "wrong_proofs": "wrong proofs",
    "cpsat_runs": "CP-SAT runs",
    "cpsat_clock": "stopped by clock",
    "infeasible": "infeasible",
    "median_elapsed_s": "median s",
    "max_elapsed_s": "max s",
}


def _markdown(
    table: list[dict[str, object]], rows: list[dict[str, object]], run: dict[str, object]
) -> str:
    lines = [
        "# OP solver benchmark",
        "",
        f"{platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; `{run['command']}`; wall time {run['wall_s']:.0f} s; "
        f"load average (1, 5, 15 min) before {run['load_before']}, after {run['load_after']}.",
        "",
        "| " + " | ".join(COLUMNS.values()) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(str(r[k]) for k in COLUMNS) + " |" for r in table]
    worst = sorted(
        (r for r in rows if r["solver"] != "greedy"), key=lambda r: -float(str(r["gap"]))
    )[:10]
    lines += [
        "",
        "Largest gaps:",
        "",
        "| instance | solver | limit s | score | gap % | proven |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['instance']} | {r['solver']} | {r['time_limit']:g} | {r['score']:g} | "
        f"{100 * float(str(r['gap'])):.2f} | {r['proven_optimal']} |"
        for r in worst
    ]
    return "\n".join(lines) + "\n"


def _load() -> str:
    return ", ".join(f"{v:.2f}" for v in os.getloadavg())


def best_known(data: Path) -> dict[str, float]:
    """The best known score of every instance, from `best_known.csv` in `data`."""
    with (data / "best_known.csv").open(encoding="utf-8") as handle:
        return {r["instance"]: float(r["best_known"]) for r in csv.DictReader(handle)}


def main() -> int:
    """Run the benchmark; exit status 1 when any answer is infeasible or a proof wrong."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--time-limits", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--solvers", nargs="+", choices=SOLVERS, default=["hybrid", "greedy"])
    parser.add_argument("--max-nodes", type=int, default=DEFAULT_MAX_NODES)
    parser.add_argument(
        "--shares", type=float, nargs=2, help="hybrid: local search and CP-SAT shares"
    )
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="substring filter on instance names")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "op" / "results.md")
    args = parser.parse_args()
    best = best_known(args.data)
    files = sorted(
        p for p in (args.data / "instances").iterdir() if p.name in best and args.only in p.name
    )
    shares = tuple(args.shares) if args.shares else None
    tasks: list[Task] = []
    if "greedy" in args.solvers:
        tasks += [(str(p), "greedy", 0.0, args.seed, args.max_nodes, None) for p in files]
    # Longest first, so the two workers finish together.
    for limit in sorted(args.time_limits, reverse=True):
        for name in (s for s in args.solvers if s != "greedy"):
            tasks += [(str(p), name, limit, args.seed, args.max_nodes, shares) for p in files]
    run: dict[str, object] = {"command": " ".join(["bench/op/run.py", *sys.argv[1:]])}
    run["load_before"] = _load()
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, 2))) as pool:
        rows = list(pool.map(solve_one, tasks))
    run["wall_s"], run["load_after"] = time.monotonic() - started, _load()
    table = _summary(rows, best)
    text = _markdown(table, rows, run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    args.out.with_suffix(".json").write_text(
        json.dumps({"run": run, "summary": table, "results": rows}, indent=1), encoding="utf-8"
    )
    print(text)
    return 1 if any(not r["feasible"] or r["wrong_proof"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
