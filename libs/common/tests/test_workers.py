"""Several processes behind one port: the supervisor and the SO_REUSEPORT socket."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from wildside_common.server import reusable_socket
from wildside_common.testing.servers import free_port, process_alive

pytestmark = pytest.mark.unit

# A worker handles SIGTERM (exit 0), then writes its index to a file and waits, or, with
# index 1 and `crash` given, exits 3 on its own after a moment.
WORKER = textwrap.dedent(
    """
    import os, signal, sys, time
    index = os.environ["TEST_WORKER"]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # before it says it is up
    path = os.path.join(sys.argv[1], index)
    with open(path + ".part", "w") as out:  # whole or absent: the test reads it at once
        out.write(str(os.getpid()))
    os.replace(path + ".part", path)
    if index == "1" and sys.argv[2] == "crash":
        time.sleep(0.5)
        sys.exit(3)
    while True:
        time.sleep(0.05)
    """
)

SUPERVISOR = textwrap.dedent(
    """
    import sys
    from wildside_common.workers import supervise
    command = [sys.executable, "-c", sys.argv[1], sys.argv[2], sys.argv[3]]
    sys.exit(supervise(3, "TEST_WORKER", command, grace=5))
    """
)


def start(tmp_path: Path, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, WORKER, str(tmp_path), mode],
    )


def wait_for_workers(tmp_path: Path, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while len([p for p in tmp_path.iterdir() if p.suffix != ".part"]) < count:
        assert time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.05)
    time.sleep(0.1)
    return [int((tmp_path / str(i)).read_text()) for i in range(count)]


def test_each_worker_gets_its_index_and_sigterm_stops_them_all(tmp_path: Path) -> None:
    supervisor = start(tmp_path, "serve")
    pids = wait_for_workers(tmp_path, 3)
    assert len(set(pids)) == 3
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(20) == 0
    assert not any(process_alive(pid) for pid in pids)


def test_one_worker_ending_stops_the_others_with_its_status(tmp_path: Path) -> None:
    supervisor = start(tmp_path, "crash")
    pids = wait_for_workers(tmp_path, 3)
    assert supervisor.wait(20) == 3
    assert not any(process_alive(pid) for pid in pids)


def test_reusable_sockets_share_one_port() -> None:
    port = free_port()
    first, second = reusable_socket("127.0.0.1", port), reusable_socket("127.0.0.1", port)
    try:
        assert first.getsockname()[1] == second.getsockname()[1] == port
    finally:
        first.close()
        second.close()


# Copy 0 ends at once on SIGTERM; copy 1 drains for a while, and a second SIGTERM while it
# drains ends it with status 7 (as the default action would have killed it: -15).
SLOW_WORKER = textwrap.dedent(
    """
    import os, signal, sys, time
    index = os.environ["TEST_WORKER"]
    got = []
    def on_term(*_):
        got.append(1)
        if len(got) > 1:
            os._exit(7)
        if index == "0":
            sys.exit(0)
    signal.signal(signal.SIGTERM, on_term)
    path = os.path.join(sys.argv[1], index)
    with open(path + ".part", "w") as out:
        out.write(str(os.getpid()))
    os.replace(path + ".part", path)
    while not got:
        time.sleep(0.05)
    time.sleep(1.0)  # draining, past the moment copy 0 has ended
    sys.exit(0)
    """
)


def test_a_copy_still_draining_is_not_signalled_twice(tmp_path: Path) -> None:
    supervisor = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR.replace("3,", "2,"), SLOW_WORKER, str(tmp_path), "x"],
    )
    pids = wait_for_workers(tmp_path, 2)
    supervisor.send_signal(signal.SIGTERM)
    assert supervisor.wait(20) == 0
    assert not any(process_alive(pid) for pid in pids)
