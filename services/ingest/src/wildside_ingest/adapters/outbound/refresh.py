"""The nightly refresh's I/O: the extract's conditional download, the POIs the latest
run changed, and the enrichment jobs for their areas."""

from __future__ import annotations

import hashlib
import json
import os
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from nats.js import JetStreamContext

from wildside_common.bus.publisher import publish
from wildside_common.bus.topology import ENRICHMENT_JOB_SUBJECT
from wildside_common.errors import Unavailable
from wildside_common.messages import BoundingBox, EnrichmentJob, utc_now
from wildside_ingest.domain.changed_areas import ChangedArea

CHUNK = 1 << 20
NAMESPACE = uuid.UUID("5b0f3c1e-8d1a-4f4e-9a57-6f0c2b7e1d01")  # job ids of refresh runs


@dataclass(frozen=True, slots=True)
class Download:
    changed: bool
    sha256: str | None


def state_path(dest: Path) -> Path:
    """The validators of the last extract ingested successfully."""
    return dest.with_name(dest.name + ".state.json")


def pending_path(dest: Path) -> Path:
    """The validators of the file just downloaded, until its ingest succeeds."""
    return dest.with_name(dest.name + ".pending.json")


def fetch_if_changed(url: str, dest: Path, timeout: float = 60.0) -> Download:
    """Download `url` to `dest` unless it is the extract last ingested.

    Sends the stored ETag / Last-Modified; a 304 means unchanged. On a 200 the body is
    saved (to a temporary file first) and compared by SHA-256 with the stored checksum,
    so a server without validators costs a download but not an ingest. The new
    validators go to the *pending* file: `commit(dest)` makes them the state once the
    ingest has succeeded, so a failed ingest is retried the next night.
    """
    state = _read(state_path(dest))
    request = urllib.request.Request(url, headers={"User-Agent": "wildside-ingest-refresh"})
    if state.get("url") == url and dest.exists():
        if state.get("etag"):
            request.add_header("If-None-Match", state["etag"])
        if state.get("last_modified"):
            request.add_header("If-Modified-Since", state["last_modified"])
    partial = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            with partial.open("wb") as out:
                while block := response.read(CHUNK):
                    digest.update(block)
                    out.write(block)
            headers = response.headers
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Download(changed=False, sha256=state.get("sha256"))
        raise
    sha256 = digest.hexdigest()
    if state.get("url") == url and state.get("sha256") == sha256 and dest.exists():
        partial.unlink()
        return Download(changed=False, sha256=sha256)
    os.replace(partial, dest)
    pending = {
        "url": url,
        "etag": headers.get("ETag"),
        "last_modified": headers.get("Last-Modified"),
        "sha256": sha256,
    }
    pending_path(dest).write_text(json.dumps(pending, indent=2) + "\n")
    return Download(changed=True, sha256=sha256)


def commit(dest: Path) -> bool:
    """Make the pending validators the state (after a successful ingest)."""
    pending = pending_path(dest)
    if not pending.exists():
        return False
    os.replace(pending, state_path(dest))
    return True


def _read(path: Path) -> dict[str, str]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


CHANGED_POIS = """
WITH run AS (
    SELECT id, started_at, geofence FROM ingestion_runs
    WHERE geofence_name = $1 AND status = 'succeeded'
    ORDER BY started_at DESC LIMIT 1
)
SELECT run.id::text AS run_id, ST_Y(p.location::geometry) AS lat,
       ST_X(p.location::geometry) AS lng, p.themes
FROM run JOIN pois p
  ON p.source = 'osm_ingest' AND p.updated_at >= run.started_at
 AND ST_Covers(run.geofence, p.location::geometry)
"""


async def changed_pois(
    database_url: str, geofence: str
) -> tuple[str | None, list[tuple[float, float, list[str]]]]:
    """The latest succeeded run of `geofence` and the POIs it inserted or updated."""
    try:
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(CHANGED_POIS, geofence)
        finally:
            await conn.close()
    except (OSError, asyncpg.PostgresError) as exc:
        raise Unavailable(f"database: {type(exc).__name__}") from exc
    run_id = rows[0]["run_id"] if rows else None
    return run_id, [(row["lat"], row["lng"], list(row["themes"])) for row in rows]


def job_for(run_id: str, area: ChangedArea) -> EnrichmentJob:
    """The same job (id, hence de-duplication id) for the same run and cell."""
    job_id = str(uuid.uuid5(NAMESPACE, f"{run_id}|{area.key}"))
    bbox = BoundingBox(area.min_lat, area.min_lng, area.max_lat, area.max_lng)
    reason = f"refresh run {run_id}: {area.changed} places changed"
    return EnrichmentJob(job_id, bbox, area.themes, utc_now(), reason=reason)


async def publish_jobs(js: JetStreamContext, jobs: list[EnrichmentJob]) -> int:
    for job in jobs:
        await publish(js, ENRICHMENT_JOB_SUBJECT, job, msg_id=job.job_id)
    return len(jobs)
