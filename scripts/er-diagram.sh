#!/usr/bin/env bash
# Regenerates docs/er-diagram.md from the migrations (make er-diagram).
# Uses DATABASE_URL when it is set (an already migrated database); otherwise a scratch
# database on TEST_PG_ADMIN_URL's server, migrated, read and dropped.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/er_diagram.py ${DATABASE_URL:+"$DATABASE_URL"} "$@"
