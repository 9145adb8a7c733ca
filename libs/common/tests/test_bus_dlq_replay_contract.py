"""`wildside-dlq` against each real nats-server: dead letters written by the writer every
worker and the forwarder use are listed without their payload, replayed to their original
subject with their original headers, de-duplicated when replayed twice, and purged."""

from __future__ import annotations

import orjson
import pytest
from bus_helpers import MakeQueue, a_job
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from wildside_common import codec
from wildside_common.bus.dlq import Original, write_dead_letter
from wildside_common.bus.publisher import message_headers
from wildside_common.bus.replay import parse_args, read_dead_letters, run
from wildside_common.bus.topology import DEAD_LETTER_STREAM, WorkerPolicy

pytestmark = pytest.mark.contract


async def dead_letter(
    js: JetStreamContext, stream: str, subject: str, sequence: int, kind: str
) -> tuple[bytes, dict[str, str]]:
    """A dead letter of a job once published to `subject` as `sequence` of `stream`."""
    job = a_job()
    payload = codec.encode(job)
    headers = message_headers(job, job.job_id, {"traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"})
    original = Original(stream, "worker", sequence, subject, payload, headers, deliveries=5)
    if kind == "rejected":
        await write_dead_letter(js, original, "invalid_request: bad", kind, "invalid_request")
    else:
        await write_dead_letter(js, original, kind, kind)
    return payload, headers


async def cli(bus_url: str, capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict]:
    capsys.readouterr()
    assert await run(parse_args(["--nats-url", bus_url, *argv])) == 0
    return [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]


async def test_list_shows_kind_reason_and_origin_but_never_the_payload(
    bus: Client, make_queue: MakeQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy())
    await dead_letter(js, queue.stream, queue.subject, 7, "max_deliveries")
    await dead_letter(js, queue.stream, queue.subject, 8, "rejected")
    lines = await cli(bus.connected_url.geturl(), capsys, "list", "--stream", queue.stream)
    assert [(line["kind"], line["original_sequence"]) for line in lines] == [
        ("max_deliveries", "7"),
        ("rejected", "8"),
    ]
    assert lines[1]["reason"] == "invalid_request: bad"
    assert all(line["subject"] == queue.subject and line["bytes"] > 0 for line in lines)
    assert all("data" not in line and "headers" not in line for line in lines)
    only = await cli(
        bus.connected_url.geturl(), capsys, "list", "--stream", queue.stream, "--kind", "rejected"
    )
    assert [line["kind"] for line in only] == ["rejected"]


async def test_replay_republishes_what_ran_out_of_retries_to_its_subject_and_purges_it(
    bus: Client, make_queue: MakeQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy())
    payload, headers = await dead_letter(js, queue.stream, queue.subject, 3, "max_deliveries")
    await dead_letter(js, queue.stream, queue.subject, 4, "rejected")
    (letter, rejected) = await read_dead_letters(js, queue.stream)

    (line,) = await cli(
        bus.connected_url.geturl(), capsys, "replay", "--stream", queue.stream, "--purge"
    )
    assert (line["sequence"], line["replayed"], line["purged"]) == (letter.sequence, True, True)
    replayed = await js.get_msg(queue.stream, line["replay_sequence"])
    assert replayed.subject == queue.subject and replayed.data == payload
    replayed_headers = dict(replayed.headers or {})
    assert replayed_headers["Nats-Msg-Id"] == f"replay:{DEAD_LETTER_STREAM}:{letter.sequence}"
    assert {k: v for k, v in replayed_headers.items() if k != "Nats-Msg-Id"} == {
        k: v for k, v in headers.items() if k != "Nats-Msg-Id"
    }  # traceparent, schema name and version as published; no dead-letter headers
    with pytest.raises(NotFoundError):
        await js.get_msg(DEAD_LETTER_STREAM, letter.sequence)
    # the rejected one is neither replayed nor purged by default
    assert [d.sequence for d in await read_dead_letters(js, queue.stream)] == [rejected.sequence]
    info = await js.stream_info(queue.stream)
    assert info.state.messages == 1


async def test_replaying_the_same_dead_letter_twice_stores_one_job(
    bus: Client, make_queue: MakeQueue, capsys: pytest.CaptureFixture[str]
) -> None:
    js = bus.jetstream()
    queue = await make_queue(WorkerPolicy())
    await dead_letter(js, queue.stream, queue.subject, 9, "rejected")
    argv = ("replay", "--stream", queue.stream, "--kind", "rejected")
    (first,) = await cli(bus.connected_url.geturl(), capsys, *argv)
    (second,) = await cli(bus.connected_url.geturl(), capsys, *argv)
    assert (first["replayed"], second["replayed"], second["duplicate"]) == (True, False, True)
    assert (await js.stream_info(queue.stream)).state.messages == 1
    dry = await cli(bus.connected_url.geturl(), capsys, *argv, "--dry-run")
    assert [line["sequence"] for line in dry] == [first["sequence"]]
    assert "replayed" not in dry[0]
