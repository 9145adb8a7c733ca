"""`ingest-osm` / `python -m wildside_ingest`: see `wildside_ingest.adapters.inbound.cli`."""

from __future__ import annotations

import sys

from wildside_ingest.adapters.inbound.cli import main as cli_main


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli_main())


if __name__ == "__main__":
    main()
