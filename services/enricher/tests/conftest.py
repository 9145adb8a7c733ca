"""Fixtures for the enricher's tests (helpers live in enricher_fakes.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from enricher_fakes import FakeOverpass


@pytest.fixture
async def overpass() -> AsyncIterator[FakeOverpass]:
    server = FakeOverpass()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def mirror() -> AsyncIterator[FakeOverpass]:
    server = FakeOverpass()
    await server.start()
    yield server
    await server.stop()
