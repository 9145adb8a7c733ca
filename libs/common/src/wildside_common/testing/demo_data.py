"""The demo extract in a test database, and a database URL as another role.

`load_demo_extract` runs the installed `ingest-osm` (next to this interpreter, in the
virtual environment) on `data/helsinki-centre.osm.pbf`, the extract `make up` loads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[5]
DEMO_EXTRACT = ROOT / "data" / "helsinki-centre.osm.pbf"


def load_demo_extract(database_url: str, *options: str) -> str:
    """Ingest the demo extract into `database_url` (migrated); the URL back."""
    command = [
        str(Path(sys.executable).with_name("ingest-osm")),
        str(DEMO_EXTRACT),
        "--no-progress",
        *options,
    ]
    env = {**os.environ, "DATABASE_URL": database_url}
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    return database_url


def as_role(url: str, role: str) -> str:
    """The same database as `role` (trust authentication on the test server)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{role}@{parts.hostname}:{parts.port or 5432}"))
