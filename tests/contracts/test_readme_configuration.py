"""Every environment variable a service reads is in the README's configuration table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
READ = re.compile(r'env\.(?:text|integer|real|flag|choice|optional)\(\s*"([A-Z][A-Z0-9_]+)"')


def variables_read() -> set[str]:
    names: set[str] = set()
    for folder in ("libs", "services"):
        for path in (ROOT / folder).rglob("*.py"):
            if "/tests/" not in str(path):
                names.update(READ.findall(path.read_text()))
    return names


def test_every_variable_read_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    names = variables_read()
    assert len(names) > 30
    assert sorted(name for name in names if f"`{name}`" not in readme) == []
