#!/usr/bin/env bash
# Creates .venv and installs every package, pinned by constraints.txt. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PY" -m venv .venv
fi
# the ingest's C++ readers are compiled by the install below: their headers first
bash scripts/system-deps.sh --build
.venv/bin/python -m pip install -q --upgrade 'pip>=24' 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -m pip install -q -c constraints.txt -r requirements-dev.txt 2>&1 | grep -v '^WARNING: Location' || true
# fail when anything did not install
.venv/bin/python -c 'import wildside_gateway, wildside_router, wildside_enricher, wildside_ingest, wildside_ingest._native, wildside_tiles_auth, nats, asyncpg, osmium, ortools, yoyo' 
# kubectl for rendering deploy/ (tests/deploy, make deploy-check)
bash scripts/deploy-tools.sh
touch .venv/.installed
