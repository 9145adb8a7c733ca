"""Quality benchmark of the router's orienteering solver on public OP instances.

    .venv/bin/python bench/op/run.py --time-limits 1 10 --jobs 2 --out bench/op/results.md

Solves every instance under `<data>/instances` (default: `../shared/bench/op` next to
the repository) with the production solver at each time limit and with the greedy
baseline, in one run; compares each score with `best_known.csv` (gap = (best - score) /
best, negative when we beat it) and re-checks every route's feasibility. Writes a
Markdown summary to `--out` and every result to the same path with a `.json` suffix.
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

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DATA = REPO.parent / "shared" / "bench" / "op"


def solve_one(task: tuple[str, str, float, int]) -> dict[str, object]:
    """Solve one (instance file, solver, time limit, seed) in a worker process."""
    from wildside_router.adapters.outbound.ortools_solver import OrToolsOPSolver
    from wildside_router.domain.op_baseline import GreedySolver
    from wildside_router.domain.op_formats import parse_instance
    from wildside_router.domain.orienteering import feasibility_problem

    path, solver_name, time_limit, seed = task
    instance = parse_instance(Path(path).read_text(encoding="utf-8"), Path(path).name)
    solver = OrToolsOPSolver() if solver_name == "ortools" else GreedySolver()
    started = time.monotonic()
    solution = solver.solve(instance, time_limit, seed, None)
    elapsed = time.monotonic() - started
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
        "route": list(solution.route),
    }


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
        label = "greedy" if row["solver"] == "greedy" else f"production {row['time_limit']:g} s"
        name = str(row["instance"])
        row["gap"] = (best[name] - float(str(row["score"]))) / best[name]
        for group in (instance_set(name), "all"):
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
                "max_elapsed_s": max(float(str(r["elapsed_s"])) for r in members),
            }
        )
    return table


def _markdown(table: list[dict[str, object]], rows: list[dict[str, object]], wall: float) -> str:
    head = [
        "solver",
        "set",
        "instances",
        "mean gap %",
        "worst gap %",
        "= or > best",
        "infeasible",
        "max elapsed s",
    ]
    lines = [
        "# OP solver benchmark",
        "",
        f"{platform.platform()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; wall time {wall:.0f} s.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in table:
        lines.append(
            "| "
            + " | ".join(
                str(r[k])
                for k in (
                    "solver",
                    "set",
                    "instances",
                    "mean_gap_pct",
                    "worst_gap_pct",
                    "at_or_above_best",
                    "infeasible",
                    "max_elapsed_s",
                )
            )
            + " |"
        )
    worst = sorted(
        (r for r in rows if r["solver"] != "greedy"), key=lambda r: -float(str(r["gap"]))
    )[:10]
    lines += [
        "",
        "Largest production gaps:",
        "",
        "| instance | limit s | score | gap % |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {r['instance']} | {r['time_limit']:g} | {r['score']:g} | "
        f"{100 * float(str(r['gap'])):.2f} |"
        for r in worst
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    """Run the benchmark; exit status 1 when any answer is infeasible."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--time-limits", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", default="", help="substring filter on instance names")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "op" / "results.md")
    args = parser.parse_args()
    with (args.data / "best_known.csv").open(encoding="utf-8") as handle:
        best = {r["instance"]: float(r["best_known"]) for r in csv.DictReader(handle)}
    files = sorted(
        p for p in (args.data / "instances").iterdir() if p.name in best and args.only in p.name
    )
    tasks = [(str(p), "greedy", 0.0, args.seed) for p in files]
    # Longest first, so the two workers finish together.
    for limit in sorted(args.time_limits, reverse=True):
        tasks += [(str(p), "ortools", limit, args.seed) for p in files]
    started = time.monotonic()
    with ProcessPoolExecutor(max_workers=max(1, min(args.jobs, 2))) as pool:
        rows = list(pool.map(solve_one, tasks))
    table = _summary(rows, best)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(_markdown(table, rows, time.monotonic() - started), encoding="utf-8")
    args.out.with_suffix(".json").write_text(
        json.dumps({"summary": table, "results": rows}, indent=1), encoding="utf-8"
    )
    print(_markdown(table, rows, time.monotonic() - started))
    return 1 if any(not r["feasible"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
