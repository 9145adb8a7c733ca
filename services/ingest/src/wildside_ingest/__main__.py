"""`ingest-osm` / `python -m wildside_ingest`: the command line
(`wildside_ingest.adapters.inbound.cli`) over the composition root's service."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Sequence

# numpy (shapely's) starts OpenBLAS's worker threads at import, one per CPU, and they
# spin for a while on a core the reader wants (1.5 % of a 50x run's CPU, bench/ingest);
# the ingest does no linear algebra. Before the imports below, as OpenBLAS reads it once.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from wildside_ingest.adapters.inbound.cli import main as cli_main
from wildside_ingest.bootstrap import ingest_service


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with `argv` (default: the process's); returns the exit status."""
    return cli_main(argv, ingest_service)


# glibc's mallopt parameter M_ARENA_MAX (malloc.h)
_M_ARENA_MAX = -8


def one_malloc_arena() -> bool:
    """Have glibc's malloc use one arena for the whole process (as MALLOC_ARENA_MAX=1).

    By default each thread that allocates (the reader thread, the C++ first pass beside
    it, the event loop's) may get an arena of its own, and each keeps its freed pages:
    ~10 MB more peak RSS at 10x the Helsinki extract (bench/ingest), for no measured
    gain in time. Must run before those threads start; False where there is no glibc.
    """
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1))
    except (OSError, AttributeError):
        return False


def main() -> None:
    """Console-script entry point."""
    one_malloc_arena()
    sys.exit(run())


if __name__ == "__main__":
    main()
