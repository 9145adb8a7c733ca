"""The orienteering solver, a library of the router (docs/solver.md).

`model.py` (the problem, solutions, the `RouteSolver` protocol the planning use case
calls), `moves.py` and `search.py` (the iterated local search), `baseline.py` (greedy and
exact baselines), `formats.py` (the public OP instance files), `local_search.py`,
`cpsat.py` (the CP-SAT model, the only module that imports OR-Tools) and `hybrid.py`
(`HybridSolver`, the production solver). Its command line is
`adapters/inbound/solver_cli.py` (`wildside-op-solve`). It does no I/O.
"""
