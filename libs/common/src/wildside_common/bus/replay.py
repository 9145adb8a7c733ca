"""`wildside-dlq`: list and replay the dead letters in `WILDSIDE_DEAD_LETTER`.

    wildside-dlq list   [--stream S] [--kind K ...]
    wildside-dlq replay [--stream S] [--kind K ...] [--seq N ...] [--purge] [--dry-run]

`list` prints one JSON line per dead letter: its sequence in the dead-letter stream, its
kind (`rejected`, `max_deliveries`, `terminated`), reason and origin. Never the payload:
a route job carries the user's start point.

`replay` publishes each selected dead letter's payload again to its original subject,
with its original headers (`traceparent`, schema name and version) and
`Nats-Msg-Id: replay:<dead-letter sequence>`: a second replay of the same dead letter
within the job stream's de-duplication window (10 minutes) is dropped by JetStream, so an
interrupted run can simply be run again. `--purge` deletes each dead letter once its
replay is stored. By default only `max_deliveries` letters are replayed: a `rejected` one
was refused for its content and would be refused again.

The connection is `--nats-url`, default `$NATS_URL`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import nats
import orjson
from nats.errors import NoServersError
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from wildside_common.bus.dlq import (
    CODE_HEADER,
    DELIVERIES_HEADER,
    ORIGIN_SEQ_HEADER,
    ORIGIN_STREAM_HEADER,
    ORIGIN_SUBJECT_HEADER,
    REASON_HEADER,
)
from wildside_common.bus.topology import DEAD_LETTER_STREAM

KINDS = ("rejected", "max_deliveries", "terminated")
_DEAD_LETTER_HEADERS = (DELIVERIES_HEADER, "Wildside-Dead-Letter-", "Wildside-Original-")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    sequence: int  # in WILDSIDE_DEAD_LETTER
    kind: str
    reason: str
    stream: str
    subject: str
    original_sequence: str
    deliveries: str
    data: bytes
    headers: Mapping[str, str]

    def summary(self) -> dict[str, Any]:
        return {
            "sequence": self.sequence,
            "kind": self.kind,
            "reason": self.reason,
            "stream": self.stream,
            "subject": self.subject,
            "original_sequence": self.original_sequence,
            "deliveries": self.deliveries,
            "bytes": len(self.data),
        }


def kind_of(headers: Mapping[str, str]) -> str:
    """The dead letter's kind, from its headers: a worker's refusal carries the error's
    code; the forwarder's reason is `max_deliveries` when retries ran out. Anything else
    counts as `terminated`, which is never replayed by default."""
    if CODE_HEADER in headers:
        return "rejected"
    return "max_deliveries" if headers.get(REASON_HEADER) == "max_deliveries" else "terminated"


def replay_headers(letter: DeadLetter) -> dict[str, str]:
    """The original message's headers, without what the dead-letter copy added."""
    headers = {
        key: value
        for key, value in letter.headers.items()
        if not key.startswith(_DEAD_LETTER_HEADERS) and key != "Nats-Msg-Id"
    }
    headers["Nats-Msg-Id"] = f"replay:{DEAD_LETTER_STREAM}:{letter.sequence}"
    return headers


async def read_dead_letters(
    js: JetStreamContext,
    stream: str | None = None,
    kinds: Iterable[str] = KINDS,
    sequences: Iterable[int] = (),
) -> list[DeadLetter]:
    """The dead letters (oldest first) of original `stream` (all when None), of `kinds`,
    and, when `sequences` are given, only those."""
    wanted_kinds, wanted = set(kinds), set(sequences)
    info = await js.stream_info(DEAD_LETTER_STREAM)
    found: list[DeadLetter] = []
    if not info.state.messages:
        return found
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        if wanted and seq not in wanted:
            continue
        try:
            message = await js.get_msg(DEAD_LETTER_STREAM, seq)
        except NotFoundError:
            continue  # deleted (purged after an earlier replay)
        headers = dict(message.headers or {})
        letter = DeadLetter(
            sequence=seq,
            kind=kind_of(headers),
            reason=headers.get(REASON_HEADER, ""),
            stream=headers.get(ORIGIN_STREAM_HEADER, ""),
            subject=headers.get(ORIGIN_SUBJECT_HEADER, ""),
            original_sequence=headers.get(ORIGIN_SEQ_HEADER, ""),
            deliveries=headers.get(DELIVERIES_HEADER, ""),
            data=message.data or b"",
            headers=headers,
        )
        if letter.kind in wanted_kinds and (stream is None or letter.stream == stream):
            found.append(letter)
    return found


async def replay(
    js: JetStreamContext, letters: Sequence[DeadLetter], purge: bool = False
) -> list[dict[str, Any]]:
    """Publish each letter again to its original subject; one result line per letter."""
    results = []
    for letter in letters:
        if not letter.subject:
            results.append({**letter.summary(), "replayed": False, "error": "no subject"})
            continue
        ack = await js.publish(letter.subject, letter.data, headers=replay_headers(letter))
        if purge:
            await js.delete_msg(DEAD_LETTER_STREAM, letter.sequence)
        results.append(
            {
                **letter.summary(),
                "replayed": not ack.duplicate,
                "duplicate": ack.duplicate,
                "replay_sequence": ack.seq,
                "purged": purge,
            }
        )
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return _parser().parse_args(argv)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wildside-dlq", description="List and replay Wildside's dead letters."
    )
    parser.add_argument("--nats-url", default=os.environ.get("NATS_URL"))
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "replay"):
        command = commands.add_parser(name)
        command.add_argument("--stream", help="original stream, e.g. WILDSIDE_ENRICHMENT_JOBS")
        command.add_argument("--kind", action="append", choices=KINDS)
        command.add_argument("--seq", action="append", type=int, default=[], help="sequence")
    replay_command = commands.choices["replay"]
    replay_command.add_argument("--purge", action="store_true", help="delete once replayed")
    replay_command.add_argument("--dry-run", action="store_true", help="only list")
    return parser


async def run(args: argparse.Namespace) -> int:
    try:
        client = await nats.connect(
            args.nats_url, name="wildside-dlq", connect_timeout=5, max_reconnect_attempts=1
        )
    except (NoServersError, OSError, TimeoutError) as exc:
        print(f"NATS_URL: cannot connect to {args.nats_url}: {exc!r}", file=sys.stderr)
        return 1
    try:
        js = client.jetstream()
        default = KINDS if args.command == "list" else ("max_deliveries",)
        try:
            letters = await read_dead_letters(js, args.stream, args.kind or default, args.seq)
        except NotFoundError:
            print(f"no stream {DEAD_LETTER_STREAM} at {args.nats_url}", file=sys.stderr)
            return 1
        if args.command == "list" or args.dry_run:
            lines = [letter.summary() for letter in letters]
        else:
            lines = await replay(js, letters, purge=args.purge)
        for line in lines:
            sys.stdout.write(orjson.dumps(line).decode() + "\n")
    finally:
        await client.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not args.nats_url:
        print("NATS_URL: is required but not set (or pass --nats-url)", file=sys.stderr)
        return 2
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
