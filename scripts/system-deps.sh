#!/usr/bin/env bash
# Installs the system packages Wildside needs from the distribution (Debian/Ubuntu, apt-get).
#
#   bash scripts/system-deps.sh            PostGIS for the PostgreSQL server the tests use, and
#                                          the build headers below
#   bash scripts/system-deps.sh --build    only what building the ingest's C++ readers needs
#                                          (a C++ compiler, libosmium, protozero, zlib headers);
#                                          scripts/venv.sh runs this before it installs
#   bash scripts/system-deps.sh --for-up   also PostgreSQL server binaries and PostGIS (unless
#                                          DATABASE_URL is set) and redis-server (unless REDIS_URL
#                                          is set), for the servers `make up` starts itself
#   bash scripts/system-deps.sh --browser  also what the browser tests need: Debian's chromium
#                                          (never a browser download) and node/npm for web/
#   bash scripts/system-deps.sh --clients  also the crates the Rust sample client (clients/rust)
#                                          builds from offline: Debian's librust-*-dev packages
#                                          (skipped, with a message, where there is no cargo)
#   bash scripts/system-deps.sh --deploy   also promtool (Debian's prometheus package), which
#                                          `make deploy-check` runs on the alerting rules
#   --dry-run                              print what would be installed, install nothing
#
# Idempotent and quick when nothing is missing: it runs before every `make test`.
# `apt-get update` runs only when something must be installed.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib-common.sh"

TEST_PG_ADMIN_URL=${TEST_PG_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
FOR_UP=0
BUILD_ONLY=0
BROWSER=0
CLIENTS=0
DEPLOY=0
DRY_RUN=0
UPDATED=0
# Overridable so tests can watch it without touching the real one.
POLICY_RC=${WILDSIDE_POLICY_RC:-/usr/sbin/policy-rc.d}

usage() { sed -n '2,22s/^# \{0,1\}//p' "$0"; }

for arg in "$@"; do
    case $arg in
    --for-up) FOR_UP=1 ;;
    --build) BUILD_ONLY=1 ;;
    --browser) BROWSER=1 ;;
    --clients) CLIENTS=1 ;;
    --deploy) DEPLOY=1 ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && exit 2 ;;
    esac
done

# Package installs must not start the distribution's own PostgreSQL or Redis services: make up
# runs its own under .data/. A policy-rc.d that says "no" is the Debian way to hold them back;
# it is ours only while we install, and only if none was there before.
hold_services() {
    [ -e "$POLICY_RC" ] && return 0
    printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC"
    chmod 755 "$POLICY_RC"
    trap 'rm -f "$POLICY_RC"' EXIT INT TERM
}

# apt_install PKG...: install with apt-get, or say exactly what is missing and fail.
apt_install() {
    if [ "$DRY_RUN" -eq 1 ]; then
        say "would install: $* (apt-get install -y --no-install-recommends $*)"
        return 0
    fi
    if ! command -v apt-get >/dev/null; then
        die "missing system package(s): $*. There is no apt-get here: install the equivalent" \
            "with your system's package manager, then run this again."
    fi
    if ! is_root; then
        die "missing system package(s): $*. Run as root: apt-get install $*" \
            "(or run this script as root)."
    fi
    say "installing $*"
    hold_services
    export DEBIAN_FRONTEND=noninteractive
    # Another apt-get or dpkg (another checkout's make test, unattended upgrades) holds the
    # dpkg lock for a while: wait for it rather than fail on "Could not get lock".
    local wait=(-o "DPkg::Lock::Timeout=${WILDSIDE_APT_LOCK_TIMEOUT:-600}")
    if [ "$UPDATED" -eq 0 ]; then
        apt-get "${wait[@]}" update -q
        UPDATED=1
    fi
    apt-get "${wait[@]}" install -y -q --no-install-recommends "$@"
}

# pg_query URL SQL: one row, fields separated by '|'; fails when the server does not answer.
pg_query() {
    if command -v psql >/dev/null; then
        PGCONNECT_TIMEOUT=3 psql "$1" -XAtq -c "$2" 2>/dev/null
    elif [ -x "$VENV_BIN/python" ]; then
        "$VENV_BIN/python" - "$1" "$2" 2>/dev/null <<'EOF'
import sys

import psycopg

with psycopg.connect(sys.argv[1], connect_timeout=3) as conn:
    print("|".join(str(v).lower()[:1] if isinstance(v, bool) else str(v)
                   for v in conn.execute(sys.argv[2]).fetchone()))
EOF
    else
        return 1
    fi
}

# PostGIS for the server the tests use. Installing it here only helps when that server runs on
# this machine; for a remote one, say what its operator must install.
ensure_test_server_postgis() {
    local row major has host
    if ! row=$(pg_query "$TEST_PG_ADMIN_URL" "SELECT current_setting('server_version_num')::int / 10000,
            EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'postgis')"); then
        warn "no PostgreSQL answers at TEST_PG_ADMIN_URL ($TEST_PG_ADMIN_URL): PostGIS not checked"
        return 0
    fi
    major=${row%%|*}
    has=${row##*|}
    [ "$has" = "t" ] && return 0
    url_endpoint "$TEST_PG_ADMIN_URL" 5432
    host=$URL_HOST
    case $host in
    "" | localhost | 127.0.0.1 | ::1 | "[::1]") apt_install "postgresql-$major-postgis-3" ;;
    *) die "the PostgreSQL server at $host has no PostGIS: install postgresql-$major-postgis-3 there" ;;
    esac
}

# Server binaries and PostGIS for the cluster make up runs under .data/postgres.
ensure_local_postgres() {
    local bin major share
    if ! bin=$(pg_bin_dir); then
        apt_install postgresql
        [ "$DRY_RUN" -eq 1 ] && return 0
        bin=$(pg_bin_dir) || die "postgresql installed, but no initdb under /usr/lib/postgresql"
    fi
    major=$(pg_major_of "$bin")
    share=${WILDSIDE_PG_SHARE:-/usr/share/postgresql}/$major
    [ -f "$share/extension/postgis.control" ] || apt_install "postgresql-$major-postgis-3"
}

ensure_redis() {
    command -v redis-server >/dev/null || apt_install redis-server
}

# services/ingest/native (the C++ readers, built by pip through setup.py): a C++17 compiler
# and the headers of libosmium, protozero and zlib.
ensure_build_headers() {
    local missing=() include=${WILDSIDE_INCLUDE_DIR:-/usr/include}
    command -v c++ >/dev/null || missing+=(g++)
    [ -f "$include/osmium/version.hpp" ] || missing+=(libosmium2-dev)
    [ -f "$include/protozero/version.hpp" ] || missing+=(libprotozero-dev)
    [ -f "$include/zlib.h" ] || missing+=(zlib1g-dev)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# The web client's build and its browser tests (make browser): node with npm, and Debian's
# chromium at /usr/bin/chromium (WILDSIDE_CHROMIUM overrides the path checked).
ensure_browser() {
    local missing=()
    command -v node >/dev/null || missing+=(nodejs)
    command -v npm >/dev/null || missing+=(npm)
    [ -x "${WILDSIDE_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# The Rust sample client's crates: clients/rust/.cargo/config.toml replaces crates.io with
# Debian's directory of crate sources, so the build downloads nothing. Each package below
# (package:crate) puts <crate>-<version>/ there. Without cargo there is nothing to build
# them with: say so and install nothing (tests/e2e/test_sample_clients.py skips then).
CARGO_REGISTRY=${WILDSIDE_CARGO_REGISTRY:-/usr/share/cargo/registry}
CLIENT_CRATES=(librust-base64-dev:base64 librust-getrandom-dev:getrandom
    librust-serde-json-dev:serde_json librust-sha1-dev:sha1)
ensure_client_crates() {
    local missing=() entry
    if ! command -v "${WILDSIDE_CARGO:-cargo}" >/dev/null; then
        say "no cargo: the Rust sample client (clients/rust) cannot be built here; its crates are not installed"
        return 0
    fi
    for entry in "${CLIENT_CRATES[@]}"; do
        compgen -G "$CARGO_REGISTRY/${entry#*:}-[0-9]*" >/dev/null || missing+=("${entry%%:*}")
    done
    [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

# promtool, to check the alerting rules and run their unit tests (make deploy-check). The package
# also brings a Prometheus server, which hold_services keeps from starting.
# WILDSIDE_PROMTOOL overrides the path checked.
ensure_promtool() {
    [ -x "${WILDSIDE_PROMTOOL:-/usr/bin/promtool}" ] || apt_install prometheus
}

ensure_build_headers
[ "$BUILD_ONLY" -eq 1 ] && exit 0
[ "$BROWSER" -eq 1 ] && ensure_browser
[ "$CLIENTS" -eq 1 ] && ensure_client_crates
[ "$DEPLOY" -eq 1 ] && ensure_promtool
ensure_test_server_postgis
if [ "$FOR_UP" -eq 1 ]; then
    [ -n "${DATABASE_URL:-}" ] || ensure_local_postgres
    [ -n "${REDIS_URL:-}" ] || ensure_redis
fi
exit 0
