#!/usr/bin/env bash
# make bench: every benchmark, figures into bench/*/results.* and the README.
# Runs on this machine against private servers (scratch database, own nats-server,
# a Redis key prefix), like the tests. Takes a while: the solver benchmark alone
# solves every instance at 0.1, 1 and 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
run() { echo "== $*"; "$@"; }

[ -f bench/op/run.py ] && run $PY bench/op/run.py --time-limits 10 1 0.1 --solvers hybrid greedy \
    --jobs 2 --out bench/op/results.md
[ -f bench/ingest/run.py ] && run $PY bench/ingest/run.py
# The router at its defaults against 1 s plans of the same walks (issue 19), then with
# 200 candidates against that.
[ -f bench/router/run.py ] && run $PY bench/router/run.py --time-limit 1 --cpsat-max-nodes 80 \
    --no-rss --out bench/router/baseline-1s.json
[ -f bench/router/run.py ] && run $PY bench/router/run.py --baseline bench/router/baseline-1s.json
[ -f bench/router/run.py ] && run $PY bench/router/run.py --max-candidates 200 --no-rss \
    --baseline bench/router/results.json --out bench/router/candidates-200.json
run $PY bench/gateway/run.py
run $PY bench/e2e/run.py
run $PY bench/ws/run.py
run $PY bench/guide/run.py
run $PY bench/tiles/run.py
# Issue 17: routers with 1, 2, 3 processes and two enrichers collapsing duplicates, then a
# 20-minute soak of mixed load with every process's RSS, fds and connections sampled.
run $PY bench/scale/run.py
run $PY bench/soak/run.py --minutes 20
run bash scripts/web-build.sh
run $PY bench/web/run.py
run $PY bench/report.py
