"""`wildside-op-solve`: solve one public OP instance and print one JSON line.

    wildside-op-solve INSTANCE --time-limit SECONDS [--seed N] [--solver hybrid|local|greedy]

INSTANCE is a classic file (`Tmax P` then `x y score` lines; route from node 0 to node 1)
or an OPLib file (round trip from the depot, index 0). Bad input prints one line on
stderr and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from wildside_common.errors import InvalidInput
from wildside_router.solver.baseline import GreedySolver
from wildside_router.solver.formats import parse_instance
from wildside_router.solver.hybrid import HybridSolver
from wildside_router.solver.local_search import LocalSearchSolver
from wildside_router.solver.model import RouteSolver, check_feasible

# hybrid: the router's solver (local search, then CP-SAT on small instances).
SOLVERS: dict[str, type[RouteSolver]] = {
    "hybrid": HybridSolver,
    "local": LocalSearchSolver,
    "greedy": GreedySolver,
}


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line with exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        _fail(message)


def _fail(message: str) -> None:
    print(f"wildside-op-solve: error: {message}", file=sys.stderr)
    raise SystemExit(2)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = _Parser(prog="wildside-op-solve", description=__doc__.splitlines()[0])
    parser.add_argument("instance", help="classic (.txt) or OPLib (.oplib) instance file")
    parser.add_argument("--time-limit", type=float, required=True, help="seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solver", choices=sorted(SOLVERS), default="hybrid")
    args = parser.parse_args(argv)
    if not math.isfinite(args.time_limit) or args.time_limit <= 0:
        _fail("--time-limit must be a positive number of seconds")
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _arguments(argv)
    path = Path(args.instance)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"cannot read {path}: {exc}")
    try:
        instance = parse_instance(text, path.name)
    except InvalidInput as exc:
        _fail(f"{path}: {exc.message}")
    started = time.monotonic()
    solution = SOLVERS[args.solver]().solve(instance, args.time_limit, args.seed, None)
    elapsed = time.monotonic() - started
    line = {
        "instance": path.name,
        "score": solution.score,
        "length": solution.length,
        "route": list(solution.route),
        "feasible": check_feasible(instance, solution.route),
        "proven_optimal": solution.proven_optimal,
        "optimality_gap": solution.optimality_gap,
        "elapsed_s": round(elapsed, 4),
        "solver": args.solver,
        "seed": args.seed,
    }
    print(json.dumps(line))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
