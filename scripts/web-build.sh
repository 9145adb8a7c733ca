#!/usr/bin/env bash
# Build the web client (web/) into web/dist when its sources changed since the last build.
#
#   bash scripts/web-build.sh          install the npm packages (exact versions from
#                                      web/package.json) if needed, then vite build
#   bash scripts/web-build.sh --force  build even when nothing changed
#
# web/node_modules, web/dist and web/package-lock.json are gitignored (a lockfile records
# download addresses); package.json pins every package to one exact version. No browser is
# downloaded (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD): the browser tests use Debian's chromium.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib-common.sh"
cd "$ROOT/web"

FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1
command -v npm >/dev/null || die "npm is needed to build the web client (apt-get install nodejs npm)"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

sources_hash() {
    find package.json tsconfig.json tsconfig.sw.json vite.config.ts index.html src public -type f 2>/dev/null |
        LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1
}

packages_hash=$(sha256sum package.json | cut -d' ' -f1)
if [ ! -f node_modules/.wildside-installed ] ||
    [ "$(cat node_modules/.wildside-installed)" != "$packages_hash" ]; then
    say "web: installing npm packages"
    npm install --no-audit --no-fund --no-save --loglevel=error
    printf '%s\n' "$packages_hash" >node_modules/.wildside-installed
fi

hash=$(sources_hash)
if [ "$FORCE" -eq 0 ] && [ -f node_modules/.wildside-build ] && [ "$(cat node_modules/.wildside-build)" = "$hash" ]; then
    say "web: dist is up to date"
    exit 0
fi
say "web: building web/dist"
npm run --silent build
printf '%s\n' "$hash" >node_modules/.wildside-build

# First-load size: every script and style the page loads, gzipped. Budget: 350 KB
# (WEB_BUDGET_KB); over it the build fails.
budget=${WEB_BUDGET_KB:-350}
total=0
for file in dist/assets/*.js dist/assets/*.css; do
    [ -f "$file" ] || continue
    total=$((total + $(gzip -9 -c "$file" | wc -c)))
done
kb=$(((total + 1023) / 1024))
say "web: first load ${kb} KB gzipped (budget ${budget} KB)"
[ "$kb" -le "$budget" ] || die "web: the first load is ${kb} KB gzipped, over the ${budget} KB budget"
