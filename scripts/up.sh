#!/usr/bin/env bash
# The whole Wildside stack with demo data; the gateway on http://127.0.0.1:$GATEWAY_PORT.
#
#   bash scripts/up.sh               servers, migrations, bus topology, demo data, accounts,
#                                    then every service in the foreground (Ctrl-C stops them)
#   bash scripts/up.sh --infra-only  stop after migrations and bus topology
#   bash scripts/up.sh gateway ...   run only the named Procfile processes
#
# PostgreSQL, Redis and NATS come from DATABASE_URL, REDIS_URL and NATS_URL when set; otherwise
# local servers are started in the background with their data under .data/ (they keep running
# after Ctrl-C; `make down` stops them). Safe to run again: what runs is left running.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib-common.sh"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib-servers.sh"
cd "$ROOT"

INFRA_ONLY=0
PROCESSES=()
for arg in "$@"; do
    case $arg in
    --infra-only) INFRA_ONLY=1 ;;
    -h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0" && exit 0 ;;
    -*) die "unknown option $arg (see --help)" ;;
    *) PROCESSES+=("$arg") ;;
    esac
done

export WILDSIDE_ENV=${WILDSIDE_ENV:-development}
export GATEWAY_PORT=${GATEWAY_PORT:-8080}
export TILES_AUTH_PORT=${TILES_AUTH_PORT:-8090}
export TILES_DEV_PORT=${TILES_DEV_PORT:-3000}
export GATEWAY_METRICS_PORT=${GATEWAY_METRICS_PORT:-9103}
export ROUTER_METRICS_PORT=${ROUTER_METRICS_PORT:-9101}
export ENRICHER_METRICS_PORT=${ENRICHER_METRICS_PORT:-9102}
export WILDSIDE_PG_PORT WILDSIDE_REDIS_PORT WILDSIDE_NATS_PORT

DEMO_PBF=data/helsinki-centre.osm.pbf
DEMO_GEOFENCE=helsinki-centre

ensure_tools() {
    [ -f .venv/.installed ] || bash scripts/venv.sh
    if [ -z "${DATABASE_URL:-}" ] || [ -z "${REDIS_URL:-}" ]; then
        bash scripts/system-deps.sh --for-up
    fi
}

# wait_for_url NAME URL DEFAULT_PORT: a server named by the caller must answer before we go on.
wait_for_url() {
    url_endpoint "$2" "$3"
    # shellcheck disable=SC2153  # set by url_endpoint
    [ -n "$URL_HOST" ] || return 0
    wait_for_port "$URL_PORT" "$1" 30 "$URL_HOST"
}

start_servers() {
    mkdir -p "$DATA"
    if [ -z "${DATABASE_URL:-}" ]; then
        start_postgres
        export DATABASE_URL="postgresql://postgres@127.0.0.1:$WILDSIDE_PG_PORT/$PG_DATABASE"
        # tiles-auth reads route owners as its own role (migration 0005 creates it; this
        # cluster trusts local connections, so it needs no password).
        export TILES_AUTH_DATABASE_URL=${TILES_AUTH_DATABASE_URL:-"postgresql://tiles_auth_ro@127.0.0.1:$WILDSIDE_PG_PORT/$PG_DATABASE"}
        # The development tile server calls the tile functions as Martin's role would.
        export TILES_DATABASE_URL=${TILES_DATABASE_URL:-"postgresql://martin_ro@127.0.0.1:$WILDSIDE_PG_PORT/$PG_DATABASE"}
    else
        wait_for_url PostgreSQL "$DATABASE_URL" 5432
    fi
    if [ -z "${REDIS_URL:-}" ]; then
        start_redis
        export REDIS_URL="redis://127.0.0.1:$WILDSIDE_REDIS_PORT/0"
    else
        wait_for_url Redis "$REDIS_URL" 6379
    fi
    if [ -z "${NATS_URL:-}" ]; then
        start_nats
        export NATS_URL="nats://127.0.0.1:$WILDSIDE_NATS_PORT"
    else
        wait_for_url NATS "$NATS_URL" 4222
    fi
}

prepare_schema() {
    say "migrating the database"
    "$VENV_BIN/python" -m wildside_common.migrate
    say "provisioning the bus topology"
    "$VENV_BIN/python" -m wildside_common.bus.provision
}

# True when this exact file was already ingested into this database: re-runs skip the import.
demo_data_loaded() {
    "$VENV_BIN/python" - "$DEMO_PBF" "$DEMO_GEOFENCE" <<'EOF'
import hashlib, os, sys

import psycopg

digest = hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest()
with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
    row = conn.execute(
        "SELECT 1 FROM ingestion_runs WHERE file_sha256 = %s AND geofence_name = %s"
        " AND status = 'succeeded' LIMIT 1", (digest, sys.argv[2])).fetchone()
sys.exit(0 if row else 1)
EOF
}

load_demo_data() {
    if ! have_module wildside_ingest.__main__; then
        warn "ingest-osm is not available: skipping the demo data"
        return 0
    fi
    [ -f "$DEMO_PBF" ] || die "$DEMO_PBF is missing"
    if demo_data_loaded; then
        say "demo data already loaded ($DEMO_PBF)"
        return 0
    fi
    say "loading the demo data from $DEMO_PBF (OpenStreetMap contributors, ODbL)"
    # --- demo data: the one ingest command (flags owned by services/ingest) ---
    "$VENV_BIN/ingest-osm" "$DEMO_PBF" --geofence-name "$DEMO_GEOFENCE" \
        --source-url https://download.geofabrik.de/europe/finland.html
}

create_accounts() {
    if [ "$WILDSIDE_ENV" = production ]; then
        say "production mode: no demo or admin accounts"
    elif ! have_module wildside_gateway.manage; then
        warn "wildside-manage is not available: skipping the demo accounts"
    else
        say "ensuring the development accounts (demo / wildside-demo, admin / wildside-admin)"
        "$VENV_BIN/wildside-manage" ensure-dev-accounts
    fi
}

# gateway and tiles-auth must share one keyring (tiles-auth verifies the gateway's session
# tokens); per-process ephemeral keys would not. A key file under .data, made once and kept.
ensure_session_keys() {
    if [ -z "${SESSION_KEYS_FILE:-}" ]; then
        export SESSION_KEYS_FILE=$DATA/session-keys.json
        "$VENV_BIN/wildside-manage" generate-session-key --out "$SESSION_KEYS_FILE" >/dev/null
    fi
    export SESSION_ALLOW_EPHEMERAL=${SESSION_ALLOW_EPHEMERAL:-false}
}

# Who answers /tiles: a Martin already listening on $TILES_DEV_PORT (3000, Martin's port,
# e.g. `docker compose up martin`), else the development tile server (Procfile tiles-dev),
# which the gateway then relays /tiles to (TILES_DEV_UPSTREAM), so the map has its tiles
# on the gateway's origin.
choose_tile_server() {
    if tcp_open "$TILES_DEV_PORT"; then
        TILES_ANSWER="Martin (already listening on port $TILES_DEV_PORT; the gateway serves no /tiles)"
        if [ "${#PROCESSES[@]}" -eq 0 ]; then
            mapfile -t PROCESSES < <(sed -n 's/^\([a-z-]*\):.*/\1/p' "$ROOT/Procfile" | grep -vx tiles-dev)
        fi
    else
        TILES_ANSWER="the development tile server (wildside-tiles-dev), relayed by the gateway"
        export TILES_DEV_UPSTREAM=${TILES_DEV_UPSTREAM:-"http://127.0.0.1:$TILES_DEV_PORT"}
    fi
}

summary() {
    cat <<EOF

Wildside ($WILDSIDE_ENV)
  gateway       http://127.0.0.1:$GATEWAY_PORT   (the web app at /, API /api/v1, WebSocket /ws, /openapi.json)
                metrics and health on http://127.0.0.1:$GATEWAY_METRICS_PORT
  tiles-auth    http://127.0.0.1:$TILES_AUTH_PORT/auth
  tiles         http://127.0.0.1:$GATEWAY_PORT/tiles/{get_base_tile,get_poi_tile}/{z}/{x}/{y}
                answered by $TILES_ANSWER
  router        metrics and health on http://127.0.0.1:$ROUTER_METRICS_PORT
  enricher      metrics and health on http://127.0.0.1:$ENRICHER_METRICS_PORT
  DATABASE_URL  $DATABASE_URL
  REDIS_URL     $REDIS_URL
  NATS_URL      $NATS_URL
  session keys  $SESSION_KEYS_FILE
  server logs   $DATA/{postgres,redis,nats}.log (for the servers make up started)
Ctrl-C stops the services; \`make down\` stops the background servers.
EOF
}

ensure_tools
if bash scripts/web-build.sh; then
    export WEB_DIST_DIR=${WEB_DIST_DIR:-$ROOT/web/dist}
else
    warn "the web client could not be built (node and npm needed): no app at /, the API runs"
fi
start_servers
prepare_schema
if [ "$INFRA_ONLY" -eq 1 ]; then
    say "infrastructure ready: DATABASE_URL=$DATABASE_URL REDIS_URL=$REDIS_URL NATS_URL=$NATS_URL"
    exit 0
fi
load_demo_data
create_accounts
ensure_session_keys
choose_tile_server
summary
exec "$VENV_BIN/honcho" start -f "$ROOT/Procfile" -d "$ROOT" "${PROCESSES[@]}"
