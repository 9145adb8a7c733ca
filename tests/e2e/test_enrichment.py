"""Enrichment end to end, the enricher's half: an `EnrichmentJob` for a sparse area on the
bus -> the `wildside-enricher` process queries (a fake) Overpass -> the area's POIs are in
`pois` with source `overpass`, with a provenance row, and a repeat of the job changes nothing.

The router's half: a route request in the sparse area publishes an `EnrichmentJob` (with
its request id), the enricher fills the area, and the next request walks to the new POIs.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import httpx
import nats
import psycopg
import pytest
from nats.js.errors import NotFoundError

from tests.e2e import stack
from wildside_common.bus.publisher import publish
from wildside_common.bus.topology import ENRICHMENT_JOB_SUBJECT, ENRICHMENT_JOBS_STREAM
from wildside_common.codec import decode
from wildside_common.messages import BoundingBox, EnrichmentJob, utc_now
from wildside_common.testing.servers import unique_prefix

pytestmark = pytest.mark.e2e

BASE_ID = random.randint(10**14, 10**15)  # the database is shared by the session
# A sparse corner of Helsinki (Lauttasaari's south shore): real-looking Overpass answer.
BOX = BoundingBox(60.1500, 24.8700, 60.1560, 24.8800)
ELEMENTS = [
    {"type": "node", "id": BASE_ID + 1, "lat": 60.1521, "lon": 24.8741,
     "tags": {"amenity": "cafe", "name": "Cafe Saaristo"}},
    {"type": "node", "id": BASE_ID + 2, "lat": 60.1533, "lon": 24.8762,
     "tags": {"historic": "memorial", "name": "Muistomerkki", "wikidata": "Q123"}},
    {"type": "way", "id": BASE_ID + 3, "center": {"lat": 60.1540, "lon": 24.8770},
     "tags": {"leisure": "park", "name": "Rantapuisto"}},
]  # fmt: skip
ANSWER = json.dumps({
    "version": 0.6, "generator": "Overpass API 0.7.62.1 084b4234",
    "osm3s": {"timestamp_osm_base": "2026-11-22T02:00:00Z",
              "copyright": "The data included in this document is from www.openstreetmap.org."
                           " The data is made available under ODbL."},
    "elements": ELEMENTS,
}).encode()  # fmt: skip


class FakeOverpass(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.requests.append(self.rfile.read(length).decode())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        return


@pytest.fixture(scope="module")
def overpass_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOverpass)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/interpreter"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def enricher(stack_env: dict[str, str], overpass_url: str) -> Iterator[stack.Service]:
    env = {**stack_env, "OVERPASS_URLS": overpass_url, "ENRICHER_REDIS_PREFIX": unique_prefix(),
           "ENRICHER_CONTACT": "e2e@example.org", "ENRICHER_ACK_WAIT_SECONDS": "5"}  # fmt: skip
    purge_enrichment_backlog(stack_env["NATS_URL"])
    service = stack.enricher(env)
    service.start()
    service.wait_ready()
    yield service
    service.stop()


def purge_enrichment_backlog(nats_url: str) -> None:
    """Earlier modules' routers (no enricher running) may have left jobs for sparse areas
    on the shared bus; this module's fake Overpass answers every area alike, so start
    from an empty enrichment stream."""

    async def purge() -> None:
        client = await nats.connect(nats_url)
        try:
            js = client.jetstream()
            with contextlib.suppress(NotFoundError):
                await js.purge_stream(ENRICHMENT_JOBS_STREAM)
        finally:
            await client.close()

    asyncio.run(purge())


def publish_job(nats_url: str, job: EnrichmentJob, msg_id: str) -> None:
    async def send() -> None:
        client = await nats.connect(nats_url)
        try:
            await publish(client.jetstream(), ENRICHMENT_JOB_SUBJECT, job, msg_id=msg_id)
        finally:
            await client.close()

    asyncio.run(send())


def poll(database_url: str, query: str, args: tuple[Any, ...], until: int, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        with psycopg.connect(database_url) as conn:
            rows = conn.execute(query, args).fetchall()
        if len(rows) >= until or time.monotonic() > deadline:
            return rows
        time.sleep(0.1)


POIS = "SELECT id, source, themes, name FROM pois WHERE id = ANY(%s) ORDER BY id"
PROVENANCE = ("SELECT source_url, pois_added, pois_updated, ST_AsText(bbox) "
              "FROM enrichment_provenance WHERE job_id = %s")  # fmt: skip


def test_an_enrichment_job_adds_the_areas_pois_once(
    enricher: stack.Service, database_url: str, nats_url: str, overpass_url: str
) -> None:
    ids = [element["id"] for element in ELEMENTS]
    job = EnrichmentJob(str(uuid.uuid4()), BOX, ("food", "history", "nature"), utc_now(),
                        request_id=str(uuid.uuid4()), reason="sparse area")  # fmt: skip
    publish_job(nats_url, job, job.job_id)
    rows = poll(database_url, POIS, (ids,), until=3)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (ids[0], "overpass", ["food"], "Cafe Saaristo"),
        (ids[1], "overpass", ["history"], "Muistomerkki"),
        (ids[2], "overpass", ["nature"], "Rantapuisto"),
    ]
    (provenance,) = poll(database_url, PROVENANCE, (job.job_id,), until=1)
    assert provenance[:3] == (overpass_url, 3, 0)
    assert provenance[3].startswith("POLYGON((24.87 60.15,")
    assert len(FakeOverpass.requests) == 1 and "historic" in FakeOverpass.requests[0]

    # The same job again (a redelivery under another message id): no query, no write.
    publish_job(nats_url, job, f"again-{job.job_id}")
    base = enricher.health_url.removesuffix("/health/ready")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        text = httpx.get(f"{base}/metrics", timeout=5).text
        if 'wildside_enrichment_jobs_total{outcome="redelivered"} 1.0' in text:
            break
        time.sleep(0.1)
    assert 'wildside_enrichment_jobs_total{outcome="enriched"} 1.0' in text
    assert 'wildside_enrichment_jobs_total{outcome="redelivered"} 1.0' in text
    assert len(FakeOverpass.requests) == 1
    assert poll(database_url, PROVENANCE, (job.job_id,), until=1)[0][1] == 3


def route_for(gateway: stack.Service, body: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    base = gateway.health_url.removesuffix("/health/ready")
    headers = stack.auth(gateway)
    response = httpx.post(f"{base}/api/v1/routes", json=body, timeout=10, headers=headers)
    assert response.status_code == 202, response.text
    request_id = response.json()["request_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done = httpx.get(f"{base}/api/v1/routes/{request_id}", timeout=5, headers=headers)
        if done.status_code == 200:
            assert done.json()["status"] == "succeeded", done.text
            return request_id, done.json()["route"]
        time.sleep(0.1)
    raise AssertionError("the route did not finish in 30 s")


def enrichment_jobs(nats_url: str) -> list[EnrichmentJob]:
    """Every EnrichmentJob on the stream so far."""

    async def read() -> list[EnrichmentJob]:
        client = await nats.connect(nats_url)
        try:
            sub = await client.jetstream().subscribe(ENRICHMENT_JOB_SUBJECT, ordered_consumer=True)
            found = []
            while True:
                try:
                    message = await sub.next_msg(timeout=0.5)
                except nats.errors.TimeoutError:
                    return found
                found.append(decode(EnrichmentJob, message.data))
        finally:
            await client.close()

    return asyncio.run(read())


def test_a_route_in_a_sparse_area_asks_for_enrichment_and_the_next_walk_uses_it(
    enricher: stack.Service, gateway: stack.Service, router: stack.Service,
    database_url: str, nats_url: str,
) -> None:  # fmt: skip
    start = {"lat": 60.1530, "lng": 24.8750}
    body = {"start": start, "duration_minutes": 40, "preferences": ["history", "nature"]}
    request_id, first = route_for(gateway, body)
    assert first["sparse_area"] is True and first["straight_line"] is True  # no streets here
    deadline = time.monotonic() + 10
    while not (mine := [j for j in enrichment_jobs(nats_url) if j.request_id == request_id]):
        assert time.monotonic() < deadline, "no EnrichmentJob for the request"
    (job,) = mine
    assert job.themes == ("history", "nature")
    assert job.bbox.min_lat < start["lat"] < job.bbox.max_lat
    assert job.bbox.min_lng < start["lng"] < job.bbox.max_lng
    ids = [element["id"] for element in ELEMENTS]
    assert len(poll(database_url, POIS, (ids,), until=3)) == 3
    # The next walk there (another duration: not the cached route) visits the new places.
    _, second = route_for(gateway, {**body, "duration_minutes": 45})
    names = {point["name"] for point in second["points"][1:-1]}
    assert names & {"Muistomerkki", "Rantapuisto"}, second["points"]
