"""The CLI pauses the cyclic garbage collector for a run, and only for the run."""

from __future__ import annotations

import argparse
import gc
from typing import Any

import pytest

from wildside_common.errors import InvalidInput
from wildside_ingest.adapters.inbound import cli
from wildside_ingest.bootstrap import ingest_service
from wildside_ingest.config import IngestSettings

pytestmark = pytest.mark.unit


def test_the_collector_is_paused_during_the_run_and_back_after(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[bool] = []

    async def run(args: argparse.Namespace, settings: IngestSettings, open_service: Any) -> None:
        seen.append(gc.isenabled())
        raise InvalidInput("stop here")

    monkeypatch.setattr(cli, "_run", run)
    assert gc.isenabled()
    assert cli.main(["any.osm.pbf", "--database-url", "postgresql://nowhere"], ingest_service) == 2
    assert seen == [False]
    assert gc.isenabled()
