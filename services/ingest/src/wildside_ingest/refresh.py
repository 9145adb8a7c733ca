"""`ingest-osm-refresh`: the nightly refresh (docs/ingest.md#nightly-refresh).

    ingest-osm-refresh run URL DEST --geofence-name NAME --source-url URL
                                         all of the steps below, in order (what the CronJob
                                         deploy/base/cronjob-refresh.yaml runs); exit 0 also
                                         when the extract is unchanged

The steps, each also a command of its own:

    ingest-osm-refresh fetch URL DEST    download only when changed; exit 0 when DEST is
                                         new, 100 when unchanged (nothing to do)
    ingest-osm DEST ...                  the rerun path: only changed rows are written
                                         (the plain ingest command)
    ingest-osm-refresh commit DEST       remember DEST's ETag/checksum as ingested
    ingest-osm-refresh enrich --geofence-name NAME
                                         one EnrichmentJob per grid cell holding POIs the
                                         latest succeeded run inserted or updated

Settings (wildside_ingest.config.RefreshSettings): those of `ingest-osm` and `NATS_URL`.
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
from wildside_common.config import ConfigError, EnvReader
from wildside_common.errors import DomainError
from wildside_ingest.__main__ import run as ingest_osm
from wildside_ingest.adapters.outbound import refresh
from wildside_ingest.config import RefreshSettings
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
    everything = sub.add_parser("run", help="fetch, ingest-osm, commit, enrich")
    everything.add_argument("url")
    everything.add_argument("dest", type=Path)
    everything.add_argument("--source-url", required=True, help="recorded in provenance")
    everything.add_argument("--no-enrich", action="store_true", help="skip the enrichment jobs")
    for command in (enrich, everything):
        command.add_argument("--geofence-name", required=True)
        command.add_argument("--grid-degrees", type=float, default=DEFAULT_GRID_DEGREES)
        command.add_argument("--max-jobs", type=int, default=DEFAULT_MAX_AREAS)
        command.add_argument("--database-url", help="default $DATABASE_URL")
        command.add_argument("--nats-url", help="default $NATS_URL")
    enrich.add_argument("--dry-run", action="store_true", help="print the areas, publish nothing")
    return top


def run_all(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """fetch -> ingest-osm (only changed rows are written) -> commit -> enrich."""
    status = main(["fetch", args.url, str(args.dest)], environ)
    if status == UNCHANGED:
        return 0
    if status != 0:
        return status
    ingest = [str(args.dest), "--geofence-name", args.geofence_name]
    ingest += ["--source-url", args.source_url]
    if args.database_url:
        ingest += ["--database-url", args.database_url]
    status = ingest_osm(ingest)
    if status != 0:
        return status  # not committed: the next run fetches and ingests it again
    main(["commit", str(args.dest)], environ)
    if args.no_enrich:
        return 0
    enrich = ["enrich", "--geofence-name", args.geofence_name]
    enrich += ["--grid-degrees", str(args.grid_degrees), "--max-jobs", str(args.max_jobs)]
    for flag, value in (("--database-url", args.database_url), ("--nats-url", args.nats_url)):
        if value:
            enrich += [flag, value]
    return main(enrich, environ)


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
    if args.command == "run":
        return run_all(args, environ)
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
        settings = RefreshSettings.from_env(EnvReader(environ))
        database_url = args.database_url or settings.ingest.database_url
        if not database_url:
            raise ValueError("enrich: set DATABASE_URL (or pass --database-url)")
        print(asyncio.run(enrich(args, database_url, args.nats_url or settings.nats_url)))
        return 0
    except (ValueError, ConfigError) as exc:
        print(f"ingest-osm-refresh: error: {exc}", file=sys.stderr)
        return 2
    except (OSError, DomainError) as exc:
        print(f"ingest-osm-refresh: error: {exc}", file=sys.stderr)
        return 3


def console() -> None:
    sys.exit(main())
