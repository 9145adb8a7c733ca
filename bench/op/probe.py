"""The local search alone at a fixed work budget, over many seeds: a screening probe.

    .venv/bin/python bench/op/probe.py --budget 8.75e6 --seeds 0-11 --jobs 2

Runs `iterated_local_search` from the greedy route on every public instance with the
wall-clock deadline off, so each answer depends only on (instance, seed, budget): two
probes of the same code give the same gaps on any machine, busy or not, and changes to
the search can be screened on many seeds without the hybrid's clock in the way.
8.75e6 units is what the hybrid gives the local search at a 0.1 s limit (0.1 x 0.7 x
`WORK_PER_SECOND`), 87.5e6 at 1 s. Prints the mean gap per seed, over all seeds, the
worst instance, and the work done per CPU second (how a work budget turns into CPU:
compare it across changes, back to back, before trusting a gap won by cheaper charges).
"""

from __future__ import annotations

import argparse
import json
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from run import DEFAULT_DATA, best_known
from search_alone import search_alone, seed_list

Task = tuple[str, int, float]


def solve(task: Task) -> tuple[str, int, float, float, float]:
    """(instance, seed, score, work done, CPU seconds) of one deterministic search."""
    from wildside_router.solver.formats import parse_instance

    path, seed, budget = task
    instance = parse_instance(Path(path).read_text(encoding="utf-8"), Path(path).name)
    return (Path(path).name, seed, *search_alone(instance, seed, budget, Path(path).name))


def _print_top(gaps: dict[tuple[str, int], float], seeds: list[int], count: int) -> None:
    """The `count` instances with the largest mean gap over the seeds, with their share
    of the overall mean and the gap on every seed."""
    names = sorted({name for name, _ in gaps})
    means = {n: statistics.fmean(gaps[n, s] for s in seeds) for n in names}
    total = sum(means.values())
    for name in sorted(names, key=lambda n: -means[n])[:count]:
        per_seed = " ".join(f"{gaps[name, s]:5.1f}" for s in seeds)
        share = 100 * means[name] / total if total > 0 else 0.0
        print(f"{name:40s} mean {means[name]:6.2f} % ({share:4.1f} % of the sum): {per_seed}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--budget", type=float, default=8.75e6)
    parser.add_argument("--seeds", default="0-11")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--only", default="", help="substring filter on instance names (comma: any of several)"
    )
    parser.add_argument(
        "--top", type=int, default=0, help="list the N instances with the largest mean gap"
    )
    parser.add_argument("--dump", type=Path, help="write every (instance, seed) gap as JSON")
    args = parser.parse_args()
    best = best_known(args.data)
    wanted = args.only.split(",")
    files = sorted(
        p
        for p in (args.data / "instances").iterdir()
        if p.name in best and any(w in p.name for w in wanted)
    )
    seeds = seed_list(args.seeds)
    tasks = [(str(p), seed, args.budget) for seed in seeds for p in files]
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(solve, tasks, chunksize=4))
    gaps = {
        (name, seed): 100 * (best[name] - score) / best[name] for name, seed, score, _, _ in rows
    }
    for seed in seeds:
        mean = statistics.fmean(g for (_, s), g in gaps.items() if s == seed)
        print(f"seed {seed}: mean gap {mean:.3f} %")
    if args.top:
        _print_top(gaps, seeds, args.top)
    if args.dump:
        args.dump.write_text(
            json.dumps({f"{name} {seed}": gap for (name, seed), gap in gaps.items()}, indent=0)
        )
    worst = max(gaps.items(), key=lambda item: item[1])
    work = sum(r[3] for r in rows)
    cpu = sum(r[4] for r in rows)
    print(
        f"all {len(seeds)} seeds: mean gap {statistics.fmean(gaps.values()):.3f} %, "
        f"worst {worst[1]:.2f} % ({worst[0][0]} seed {worst[0][1]}), "
        f"{work / cpu:.3g} units per CPU second ({cpu:.1f} CPU s)"
    )


if __name__ == "__main__":
    main()
