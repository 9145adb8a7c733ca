"""Apply the SQL migrations with yoyo-migrations: `python -m wildside_common.migrate`.

Migrations live in `wildside_common/db/migrations` as plain SQL; yoyo records what it
applied, so running again changes nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

MIGRATIONS = Path(__file__).parent / "db" / "migrations"


def yoyo_url(database_url: str) -> str:
    """yoyo wants an explicit driver: postgresql+psycopg://..."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+psycopg://" + database_url[len(prefix) :]
    return database_url


def apply(database_url: str) -> int:
    """Apply pending migrations; returns how many were applied."""
    from yoyo import get_backend, read_migrations

    backend = get_backend(yoyo_url(database_url))
    try:
        migrations = read_migrations(str(MIGRATIONS))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
    finally:
        backend.connection.close()
    return len(pending)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="PostgreSQL URL (default: $DATABASE_URL)",
    )
    args = parser.parse_args(argv)
    if not args.database_url:
        print("DATABASE_URL: is required but not set", file=sys.stderr)
        return 2
    count = apply(args.database_url)
    print(f"migrations applied: {count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
