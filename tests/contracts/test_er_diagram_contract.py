"""docs/er-diagram.md is generated from the migrated database and is up to date."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

pytestmark = pytest.mark.contract

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "er_diagram.py"
COMMITTED = ROOT / "docs" / "er-diagram.md"


@pytest.fixture(scope="module")
def er_diagram() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wildside_scripts_er_diagram", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look their module up in sys.modules while the class is built.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_diagram_is_up_to_date(
    er_diagram: ModuleType, database_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "er-diagram.md"
    assert er_diagram.main([database_url, "--output", str(output)]) == 0
    assert output.read_text() == COMMITTED.read_text(), (
        "docs/er-diagram.md is stale: run `make er-diagram` and commit it"
    )


def test_diagram_has_every_table_and_foreign_key(er_diagram: ModuleType, database_url: str) -> None:
    document = er_diagram.render(er_diagram.read_catalog(database_url))
    with psycopg.connect(database_url) as conn:
        tables = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
            )
        }
        foreign = conn.execute(
            "SELECT c.relname, r.relname FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class r ON r.oid = k.confrelid "
            "WHERE k.contype = 'f'"
        ).fetchall()
    entities = set(re.findall(r"^    (\w+) \{$", document, re.M))
    assert entities == {t for t in tables if not er_diagram.IGNORED_TABLES.match(t)}
    relations = re.findall(r"^    (\w+) [|o]{2}--[|o{]{2} (\w+) : ", document, re.M)
    assert sorted(relations) == sorted((parent, child) for child, parent in foreign)
    assert "        geography(Point_4326) location" in document
    assert "        bigint id PK" in document


def test_mermaid_type_is_one_word(er_diagram: ModuleType) -> None:
    assert er_diagram.mermaid_type("timestamp with time zone") == "timestamptz"
    assert er_diagram.mermaid_type("geography(Point,4326)") == "geography(Point_4326)"
    assert er_diagram.mermaid_type("character varying(64)[]") == "varchar(64)[]"
