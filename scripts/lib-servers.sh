# shellcheck shell=bash
# Start and stop the local PostgreSQL, Redis and NATS servers that `make up` runs under $DATA.
# Source after lib-common.sh. Each start_* is a no-op when its server already runs, and records
# the server in $DATA/started; each stop_* is a no-op when it does not run.

WILDSIDE_PG_PORT=${WILDSIDE_PG_PORT:-55432}
WILDSIDE_REDIS_PORT=${WILDSIDE_REDIS_PORT:-56379}
WILDSIDE_NATS_PORT=${WILDSIDE_NATS_PORT:-54222}
PGDATA_DIR=$DATA/postgres
PG_SOCKET_DIR=$DATA/run
PG_DATABASE=${WILDSIDE_PG_DATABASE:-wildside}

# pg_cluster_bin: the server binaries for our cluster: those of the major version it was created
# with when that is installed (a newer major cannot open its files), else the newest.
pg_cluster_bin() {
    local root=${WILDSIDE_PG_ROOT:-/usr/lib/postgresql} version
    if [ -z "${WILDSIDE_PG_BIN:-}" ] && [ -f "$PGDATA_DIR/PG_VERSION" ]; then
        version=$(cat "$PGDATA_DIR/PG_VERSION")
        if [ -x "$root/$version/bin/pg_ctl" ]; then
            printf '%s\n' "$root/$version/bin"
            return 0
        fi
    fi
    pg_bin_dir
}

# pg_ctl_local ARGS...: pg_ctl on our cluster, as the cluster's owner.
pg_ctl_local() {
    as_owner "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" "$@"
}

pg_running() {
    [ -f "$PGDATA_DIR/postmaster.pid" ] && pg_ctl_local status >/dev/null 2>&1
}

# The cluster's files must belong to the user postgres runs as, and that user must be able to
# reach them: a checkout under /root is not reachable by `postgres`.
pg_prepare_dirs() {
    mkdir -p "$PGDATA_DIR" "$PG_SOCKET_DIR"
    touch "$DATA/postgres.log"
    if is_root; then
        id postgres >/dev/null 2>&1 || die "no 'postgres' OS user: is the postgresql package installed?"
        chown postgres: "$PGDATA_DIR" "$PG_SOCKET_DIR" "$DATA/postgres.log"
        chmod 700 "$PGDATA_DIR"
        as_owner test -w "$PGDATA_DIR" || die "the postgres user cannot write $PGDATA_DIR" \
            "(a parent directory is not accessible to it): set WILDSIDE_DATA_DIR to a directory" \
            "it can reach, e.g. /var/tmp/wildside-data"
    fi
}

pg_init() {
    [ -f "$PGDATA_DIR/PG_VERSION" ] && return 0
    say "creating a PostgreSQL cluster in $PGDATA_DIR"
    # Trust on loopback and the private socket only: a development cluster, not for production.
    as_owner "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres -E UTF8 --locale=C \
        --auth-local=trust --auth-host=trust >"$DATA/initdb.log" 2>&1 ||
        die "initdb failed, see $DATA/initdb.log"
}

start_postgres() {
    PG_BIN=$(pg_cluster_bin) || die "no PostgreSQL server binaries: run bash scripts/system-deps.sh --for-up"
    pg_prepare_dirs
    if pg_running; then
        say "PostgreSQL already running on 127.0.0.1:$WILDSIDE_PG_PORT"
    else
        tcp_open "$WILDSIDE_PG_PORT" && die "port $WILDSIDE_PG_PORT is taken: set WILDSIDE_PG_PORT"
        pg_init
        say "starting PostgreSQL on 127.0.0.1:$WILDSIDE_PG_PORT (log: $DATA/postgres.log)"
        pg_ctl_local -l "$DATA/postgres.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $WILDSIDE_PG_PORT -c unix_socket_directories=$PG_SOCKET_DIR" \
            start >/dev/null || die "PostgreSQL did not start, see $DATA/postgres.log"
    fi
    started_add postgres
    pg_ensure_database
}

pg_ensure_database() {
    local psql=("$PG_BIN/psql" -XAtq -h 127.0.0.1 -p "$WILDSIDE_PG_PORT" -U postgres)
    if [ -z "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" ]; then
        say "creating database $PG_DATABASE"
        "${psql[@]}" -d postgres -c "CREATE DATABASE \"$PG_DATABASE\""
    fi
}

stop_postgres() {
    PG_BIN=$(pg_cluster_bin) || return 0
    pg_running || return 0
    say "stopping PostgreSQL"
    pg_ctl_local stop -m fast -w -t 60 >/dev/null
}

redis_running() {
    pid_alive "$DATA/redis.pid" redis-server
}

start_redis() {
    if redis_running; then
        say "Redis already running on 127.0.0.1:$WILDSIDE_REDIS_PORT"
    else
        tcp_open "$WILDSIDE_REDIS_PORT" && die "port $WILDSIDE_REDIS_PORT is taken: set WILDSIDE_REDIS_PORT"
        command -v redis-server >/dev/null || die "no redis-server: run bash scripts/system-deps.sh --for-up"
        mkdir -p "$DATA/redis"
        say "starting Redis on 127.0.0.1:$WILDSIDE_REDIS_PORT (log: $DATA/redis.log)"
        # Redis daemonizes into its own session, so Ctrl-C on make up leaves it running.
        redis-server --daemonize yes --bind 127.0.0.1 --port "$WILDSIDE_REDIS_PORT" \
            --dir "$DATA/redis" --pidfile "$DATA/redis.pid" --logfile "$DATA/redis.log" \
            --save "" --appendonly yes
        wait_for_port "$WILDSIDE_REDIS_PORT" Redis
    fi
    started_add redis
}

# stop_pidfile PIDFILE NAME LABEL: SIGTERM, then wait up to 30 s for the process to go.
stop_pidfile() {
    local pid i
    pid_alive "$1" "$2" || return 0
    pid=$(tr -dc '0-9' <"$1")
    say "stopping $3"
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 300; i++)); do
        [ -d "/proc/$pid" ] || break
        sleep 0.1
    done
    [ -d "/proc/$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -f "$1"
}

stop_redis() {
    stop_pidfile "$DATA/redis.pid" redis-server Redis
}

nats_running() {
    pid_alive "$DATA/nats.pid" nats-server
}

start_nats() {
    if nats_running; then
        say "NATS already running on 127.0.0.1:$WILDSIDE_NATS_PORT"
    else
        tcp_open "$WILDSIDE_NATS_PORT" && die "port $WILDSIDE_NATS_PORT is taken: set WILDSIDE_NATS_PORT"
        [ -x "$VENV_BIN/nats-server" ] || die "no $VENV_BIN/nats-server: run bash scripts/venv.sh"
        mkdir -p "$DATA/nats"
        say "starting NATS with JetStream on 127.0.0.1:$WILDSIDE_NATS_PORT (log: $DATA/nats.log)"
        # setsid: its own session, so Ctrl-C on make up does not reach it.
        setsid "$VENV_BIN/nats-server" -js -a 127.0.0.1 -p "$WILDSIDE_NATS_PORT" -sd "$DATA/nats" \
            -P "$DATA/nats.pid" -l "$DATA/nats.log" </dev/null >/dev/null 2>&1 &
        wait_for_port "$WILDSIDE_NATS_PORT" NATS
    fi
    started_add nats
}

stop_nats() {
    stop_pidfile "$DATA/nats.pid" nats-server NATS
}
