"""The local search alone on the router bench's walks, at a fixed work budget: a probe.

    .venv/bin/python bench/router/run.py --no-rss --dump-instances /tmp/walks.npz ...
    .venv/bin/python bench/router/probe.py /tmp/walks.npz --against bench/router/baseline-1s.json
        [--budget 8.75e6] [--seeds 1] [--jobs 2] [--only-above 30]

Replays the walks' solver instances (written by `run.py --dump-instances`, in the walks'
order) through `iterated_local_search` from the greedy route, with the wall-clock
deadline off: each answer depends only on (walk, seed, budget), so changes to the search
can be screened on the router's own instances (street-network distances, dwell times,
few stops) whatever the machine's load. 8.75e6 units is what the router's 0.1 s limit
gives the local search; walks of more than `ROUTER_CPSAT_MAX_NODES` (30) nodes get
nothing else, so on them the probe's score is the router's. `--against` compares each
walk with a results.json of the same walks (the 1 s plans): mean score, walks worse and
better. With several seeds, each seed's figures are printed and their mean.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "op"))

from search_alone import search_alone, seed_list

Task = tuple[str, int, int, float]


def solve(task: Task) -> tuple[int, int, float, float, float]:
    """(walk, seed, score, work done, CPU seconds) of one deterministic search."""
    from wildside_router.solver.model import OPInstance

    path, walk, seed, budget = task
    with np.load(path) as data:
        row = data["meta"][walk]
        instance = OPInstance(
            data[f"distances_{walk}"],
            data[f"scores_{walk}"],
            float(row[0]),
            int(row[1]),
            int(row[2]),
            data[f"service_{walk}"],
        )
    return (walk, seed, *search_alone(instance, seed, budget, f"walk {walk}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instances", type=Path, help="run.py --dump-instances output")
    parser.add_argument("--against", type=Path, help="a results.json of the same walks")
    parser.add_argument("--budget", type=float, default=8.75e6)
    parser.add_argument("--seeds", default="", help="'0-3' or '1,5'; default: each walk's own")
    parser.add_argument("--only-above", type=int, default=30, help="walks of more nodes only")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--dump", type=Path, help="write every (walk, seed) score as JSON")
    args = parser.parse_args()
    with np.load(args.instances) as data:
        meta = data["meta"]
        sizes = [len(data[f"scores_{i}"]) for i in range(len(meta))]
    walks = [i for i in range(len(meta)) if sizes[i] > args.only_above]
    seeds = seed_list(args.seeds) if args.seeds else [-1]  # -1: each walk's own seed
    tasks = [
        (str(args.instances), w, int(meta[w][3]) if s < 0 else s, args.budget)
        for s in seeds
        for w in walks
    ]
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        rows = list(pool.map(solve, tasks, chunksize=8))
    reference = None
    if args.against:
        routes = json.loads(args.against.read_text())["routes"]
        reference = [r["score"] for r in routes]
    by_seed: dict[int, list[tuple[int, float]]] = {}
    for (walk, _, score, _, _), (_, _, s, _) in zip(rows, tasks, strict=True):
        by_seed.setdefault(s, []).append((walk, score))
    means = []
    for seed, scores in by_seed.items():
        mean = statistics.fmean(score for _, score in scores)
        line = f"seed {seed}: {len(scores)} walks, mean score {mean:.3f}"
        if reference is not None:
            ref = statistics.fmean(reference[w] for w, _ in scores)
            worse = sum(score < reference[w] - 1e-6 for w, score in scores)
            better = sum(score > reference[w] + 1e-6 for w, score in scores)
            change = 100 * (mean - ref) / ref
            line += f" ({change:+.3f} % of {ref:.3f}; {worse} worse, {better} better)"
            means.append(change)
        print(line)
    work = sum(r[3] for r in rows)
    cpu = sum(r[4] for r in rows)
    tail = f" mean {statistics.fmean(means):+.3f} %;" if means else ""
    print(f"all {len(seeds)} seeds:{tail} {work / cpu:.3g} units per CPU second ({cpu:.1f} CPU s)")
    if args.dump:
        args.dump.write_text(json.dumps([[w, s, score] for w, s, score, _, _ in rows]))


if __name__ == "__main__":
    main()
