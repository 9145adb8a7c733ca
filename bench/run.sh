#!/usr/bin/env bash
# make bench: every benchmark, figures into bench/*/results.* and the README.
# Runs on this machine against private servers (scratch database, own nats-server,
# a Redis key prefix), like the tests. Takes a while: the solver benchmark alone
# solves every instance at 1 s and 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
run() { echo "== $*"; "$@"; }

[ -f bench/op/run.py ] && run $PY bench/op/run.py --time-limits 1 10 --jobs 2 --out bench/op/results.md
[ -f bench/ingest/run.py ] && run $PY bench/ingest/run.py
[ -f bench/router/run.py ] && run $PY bench/router/run.py
run $PY bench/gateway/run.py
run $PY bench/e2e/run.py
run $PY bench/ws/run.py
run $PY bench/guide/run.py
run $PY bench/tiles/run.py
run bash scripts/web-build.sh
run $PY bench/web/run.py
run $PY bench/report.py
