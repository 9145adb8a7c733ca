"""docs/data-ownership.md says which service writes and which reads each table: the
services' SQL agrees with it, and every table the migrations create is on the page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "data-ownership.md"
MIGRATIONS = ROOT / "libs" / "common" / "src" / "wildside_common" / "db" / "migrations"
SERVICES = {
    "gateway": "gateway",
    "router": "router",
    "enricher": "enricher",
    "ingest": "ingest",
    "tiles-auth": "tiles-auth",
}
# The shared POI writer: its statements count for each service that uses it.
SHARED_WRITERS = {
    ROOT / "libs/common/src/wildside_common/places/postgres.py": re.compile(
        r"wildside_common\.places(?:\.postgres| import postgres)"
    )
}
WRITES = re.compile(
    r'INSERT INTO (\w+)|UPDATE (\w+)|DELETE FROM (\w+)|copy_records_to_table\(\s*"(\w+)"'
    r'|_copy_binary\(\s*"(\w+)"'
)
READS = re.compile(r"(?:FROM|JOIN) (\w+)")  # SQL keywords are written in capitals
NAMED = re.compile(r"(?<![\w-])(gateway|router|enricher|ingest|tiles-auth)(?![\w-])")
Ownership = dict[str, tuple[frozenset[str], frozenset[str]]]


def schema_tables() -> set[str]:
    tables: set[str] = set()
    for path in MIGRATIONS.glob("*.sql"):
        tables.update(re.findall(r"CREATE TABLE (\w+)", path.read_text()))
    return tables


def documented() -> Ownership:
    """table -> (services that write it, services that only read it), from the page."""
    found: Ownership = {}
    for line in DOC.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`(\w+)`", cells[0]) if len(cells) == 4 else None
        if match:
            writers = set(NAMED.findall(cells[1])) | set(NAMED.findall(cells[2]))
            found[match.group(1)] = (frozenset(writers), frozenset(NAMED.findall(cells[3])))
    return found


def used(tables: set[str]) -> Ownership:
    """table -> (services whose SQL writes it, services whose SQL only reads it)."""
    writes: dict[str, set[str]] = {table: set() for table in tables}
    reads: dict[str, set[str]] = {table: set() for table in tables}
    for service, folder in SERVICES.items():
        sources = [path.read_text() for path in (ROOT / "services" / folder / "src").rglob("*.py")]
        sources += [
            shared.read_text()
            for shared, imported in SHARED_WRITERS.items()
            if any(imported.search(text) for text in sources)
        ]
        for text in sources:
            for groups in WRITES.findall(text):
                for table in groups:
                    if table in tables:
                        writes[table].add(service)
            for table in READS.findall(text):
                if table in tables:
                    reads[table].add(service)
    return {
        table: (frozenset(writes[table]), frozenset(reads[table] - writes[table]))
        for table in tables
    }


def test_every_table_is_on_the_page() -> None:
    tables = schema_tables()
    assert len(tables) >= 12
    assert set(documented()) == tables


def test_the_services_sql_writes_and_reads_what_the_page_says() -> None:
    tables = schema_tables()
    actual, written = used(tables), documented()
    assert actual["pois"][0] == {"ingest", "enricher"}  # the shared upsert is seen
    assert {t: actual[t] for t in tables} == {t: written[t] for t in tables}
