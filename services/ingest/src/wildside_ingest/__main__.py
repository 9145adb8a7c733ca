"""`ingest-osm` / `python -m wildside_ingest`: the command line
(`wildside_ingest.adapters.inbound.cli`) over the composition root's service."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from wildside_ingest.adapters.inbound.cli import main as cli_main
from wildside_ingest.bootstrap import ingest_service


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with `argv` (default: the process's); returns the exit status."""
    return cli_main(argv, ingest_service)


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())


if __name__ == "__main__":
    main()
