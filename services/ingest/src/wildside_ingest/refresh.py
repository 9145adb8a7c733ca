"""`ingest-osm-refresh`: the nightly refresh's steps around `ingest-osm` (its CronJob,
deploy/base/cronjob-refresh.yaml, runs them in this order; docs/ingest.md#nightly-refresh):

    ingest-osm-refresh fetch URL DEST    download only when changed; exit 0 when DEST is
                                         new, 100 when unchanged (nothing to do)
    ingest-osm DEST ...                  the rerun path: only changed rows are written
    ingest-osm-refresh commit DEST       remember DEST's ETag/checksum as ingested
    ingest-osm-refresh enrich --geofence-name NAME
                                         one EnrichmentJob per grid cell holding POIs the
                                         latest succeeded run inserted or updated

Exit status: 0 done, 100 unchanged (fetch), 2 bad input, 3 a server unavailable, 1 other.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from wildside_common.bus.connection import connect
from wildside_common.config import ConfigError
from wildside_common.errors import DomainError
from wildside_ingest.adapters.outbound import refresh
from wildside_ingest.domain.changed_areas import (
    DEFAULT_GRID_DEGREES,
    DEFAULT_MAX_AREAS,
    changed_areas,
)

UNCHANGED = 100


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="ingest-osm-refresh", description=__doc__.split("\n")[0])
    sub = top.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="download the extract only when it changed")
    fetch.add_argument("url")
    fetch.add_argument("dest", type=Path)
    done = sub.add_parser("commit", help="record the fetched extract as ingested")
    done.add_argument("dest", type=Path)
    enrich = sub.add_parser("enrich", help="enrichment jobs for the areas whose POIs changed")
    enrich.add_argument("--geofence-name", required=True)
    enrich.add_argument("--grid-degrees", type=float, default=DEFAULT_GRID_DEGREES)
    enrich.add_argument("--max-jobs", type=int, default=DEFAULT_MAX_AREAS)
    enrich.add_argument("--database-url", help="default $DATABASE_URL")
    enrich.add_argument("--nats-url", help="default $NATS_URL")
    enrich.add_argument("--dry-run", action="store_true", help="print the areas, publish nothing")
    return top


async def enrich(args: argparse.Namespace, database_url: str, nats_url: str) -> str:
    run_id, pois = await refresh.changed_pois(database_url, args.geofence_name)
    if run_id is None:
        return f"enrich: no places changed in the latest run of {args.geofence_name}"
    areas = changed_areas(pois, args.grid_degrees, args.max_jobs)
    jobs = [refresh.job_for(run_id, area) for area in areas]
    if args.dry_run:
        return "\n".join(f"{job.bbox} {','.join(job.themes) or '*'}" for job in jobs)
    nc = await connect(nats_url, "ingest-osm-refresh", attempts=5)
    try:
        published = await refresh.publish_jobs(nc.jetstream(), jobs)
    finally:
        await nc.drain()
    return f"enrich: {len(pois)} places changed in run {run_id}; {published} enrichment jobs"


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    environ = os.environ if env is None else env
    args = parser().parse_args(argv)
    try:
        if args.command == "fetch":
            download = refresh.fetch_if_changed(args.url, args.dest)
            if not download.changed:
                print(f"fetch: {args.url} unchanged (sha256 {download.sha256}): nothing to do")
                return UNCHANGED
            print(f"fetch: {args.url} -> {args.dest} (sha256 {download.sha256})")
            return 0
        if args.command == "commit":
            committed = refresh.commit(args.dest)
            print(f"commit: {args.dest} {'recorded' if committed else 'had nothing pending'}")
            return 0
        if args.max_jobs < 1 or not args.grid_degrees > 0:
            raise ValueError("--max-jobs must be at least 1 and --grid-degrees positive")
        database_url = args.database_url or environ.get("DATABASE_URL")
        nats_url = args.nats_url or environ.get("NATS_URL")
        if not database_url or (not nats_url and not args.dry_run):
            raise ValueError("enrich: set DATABASE_URL and NATS_URL (or pass the flags)")
        print(asyncio.run(enrich(args, database_url, nats_url or "")))
        return 0
    except (ValueError, ConfigError) as exc:
        print(f"ingest-osm-refresh: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, DomainError) as exc:
        print(f"ingest-osm-refresh: error: {exc}", file=sys.stderr)
        return 3


def console() -> None:
    sys.exit(main())
