"""The EnrichArea use case over in-memory fakes of its ports."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from enricher_fakes import answer, node, way

from wildside_common.errors import InvalidInput, Unavailable
from wildside_common.messages import BoundingBox, EnrichmentJob
from wildside_common.themes import load_theme_rules
from wildside_enricher.app import EnrichArea
from wildside_enricher.domain.provenance import LeaderPending, Provenance
from wildside_enricher.domain.query import QueryLimits, plan_query
from wildside_enricher.ports import Fetched

pytestmark = pytest.mark.unit
BOX = BoundingBox(60.160, 24.940, 60.170, 24.960)
URL = "https://overpass.example/api/interpreter"
BODY = answer([node(1, 60.165, 24.95, amenity="cafe"), way(2, 60.166, 24.951, historic="ruins")])


class FakeOverpass:
    def __init__(self, body: bytes = BODY) -> None:
        self.body = body
        self.queries: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.error: Exception | None = None

    async def fetch(self, ql: str) -> Fetched:
        self.queries.append(ql)
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return Fetched(self.body, URL, datetime(2026, 11, 22, 3, 0, tzinfo=UTC))


class MemoryStore:
    def __init__(self) -> None:
        self.rows: dict[str, Provenance] = {}
        self.pois: dict[tuple[str, int], str] = {}

    async def provenance_of(self, job_id: str) -> Provenance | None:
        return self.rows.get(job_id)

    async def record(self, provenance, pois) -> Provenance:
        if provenance.job_id in self.rows:
            return self.rows[provenance.job_id]
        added = sum((p.element_type, p.osm_id) not in self.pois for p in pois)
        changed = sum(self.pois.get((p.element_type, p.osm_id), p.content_hash) != p.content_hash
                      for p in pois)  # fmt: skip
        self.pois.update({(p.element_type, p.osm_id): p.content_hash for p in pois})
        row = Provenance(
            provenance.job_id, provenance.source_url, provenance.fetched_at, provenance.bbox,
            provenance.themes, added, changed, provenance.bytes,
        )  # fmt: skip
        self.rows[row.job_id] = row
        return row


class MemoryCollapser:
    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    async def claim(self, key: str, job_id: str) -> str:
        return self.owners.setdefault(key, job_id)

    async def release(self, key: str, job_id: str) -> None:
        if self.owners.get(key) == job_id:
            del self.owners[key]


def job(themes=("food", "history"), bbox=BOX) -> EnrichmentJob:
    return EnrichmentJob(str(uuid.uuid4()), bbox, themes, datetime.now(UTC))


@pytest.fixture
def world():
    overpass, store, collapser = FakeOverpass(), MemoryStore(), MemoryCollapser()
    use_case = EnrichArea(load_theme_rules(), QueryLimits(), overpass, store, collapser)
    return use_case, overpass, store, collapser


async def test_a_job_queries_once_and_records_pois_and_provenance(world):
    use_case, overpass, store, _ = world
    first = job()
    recorded = await use_case.handle(first)
    assert len(overpass.queries) == 1 and "[bbox:60.1600000,24.9400000" in overpass.queries[0]
    assert recorded == store.rows[first.job_id]
    assert (recorded.pois_added, recorded.pois_updated, recorded.bytes) == (2, 0, len(BODY))
    assert recorded.source_url == URL and recorded.themes == ("food", "history")
    assert set(store.pois) == {("node", 1), ("way", 2)}


async def test_an_empty_area_still_gets_a_provenance_row(world):
    use_case, overpass, store, _ = world
    overpass.body = answer([])
    empty = job()
    await use_case.handle(empty)
    assert store.rows[empty.job_id].pois_added == 0


async def test_a_redelivered_job_neither_queries_nor_writes(world):
    use_case, overpass, store, _ = world
    first = job()
    before = await use_case.handle(first)
    again = await use_case.handle(first, attempt=2)
    assert again == before and len(overpass.queries) == 1 and len(store.rows) == 1


async def test_concurrent_duplicates_in_one_process_share_one_query(world):
    use_case, overpass, store, _ = world
    overpass.gate.clear()
    jobs = [job(themes=("history", "food")) for _ in range(5)]
    tasks = [asyncio.create_task(use_case.handle(j)) for j in jobs]
    await asyncio.sleep(0.05)
    overpass.gate.set()
    results = await asyncio.gather(*tasks)
    assert len(overpass.queries) == 1
    assert {r.job_id for r in results} == {j.job_id for j in jobs}
    assert sorted(r.pois_added for r in results) == [0, 0, 0, 0, 2]
    assert {r.source_url for r in results} == {URL} and len({r.fetched_at for r in results}) == 1
    assert set(store.rows) == {j.job_id for j in jobs}


async def test_a_duplicate_of_another_replicas_job_waits_then_reuses_its_result(world):
    use_case, overpass, store, collapser = world
    owner = job()
    key = plan_query(BOX, owner.themes, load_theme_rules(), QueryLimits()).collapse_key
    collapser.owners[key] = owner.job_id  # another replica holds the area
    duplicate = job()
    with pytest.raises(LeaderPending) as caught:
        await use_case.handle(duplicate, attempt=3)
    assert caught.value.retry_after == 4 and overpass.queries == []
    store.rows[owner.job_id] = Provenance(owner.job_id, URL, owner.requested_at, BOX,
                                          owner.themes, 7, 1, 900)  # fmt: skip
    recorded = await use_case.handle(duplicate, attempt=4)
    assert (recorded.pois_added, recorded.bytes, recorded.source_url) == (0, 0, URL)
    assert overpass.queries == []


async def test_a_failed_owner_releases_the_area_and_followers_fail_with_it(world):
    use_case, overpass, store, collapser = world
    overpass.gate.clear()
    overpass.error = Unavailable("down")
    leader, follower = job(), job()
    tasks = [asyncio.create_task(use_case.handle(j)) for j in (leader, follower)]
    await asyncio.sleep(0.05)
    overpass.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, Unavailable) for r in results)
    assert collapser.owners == {} and store.rows == {}
    overpass.error = None
    assert (await use_case.handle(follower)).pois_added == 2  # now it fetches itself


async def test_a_malformed_answer_writes_nothing(world):
    use_case, overpass, store, collapser = world
    overpass.body = b"<html>oops</html>"
    with pytest.raises(InvalidInput, match="malformed"):
        await use_case.handle(job())
    assert store.rows == {} and store.pois == {} and collapser.owners == {}
