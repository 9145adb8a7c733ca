"""Read `.osm.pbf` extracts, handing plain values to the domain builder.

Where the C++ reader was built (`wildside_ingest._native`, services/ingest/native; the
default), one decode of the file gives the walking network and the POI candidates
(`pbf_native`), here in the calling process; the POI decisions on the candidates are
made in line or, with two readers, in a process beside it. The rows and counts are the
same as the Python reader's below, which stays as their reference (the tests compare the
two) and as the fallback. The Python reader, over pyosmium (its per-element work in
`pbf_python`):

Passes (C++ key filters drop what no rule can use before Python sees it):

1. relations: the multipolygons whose tags pass the POI filters (tags, member ways);
2. ways with `highway`: the node references of walkable ways give the network's
   vertices (junctions and way ends), kept as a set of node ids;
3. the members of the candidate multipolygons: their node ids (ways only, no locations);
4. the main pass, every node location cached (pyosmium's location store): nodes with a
   POI key (tags and point from `GeoInterfaceFilter`, built in C++), ways with a POI key
   or `highway` (POIs, the network split at its vertices). Afterwards the members'
   coordinates come from the location store and the multipolygons are assembled
   (shapely) and placed at their point-on-surface.

With two readers (the default on two CPUs) a network reader process does 2 and 4 for
the network, a POI reader process 1, 3 and 4 for the POIs, side by side (both forked
from a fork server, never from the CLI itself); one reader does everything in the same
passes.

Memory: the location stores and the vertex set grow with the file's nodes; POIs and
edges leave in batches of `batch_size`; only the candidate multipolygons (tags, member
node ids) wait for the end. pyosmium's area manager behind an id filter was tried first:
libosmium's dense id sets took ~0.5 MB per distinct id region (540 MB on the 50x
benchmark file), so relations are assembled here instead.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import queue
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, cast

from wildside_common.errors import DomainError, InvalidInput
from wildside_ingest.adapters.outbound.pbf_native import (
    PoiDecider,
    header_box,
    native_available,
    open_reader,
    relation_poi,
)
from wildside_ingest.adapters.outbound.pbf_python import (
    ElementReader,
    only_for,
    raw,
    way_refs,
)
from wildside_ingest.adapters.outbound.pbf_python import member_coords as read_member_coords
from wildside_ingest.adapters.outbound.pbf_scan import pbf_file, scan_file
from wildside_ingest.domain.features import FeatureBatch, FeatureBuilder, ReadCounts, WireRows
from wildside_ingest.domain.filters import FilterSet
from wildside_ingest.domain.geofence import BoundingBox
from wildside_ingest.domain.network import EdgeRecord

# pyosmium is imported where the Python reader needs it: with the C++ reader a run never
# does (about 25 ms of every start).

_CHUNK = 1 << 20
_POI_READER_NICENESS = 10


def _pyosmium_header(path: str) -> tuple[float, float, float, float] | None:
    import osmium

    reader = osmium.io.Reader(pbf_file(path), osmium.osm.NOTHING)
    try:
        box = reader.header().box()
    finally:
        reader.close()
    if not box.valid():
        return None
    low, high = box.bottom_left, box.top_right
    return (low.lon, low.lat, high.lon, high.lat)


def _corrupt(path: str, exc: Exception) -> InvalidInput:
    return InvalidInput(f"pbf: {path}: corrupt or truncated file ({exc})", {"path": path})


# libosmium decodes ahead of its consumer into queues of 20 blocks each by default;
# Python consumes far slower than C++ decodes, so those queues fill up and hold ~150 MB
# on a 30 MB file. Two blocks keep the decoder busy and the memory flat.
READ_AHEAD = {"OSMIUM_MAX_INPUT_QUEUE_SIZE": "2", "OSMIUM_MAX_OSMDATA_QUEUE_SIZE": "2"}


def limit_read_ahead(environ: MutableMapping[str, str]) -> None:
    """Bound libosmium's read-ahead (read from the environment when a reader opens)."""
    for name, value in READ_AHEAD.items():
        environ.setdefault(name, value)


class PbfFeatureSource:
    """The `FeatureSource` over the C++ reader, or pyosmium; `location_store` picks the
    node location cache (libosmium's map types, by name)."""

    def __init__(
        self, location_store: str = "flex_mem", readers: int = 1, native: bool | None = None
    ) -> None:
        self.location_store = location_store
        self.readers = readers
        # the C++ reader where it was built (None), or as asked (the tests compare
        # both); the Python reader otherwise
        self.native = native_available() if native is None else native

    def header_bbox(self, path: str) -> BoundingBox | None:
        """The header's bbox; refuses a missing, unreadable or unparseable file."""
        if not os.path.isfile(path):
            raise InvalidInput(f"pbf: {path}: no such file", {"path": path})
        try:
            with open(path, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            raise InvalidInput(f"pbf: {path}: unreadable ({exc.strerror})", {"path": path}) from exc
        try:
            corners = header_box(path) if self.native else _pyosmium_header(path)
        except RuntimeError as exc:
            raise _corrupt(path, exc) from exc
        if corners is None:
            return None
        try:
            return BoundingBox(*corners)
        except InvalidInput:
            return None  # a degenerate header box: treat as absent

    def sha256(self, path: str) -> str:
        """The file's SHA-256 (streamed in 1 MiB chunks)."""
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def batches(
        self,
        path: str,
        builder: FeatureBuilder,
        batch_size: int,
        read: ReadCounts,
        wire: bool = False,
    ) -> Iterator[FeatureBatch]:
        """Every pass; corrupt data anywhere raises InvalidInput.

        With two `readers` and both POIs and the network to load, two forked processes
        read the file side by side: one the walking network (vertices, then the
        `highway` ways), one the POIs (multipolygons, then the nodes and ways carrying a
        POI key, then the multipolygons' members); their batches come back through a
        bounded queue. The rows and the counts are the same either way.
        """
        filters = builder.filters
        pois = filters.wants_pois
        if self.native:
            yield from _mapped(path, self._native(path, builder, batch_size, read, wire))
            return
        roles = [_Role(pois=pois, network=filters.network, split=False)]
        channel = _channel(4 * 2) if self.readers >= 2 and pois and filters.network else None
        if channel is not None:  # None also where processes cannot share a queue
            roles = [
                _Role(pois=False, network=True, split=True),
                _Role(pois=True, network=False, split=True),
            ]
        if len(roles) == 1:
            yield from _mapped(path, self._read(path, builder, batch_size, read, roles[0]))
            return
        yield from self._parallel(path, builder, batch_size, read, roles, channel)

    def _native(
        self, path: str, builder: FeatureBuilder, batch_size: int, read: ReadCounts, wire: bool
    ) -> Iterator[FeatureBatch]:
        """The C++ reader here (one decode: the network and the POI candidates); the POI
        decisions in a process beside it (two readers) or in line (one)."""
        reader = open_reader(path, builder, batch_size, self.location_store)
        reader.set_wire(wire)  # the network as the store's rows (PostgreSQL COPY rows)
        pois = builder.filters.wants_pois
        decider = PoiDecider(builder, batch_size)
        channel: Any = _channel(4 * 2) if pois and self.readers >= 2 else None
        worker: Any = None
        outbox: Any = None
        inbox: _Inbox | None = None
        if channel is not None:
            context = _context()
            outbox = context.Queue(maxsize=4 * 2)
            worker = context.Process(
                target=_decide_in_process,
                args=(builder, batch_size, outbox, channel),
                name="ingest-pois",
                daemon=True,
            )
            worker.start()
            inbox = _Inbox(path, channel, [worker], read)
        reader.scan()  # its first pass, in a thread beside the second
        counted = (0, 0)
        try:
            while True:
                try:
                    edges, nodes, poi_nodes, poi_ways = reader.next_batch(EdgeRecord, WireRows)
                except StopIteration:
                    break
                read.nodes += reader.nodes_read - counted[0]
                read.ways += reader.ways_read - counted[1]
                counted = (reader.nodes_read, reader.ways_read)
                if isinstance(edges, WireRows):
                    yield FeatureBatch(wire=edges)
                elif edges:
                    yield FeatureBatch(edges=cast("list[EdgeRecord]", edges), nodes=nodes or {})
                if not (poi_nodes or poi_ways):
                    continue
                if inbox is None:
                    yield from decider.candidates(poi_nodes, poi_ways)
                else:
                    yield from _send(outbox, ("candidates", poi_nodes, poi_ways), inbox)
            read.nodes += reader.nodes_read - counted[0]
            read.ways += reader.ways_read - counted[1]
            if builder.filters.network:
                yield FeatureBatch(network_done=True)  # its tables can be built
            if not pois:
                return
            relations, members = reader.relations(), reader.member_coords()
            if inbox is None:
                yield from decider.finish(relations, members)
                read.relations += decider.relations_read
                return
            yield from _send(outbox, ("finish", relations, members), inbox)
            yield from inbox.receive(wait=True)
        finally:
            if worker is not None:
                if worker.is_alive():
                    worker.terminate()
                worker.join()
                channel.close()
                # what the decider did not take stays unsent: exit must not wait for it
                outbox.cancel_join_thread()
                outbox.close()

    def _read(
        self, path: str, builder: FeatureBuilder, batch_size: int, read: ReadCounts, role: _Role
    ) -> Iterator[FeatureBatch]:
        """One role's light passes, its main pass, its members pass, its multipolygons.

        `read.ways` counts the ways with a `highway` or POI key; when the network and the
        POIs have readers of their own, the POI reader leaves the `highway` ways to the
        network reader's count, so the sum is the same.
        """
        scan = scan_file(path, builder.filters, pois=role.pois, network=role.network)
        skip_highway = role.split and role.pois
        from osmium import index
        from osmium.osm import Node, Way

        reader = ElementReader(builder, scan.vertices, role.pois, role.network)
        member_refs = self._member_refs(path, scan.member_ways)
        store = index.create_map(self.location_store)
        batch = FeatureBatch()
        for obj in self._elements(path, builder.filters, role, store):
            if isinstance(obj, Node):
                read.nodes += 1
                reader.node(obj, batch)
            elif isinstance(obj, Way):
                if not (skip_highway and "highway" in obj.tags):
                    read.ways += 1
                reader.way(obj, batch)
            if len(batch) >= batch_size:
                yield batch
                batch = FeatureBatch()
        member_coords = read_member_coords(member_refs, store)
        for relation in scan.multipolygons:
            read.relations += 1
            poi = relation_poi(builder, relation, member_coords)
            if poi is not None:
                batch.pois.append(poi)
            if len(batch) >= batch_size:
                yield batch
                batch = FeatureBatch()
        if len(batch):
            yield batch

    def _parallel(
        self,
        path: str,
        builder: FeatureBuilder,
        batch_size: int,
        read: ReadCounts,
        roles: list[_Role],
        channel: Any,
    ) -> Iterator[FeatureBatch]:
        context = _context()
        workers = [
            context.Process(
                target=_read_in_process,
                args=(self, path, builder, batch_size, role, channel),
                name=f"ingest-reader-{index}",
                daemon=True,
            )
            for index, role in enumerate(roles)
        ]
        for worker in workers:
            worker.start()
        inbox = _Inbox(path, channel, workers, read)
        try:
            yield from inbox.receive(wait=True)
        finally:
            for worker in workers:
                if worker.is_alive():
                    worker.terminate()
            for worker in workers:
                worker.join()
            channel.close()

    def _member_refs(self, path: str, member_ways: frozenset[int]) -> dict[int, list[int]]:
        """The node ids of the candidate multipolygons' member ways.

        A pass of its own over the ways, without locations: members are mostly
        untagged, so the main pass's key filter drops them, and an id filter in C++
        (libosmium's dense id set) costs ~0.5 MB per distinct id region. Their
        coordinates come from the main pass's location store afterwards.
        """
        import osmium

        refs: dict[int, list[int]] = {}
        if not member_ways:
            return refs
        for way in osmium.FileProcessor(pbf_file(path), osmium.osm.WAY):
            data = raw(way)
            if data.id() in member_ways:
                refs[data.id()] = way_refs(data)
        return refs

    def _elements(self, path: str, filters: FilterSet, role: _Role, store: Any) -> Iterator[Any]:
        """The main pass: every node's location cached in `store`; Python sees
        candidates only: nodes with a POI key, ways with a POI key or `highway`."""
        import osmium

        poi_keys = sorted(filters.poi_keys()) if role.pois else []
        way_keys = [*(["highway"] if role.network else []), *poi_keys]
        chain: list[Any] = [
            osmium.filter.EntityFilter(osmium.osm.NODE | osmium.osm.WAY),
            # no POI filter: no node passes
            only_for(osmium.filter.KeyFilter(*(poi_keys or ["\x00"])), osmium.osm.NODE),
            # tags and point as plain Python values; a node whose location is not valid
            # (out of range) is dropped here, as it was when read one by one
            only_for(osmium.filter.GeoInterfaceFilter(), osmium.osm.NODE),
            only_for(osmium.filter.KeyFilter(*(way_keys or ["\x00"])), osmium.osm.WAY),
        ]
        locations = osmium.NodeLocationsForWays(store)  # referenced: C++ keeps a pointer
        locations.ignore_errors()  # ways cut by the extract: their missing nodes are skipped
        with osmium.io.Reader(pbf_file(path)) as reader:
            yield from osmium.OsmFileIterator(reader, locations, *chain)


@dataclass(frozen=True, slots=True)
class _Role:
    """What one reader loads (the POIs, the walking network or both); `split` when the
    other is loaded by another reader at the same time."""

    pois: bool
    network: bool
    split: bool


class _Inbox:
    """What the reader processes send: batches, read counts, their end or their error."""

    def __init__(self, path: str, channel: Any, workers: list[Any], read: ReadCounts) -> None:
        self.path, self.channel, self.workers, self.read = path, channel, workers, read
        self.running = len(workers)

    def receive(self, wait: bool) -> Iterator[FeatureBatch]:
        """Until every reader is done (`wait`), or what has arrived so far."""
        while self.running:
            try:
                kind, counts, payload = (
                    self.channel.get(timeout=0.5) if wait else (self.channel.get_nowait())
                )
            except queue.Empty:
                if not wait:
                    return
                if any(w.exitcode not in (None, 0) for w in self.workers):
                    raise RuntimeError("a reader process died") from None
                continue
            self.read.nodes += counts[0]
            self.read.ways += counts[1]
            self.read.relations += counts[2]
            if kind == "batch":
                yield payload
            elif kind == "done":
                self.running -= 1
                if payload:  # the network reader is through: its tables can be built
                    yield FeatureBatch(network_done=True)
            elif kind == "corrupt":
                raise _corrupt(self.path, RuntimeError(payload))
            else:
                raise payload


def _mapped(path: str, batches: Iterator[FeatureBatch]) -> Iterator[FeatureBatch]:
    """libosmium's errors (RuntimeError) as InvalidInput: a corrupt or truncated file."""
    try:
        yield from batches
    except RuntimeError as exc:
        raise _corrupt(path, exc) from exc


def _channel(depth: int) -> Any:
    """A queue between forked processes (deep enough for the POI reader to go on while
    the network's indexes are built), or None where the platform has none (no fork, no
    shared-memory semaphores): then one reader does everything."""
    try:
        return _context().Queue(maxsize=depth)
    except (ValueError, OSError, ImportError):
        return None


def _context() -> Any:
    """Reader processes come from a fork server: a fresh interpreter that has imported
    this module and nothing else, so a reader inherits none of the CLI's threads (the
    event loop's, asyncpg's, the batch thread), locks or libosmium state. Forking the
    CLI itself did, and a reader could abort when it collected an inherited object."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _read_in_process(
    source: PbfFeatureSource,
    path: str,
    builder: FeatureBuilder,
    batch_size: int,
    role: _Role,
    channel: Any,
) -> None:
    """A reader process: its role's batches, each with the read counts since the last."""
    read, sent = ReadCounts(), (0, 0, 0)

    def delta() -> tuple[int, int, int]:
        nonlocal sent
        now = (read.nodes, read.ways, read.relations)
        change = (now[0] - sent[0], now[1] - sent[1], now[2] - sent[2])
        sent = now
        return change

    if not role.network:
        # The network reader goes first (the POI reader yields the CPU to it), so the
        # network's indexes are built while the POIs are still read, not after them:
        # about 20 % off a 50x first load on two cores.
        os.nice(_POI_READER_NICENESS)
    try:
        for batch in source._read(path, builder, batch_size, read, role):
            channel.put(("batch", delta(), batch))
        channel.put(("done", delta(), role.network))
    except RuntimeError as exc:
        channel.put(("corrupt", delta(), str(exc)))
    except DomainError as exc:
        channel.put(("error", delta(), exc))
    except BaseException as exc:  # handed to the parent as a plain error
        channel.put(("error", delta(), RuntimeError(f"{type(exc).__name__}: {exc}")))
    channel.close()
    channel.join_thread()


def _decide_in_process(builder: FeatureBuilder, batch_size: int, outbox: Any, channel: Any) -> None:
    """The POI decider process: candidates in from `outbox`, POI batches out."""
    decider = PoiDecider(builder, batch_size)
    try:
        while True:
            kind, first, second = outbox.get()
            if kind == "candidates":
                for batch in decider.candidates(first, second):
                    channel.put(("batch", (0, 0, 0), batch))
                continue
            for batch in decider.finish(first, second):
                channel.put(("batch", (0, 0, 0), batch))
            channel.put(("done", (0, 0, decider.relations_read), False))
            break
    except DomainError as exc:
        channel.put(("error", (0, 0, 0), exc))
    except BaseException as exc:  # handed to the parent as a plain error
        channel.put(("error", (0, 0, 0), RuntimeError(f"{type(exc).__name__}: {exc}")))
    channel.close()
    channel.join_thread()


def _send(outbox: Any, item: object, inbox: _Inbox) -> Iterator[FeatureBatch]:
    """Hand `item` to the decider process, taking its batches while its queue is full
    (it may be waiting for room in ours)."""
    while True:
        try:
            outbox.put(item, timeout=0.05)
            return
        except queue.Full:
            yield from inbox.receive(wait=False)
            if not inbox.running or any(w.exitcode not in (None, 0) for w in inbox.workers):
                raise RuntimeError("the POI decider process died") from None
