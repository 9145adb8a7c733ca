#!/usr/bin/env bash
# make deploy-check: deploy/ checked offline, with no cluster (docs/operations.md).
#
#   1. yamllint (.yamllint) over deploy/, compose.yaml and .github/
#   2. every kustomization rendered by `kubectl kustomize` (the pinned kubectl that
#      scripts/deploy-tools.sh installs into .venv/bin)
#   3. the alerting rules: the PrometheusRule groups extracted into a plain rules file
#      (scripts/prometheus-rules.py), `promtool check rules`, and their unit tests
#      deploy/observability/tests/*.yaml (`promtool test rules`)
#   4. tests/deploy (unit): rendered documents against the Kubernetes and CRD schemas, every
#      container's settings against what its program reads, dashboards' and alerts' metrics
#
# promtool comes from Debian's prometheus package: `make deploy-check` runs
# `bash scripts/system-deps.sh --deploy` first. Nothing is skipped: a missing tool fails.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib-common.sh"
cd "$ROOT"

PROMTOOL=${WILDSIDE_PROMTOOL:-/usr/bin/promtool}
[ -x "$PROMTOOL" ] || die "no promtool at $PROMTOOL: run bash scripts/system-deps.sh --deploy"
bash scripts/deploy-tools.sh

say "yamllint"
lint=(deploy compose.yaml)
[ -d .github ] && lint+=(.github)
"$VENV_BIN/yamllint" --strict "${lint[@]}"

say "kubectl kustomize"
while IFS= read -r kustomization; do
    dir=$(dirname "$kustomization")
    "$VENV_BIN/kubectl" kustomize "$dir" >/dev/null || die "$dir does not render"
    printf '    %s\n' "$dir"
done < <(find deploy -name kustomization.yaml | sort)

say "promtool"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$VENV_BIN/python" scripts/prometheus-rules.py "$work/rules.yaml"
"$PROMTOOL" check rules "$work/rules.yaml"
tests=(deploy/observability/tests/*.yaml)
[ -e "${tests[0]}" ] || die "no alert unit tests in deploy/observability/tests/"
cp "${tests[@]}" "$work/"
(cd "$work" && "$PROMTOOL" test rules "${tests[@]##*/}")

say "tests/deploy"
"$VENV_BIN/pytest" -p no:cacheprovider -q -m unit tests/deploy
