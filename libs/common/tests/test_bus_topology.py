"""Every stream is provisioned with the replica count asked for (`NATS_STREAM_REPLICAS`)."""

from __future__ import annotations

import pytest

from wildside_common.bus.topology import ROUTE_JOBS_STREAM, ROUTE_STATUS_STREAM, streams

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("replicas", [1, 3])
def test_every_stream_has_the_replica_count_asked_for(replicas: int) -> None:
    configs = streams(replicas)
    names = {config.name for config in configs}
    assert {ROUTE_JOBS_STREAM, ROUTE_STATUS_STREAM} <= names
    assert [config.num_replicas for config in configs] == [replicas] * len(configs)


def test_one_replica_by_default() -> None:
    assert {config.num_replicas for config in streams()} == {1}
