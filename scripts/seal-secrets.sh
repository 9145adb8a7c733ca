#!/usr/bin/env bash
# Encrypt filled-in Secret files with SOPS (age) and list them in their scope's
# kustomization.yaml, so Flux applies and decrypts them (docs/operations.md#secrets).
#
#   scripts/seal-secrets.sh deploy/secrets/production/secrets.sops.yaml [...]
#
# Needs `sops` (https://github.com/getsops/sops, 3.8 or later) and a real age recipient in
# .sops.yaml. Refuses a file that still holds REPLACE_ME, and leaves an already encrypted
# file alone (edit those with `sops FILE`).
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "seal-secrets: $*" >&2; exit 1; }

[ $# -gt 0 ] || die "usage: $0 deploy/secrets/<scope>/<name>.sops.yaml ..."
command -v sops >/dev/null || die "sops is not installed (https://github.com/getsops/sops/releases)"
grep -q 'REPLACE_WITH_YOUR_AGE_PUBLIC_KEY' .sops.yaml \
    && die ".sops.yaml: put your age public key (age1...) in place of REPLACE_WITH_YOUR_AGE_PUBLIC_KEY"

for file in "$@"; do
    case "$file" in
        deploy/secrets/*/*.sops.yaml) ;;
        *) die "$file: sealed files live in deploy/secrets/<scope>/ and end in .sops.yaml" ;;
    esac
    [ -f "$file" ] || die "$file: no such file"
    if grep -q '^sops:' "$file"; then
        echo "seal-secrets: $file is already encrypted (edit it with: sops $file)"
    else
        grep -q 'REPLACE_ME' "$file" && die "$file: replace every REPLACE_ME first"
        sops --encrypt --in-place "$file"
        echo "seal-secrets: encrypted $file"
    fi
    # List every sealed file of the scope in its kustomization.yaml.
    scope=$(dirname "$file")
    {
        sed -n '/^#/p' "$scope/kustomization.yaml"
        echo "apiVersion: kustomize.config.k8s.io/v1beta1"
        echo "kind: Kustomization"
        echo "resources:"
        for sealed in "$scope"/*.sops.yaml; do
            echo "  - $(basename "$sealed")"
        done
    } > "$scope/kustomization.yaml.new"
    mv "$scope/kustomization.yaml.new" "$scope/kustomization.yaml"
done
