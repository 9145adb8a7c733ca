#!/usr/bin/env bash
# Stops the servers `make up` started in the background (listed in .data/started).
# Idempotent and quiet when nothing runs; data under .data/ is kept (rm -rf .data to reset).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib-common.sh"
# shellcheck source-path=SCRIPTDIR
source "$(dirname "$0")/lib-servers.sh"

for server in $(started_list); do
    case $server in
    postgres) stop_postgres ;;
    redis) stop_redis ;;
    nats) stop_nats ;;
    *) warn "unknown entry '$server' in $DATA/started" ;;
    esac
    started_remove "$server"
done
