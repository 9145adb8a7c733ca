"""Several processes of one service behind one port: a small supervisor.

`supervise(count, ...)` starts `count` copies of a command, each told its index in an
environment variable; each copy binds the public port itself with SO_REUSEPORT (see
`server.serve_http(reuse_port=True)`), so the kernel spreads connections over them and
each has its own event loop, pools and bus connections. SIGTERM/SIGINT are passed on to
every copy (each drains as it would alone); when one copy ends, the others are stopped
too, so an orchestrator sees one failure and restarts the whole, never a half-served port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from types import FrameType


def worker_index(variable: str) -> int | None:
    """This process's index when a supervisor started it, else None."""
    raw = os.environ.get(variable)
    return None if raw is None else int(raw)


def supervise(count: int, variable: str, command: Sequence[str], grace: float = 30.0) -> int:
    """Run `count` copies of `command` until one ends; returns the first non-zero exit
    status among them (0 when they all stopped cleanly)."""
    children = [
        subprocess.Popen(list(command), env={**os.environ, variable: str(index)})
        for index in range(count)
    ]

    # Each signal goes to each copy once: a copy that got SIGTERM is already draining, and
    # a second one could reach it after its event loop has ended (default action: killed,
    # status -15) when the first copy to end makes the others stop.
    sent: set[tuple[int, int]] = set()

    def forward(signum: int, _frame: FrameType | None) -> None:
        for index, child in enumerate(children):
            if child.poll() is None and (index, signum) not in sent:
                sent.add((index, signum))
                child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    while all(child.poll() is None for child in children):
        time.sleep(0.2)
    forward(signal.SIGTERM, None)  # one ended: the others stop as well
    deadline = time.monotonic() + grace
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    codes = [child.returncode for child in children]
    return next((code for code in codes if code != 0), 0)
