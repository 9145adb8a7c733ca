# shellcheck shell=bash
# Shared helpers for scripts/*.sh. Source it; it defines functions and a few variables only.
#
#   ROOT      the repository root
#   DATA      where local servers keep their data (.data, or $WILDSIDE_DATA_DIR)
#   VENV_BIN  the virtual environment's bin directory

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=${WILDSIDE_DATA_DIR:-$ROOT/.data}
VENV_BIN=$ROOT/.venv/bin

say() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# pg_bin_dir: the newest PostgreSQL server bin directory (Debian layout), or $WILDSIDE_PG_BIN.
pg_bin_dir() {
    if [ -n "${WILDSIDE_PG_BIN:-}" ]; then
        printf '%s\n' "$WILDSIDE_PG_BIN"
        return 0
    fi
    local root=${WILDSIDE_PG_ROOT:-/usr/lib/postgresql} dir
    dir=$(find "$root" -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)
    [ -n "$dir" ] || return 1
    dirname "$dir"
}

# pg_major_of BINDIR: the major version of the server in BINDIR (/usr/lib/postgresql/15/bin -> 15).
pg_major_of() {
    "$1/postgres" --version | grep -oE '[0-9]+' | head -n 1
}

# as_owner CMD...: run CMD as the `postgres` OS user when we are root (initdb and postgres refuse
# to run as root), as ourselves otherwise.
as_owner() {
    if ! is_root; then
        "$@"
    elif command -v runuser >/dev/null; then
        runuser -u postgres -- "$@"
    else
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    fi
}

# tcp_open PORT [HOST]: true when something accepts connections there.
tcp_open() {
    (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null
}

# wait_for_port PORT NAME [SECONDS] [HOST]
wait_for_port() {
    local port=$1 name=$2 limit=${3:-30} host=${4:-127.0.0.1} i
    for ((i = 0; i < limit * 10; i++)); do
        tcp_open "$port" "$host" && return 0
        sleep 0.1
    done
    die "$name did not answer on $host:$port within ${limit}s"
}

# pid_alive PIDFILE NAME: true when PIDFILE names a live process whose command contains NAME
# (guards against a stale pidfile whose pid the kernel has since given to something else).
pid_alive() {
    local pid
    [ -s "$1" ] || return 1
    pid=$(tr -dc '0-9' <"$1")
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$2"
}

# started_add NAME / started_remove NAME / started_list: the servers make up started, for make down.
started_add() {
    mkdir -p "$DATA"
    grep -qx "$1" "$DATA/started" 2>/dev/null || printf '%s\n' "$1" >>"$DATA/started"
}

started_remove() {
    [ -f "$DATA/started" ] || return 0
    grep -vx "$1" "$DATA/started" >"$DATA/started.tmp" || true
    mv "$DATA/started.tmp" "$DATA/started"
    [ -s "$DATA/started" ] || rm -f "$DATA/started"
}

started_list() {
    [ -f "$DATA/started" ] && cat "$DATA/started"
    return 0
}

# url_endpoint URL DEFAULT_PORT: sets URL_HOST and URL_PORT from a server URL (userinfo, path
# and query dropped); URL_HOST is empty for a unix-socket URL.
# shellcheck disable=SC2034  # URL_HOST and URL_PORT are the results, read by the caller
url_endpoint() {
    local rest=${1#*://}
    rest=${rest##*@}
    rest=${rest%%/*}
    rest=${rest%%\?*}
    URL_HOST=${rest%:*}
    URL_PORT=${rest##*:}
    [ "$URL_HOST" = "$rest" ] && URL_PORT=$2
    return 0
}

# have_module MODULE: true when the virtual environment can import MODULE.
have_module() {
    "$VENV_BIN/python" -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('$1') is None)" \
        2>/dev/null
}
