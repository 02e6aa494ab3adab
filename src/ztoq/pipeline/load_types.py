"""What every entity loader returns and implements, and what the loaders share."""

from __future__ import annotations

import asyncio
import hashlib
import io
import tempfile
import weakref
from array import array
from bisect import bisect_left, insort
from collections.abc import Awaitable, Callable, Collection, Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ztoq.pipeline.load_listings import Listings
from ztoq.plan import PlannedEntity
from ztoq.qtest import QTestClient
from ztoq.qtest.models import TestCase, TestLog
from ztoq.store import FileCache, ProblemItem


@dataclass(frozen=True)
class Loaded:
    """What qTest answered for a created, updated or adopted entity."""

    target_id: int
    pid: str | None = None
    web_url: str | None = None
    version: str | None = None
    #: Degraded values found while loading (e.g. a requirement to link that qTest lacks).
    problems: tuple[ProblemItem, ...] = ()
    #: What qTest holds, as listed (for an entity found rather than created: adoption compares it).
    wire: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)


class EntityLoader(Protocol):
    """How one planned entity type is created, updated, found again and deleted in qTest.

    Every method takes the planned entity with its references already resolved to qTest ids.
    """

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded: ...

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded: ...

    async def candidates(self, entity: PlannedEntity, listings: Listings) -> list[Loaded]:
        """Every entity qTest holds under ``entity``'s parent with its Zephyr key (more than one: duplicates).

        Recognised by the key only (a marker line or the "Zephyr Key" field), never by name alone;
        the fixed "root" and "adhoc" containers by name and description.
        """
        ...

    async def adopted(self, client: QTestClient, found: Loaded, entity: PlannedEntity) -> Loaded:
        """Finish taking over an entity found in qTest (a test case is approved when it should be)."""
        ...

    async def delete(self, client: QTestClient, target_id: int, placement: str | None = None) -> None:
        """Delete it in qTest; ``placement`` is what was recorded as its pid (an attachment's object)."""
        ...


class AttachmentPlaces(Protocol):
    """Where the attachments ztoq already uploaded or adopted are in qTest."""

    def places_of(self, target_ids: Collection[int]) -> dict[int, str]:
        """qTest attachment id -> the object it is on (``"test-cases/12"``), of those among
        ``target_ids`` that stand for a Zephyr attachment."""
        ...


class NoAttachmentPlaces:
    """No attachment is in qTest yet."""

    def places_of(self, target_ids: Collection[int]) -> dict[int, str]:
        return {}


#: Objects are spread over this many buckets (a new one is inserted into a short one).
_KNOWN_BUCKETS = 1024


class _IdLists:
    """The id lists of the objects of one bucket: their keys sorted, where each one's ids end,
    and every id, in one array each (8 bytes a key, an end and an id)."""

    __slots__ = ("ends", "ids", "keys")

    def __init__(self) -> None:
        self.keys = array("q")
        self.ends = array("q")
        self.ids = array("q")

    def find(self, key: int) -> tuple[int, bool]:
        at = bisect_left(self.keys, key)
        return at, at < len(self.keys) and self.keys[at] == key

    def span(self, at: int) -> tuple[int, int]:
        return (self.ends[at - 1] if at else 0), self.ends[at]

    def put(self, key: int, ids: array[int]) -> bool:
        """Keep ``ids`` for ``key``, replacing what it had; whether ``key`` is new."""
        at, found = self.find(key)
        start = self.ends[at - 1] if at else 0
        end = self.ends[at] if found else start
        self.ids[start:end] = ids
        shift = len(ids) - (end - start)
        if found:
            self.ends[at] += shift
        else:
            self.keys.insert(at, key)
            self.ends.insert(at, start + len(ids))
        for later in range(at + 1, len(self.ends)):
            self.ends[later] += shift
        return not found

    def drop(self, key: int) -> bool:
        """Forget ``key``; whether it was kept."""
        at, found = self.find(key)
        if not found:
            return False
        start, end = self.span(at)
        del self.ids[start:end]
        del self.keys[at]
        del self.ends[at]
        for later in range(at, len(self.ends)):
            self.ends[later] -= end - start
        return True


class KnownIds:
    """Lists of qTest ids per object (a test case's step ids, a test log's step log ids).

    Each is taken from an answer that already carries it (a create or an approval) or read from
    qTest at most once per run, concurrent askers sharing the one request. They are kept packed
    in buckets of arrays (8 bytes an id and 16 an object; a dict of packed bytes cost about 150
    bytes an object): every test case's step ids are kept until the test logs and step
    attachments that bind to them are loaded, so this is the one thing load keeps per test case.
    Objects are qTest ids, so they arrive mostly in increasing order: an insert is then an append.
    """

    def __init__(self) -> None:
        self._buckets: dict[int, _IdLists] = {}
        self._count = 0
        self._reading: dict[int, asyncio.Future[list[int]]] = {}

    def _bucket(self, key: int) -> _IdLists:
        bucket = self._buckets.get(key % _KNOWN_BUCKETS)
        if bucket is None:
            bucket = self._buckets[key % _KNOWN_BUCKETS] = _IdLists()
        return bucket

    def _known(self, key: int) -> tuple[int, ...] | None:
        bucket = self._buckets.get(key % _KNOWN_BUCKETS)
        if bucket is None:
            return None
        at, found = bucket.find(key)
        if not found:
            return None
        start, end = bucket.span(at)
        return tuple(bucket.ids[start:end])

    def remember(self, key: int, ids: Iterable[int] | None) -> None:
        """Keep ``ids`` for ``key`` (None: what an answer did not say is read when asked for)."""
        if ids is None:
            self._count -= self._bucket(key).drop(key)
        else:
            self._count += self._bucket(key).put(key, array("q", ids))

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int):
            return False
        bucket = self._buckets.get(key % _KNOWN_BUCKETS)
        return bucket is not None and bucket.find(key)[1]

    def __len__(self) -> int:
        return self._count

    async def get(self, key: int, read: Callable[[], Awaitable[list[int]]]) -> tuple[int, ...]:
        """The ids of ``key``: those kept, else ``read()`` once (a failed read is tried again next time)."""
        known = self._known(key)
        if known is not None:
            return known
        future = self._reading.get(key)
        if future is None:
            future = self._reading[key] = asyncio.ensure_future(read())
        try:
            ids = await future
        finally:
            if self._reading.get(key) is future and future.done():
                del self._reading[key]
        kept = self._known(key)  # a create answer may have said them meanwhile: that wins
        if kept is not None:
            return kept
        self.remember(key, ids)
        return tuple(ids)


#: Ids are spread over this many sorted arrays (a new id is inserted into a short one).
_ID_BUCKETS = 256


class IdSet:
    """A set of ``(kind, qTest id)``, 8 bytes an id (a tuple in a Python set costs about 130).

    What load keeps of every container it created (a run's test runs can be a million): ids per
    kind in sorted arrays, spread over buckets by the id's low bits.
    """

    def __init__(self) -> None:
        self._kinds: dict[str, list[array[int]]] = {}
        self._count = 0

    def add(self, item: tuple[str, int]) -> None:
        kind, ident = item
        buckets = self._kinds.get(kind)
        if buckets is None:
            buckets = self._kinds[kind] = [array("q") for _ in range(_ID_BUCKETS)]
        bucket = buckets[ident % _ID_BUCKETS]
        at = bisect_left(bucket, ident)
        if at == len(bucket) or bucket[at] != ident:
            insort(bucket, ident)
            self._count += 1

    def __contains__(self, item: object) -> bool:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], int)):
            return False
        buckets = self._kinds.get(item[0])
        if buckets is None:
            return False
        bucket = buckets[item[1] % _ID_BUCKETS]
        at = bisect_left(bucket, item[1])
        return at < len(bucket) and bucket[at] == item[1]

    def __len__(self) -> int:
        return self._count


class KeySet:
    """A set of Zephyr keys at 8 bytes a key (a ``set[str]`` of them costs about 130): each key's
    64-bit BLAKE2b digest in an :class:`IdSet`.

    Two keys sharing a digest have about one chance in 40 million at a million keys; what a
    collision costs is said where a set is used (at worst a request that was not needed).
    """

    def __init__(self) -> None:
        self._ids = IdSet()

    @staticmethod
    def _id(key: str) -> tuple[str, int]:
        return "", int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)

    def add(self, key: str) -> None:
        self._ids.add(self._id(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._id(key) in self._ids

    def __len__(self) -> int:
        return len(self._ids)


class PackedKeys:
    """Keys queued in arrival order, packed one a line; past ``memory_limit`` bytes the queue is
    spilled to a temporary file, so it costs the same memory for ten keys or ten million (the
    attachment rounds queue every file of a project while load works on its logs). Taken out a
    batch at a time; :meth:`close` deletes the file."""

    def __init__(self, memory_limit: int = 1 << 20, spill_to: FileCache | None = None) -> None:
        # Spilled beside the attachment cache (the disk the user chose for the files; /tmp may be
        # memory), else to the system's temporary directory.
        place = prefix = None
        if spill_to is not None:
            place, prefix = str(spill_to.scratch_dir()), spill_to.scratch_prefix()
        self._file = tempfile.SpooledTemporaryFile(  # noqa: SIM115 (lives as long as the queue)
            max_size=memory_limit, suffix=".queue", prefix=prefix, dir=place
        )
        self._read_at = 0
        self._count = 0
        self._closing = weakref.finalize(self, self._file.close)  # also when collected unclosed

    def append(self, key: str) -> None:
        self.extend((key,))

    def extend(self, keys: Iterable[str]) -> None:
        lines = []
        for key in keys:
            if "\n" in key:
                raise ValueError(f"a queued key holds a line break: {key!r}")
            lines.append(key.encode("utf-8", "surrogatepass") + b"\n")
        if lines:
            self._file.seek(0, io.SEEK_END)
            self._file.write(b"".join(lines))
            self._count += len(lines)

    def __len__(self) -> int:
        return self._count

    def take(self, limit: int) -> list[str]:
        """The ``limit`` oldest keys (fewer if fewer are queued), no longer queued."""
        taken: list[str] = []
        self._file.seek(self._read_at)
        while len(taken) < min(limit, self._count):
            taken.append(self._file.readline()[:-1].decode("utf-8", "surrogatepass"))
        self._count -= len(taken)
        self._read_at = self._file.tell()
        if not self._count:  # emptied: the space is reused from the start
            self._file.seek(0)
            self._file.truncate()
            self._read_at = 0
        return taken

    def close(self) -> None:
        """Delete the queue's file (its keys are gone)."""
        self._closing()
        self._count = self._read_at = 0


def step_ids(case: TestCase) -> list[int] | None:
    """The step ids of the version a test case answer shows, by order (None: it shows no steps)."""
    if case.test_steps is None:
        return None
    steps = sorted(case.test_steps, key=lambda s: s.order or 0)
    return [int(s.id) for s in steps if s.id is not None]


def step_log_ids(log: TestLog) -> list[int] | None:
    """The step log ids of a test log answer, by order (None: it shows no step logs)."""
    if log.test_step_logs is None:
        return None
    steps = sorted(log.test_step_logs, key=lambda s: s.order or 0)
    return [int(s.test_step_log_id) for s in steps if s.test_step_log_id is not None]


async def read_step_ids(client: QTestClient, case_id: int) -> list[int]:
    """The step ids of a test case's latest version, read from qTest."""
    return step_ids(await client.get_test_case(case_id, expand_steps=True)) or []


async def read_step_log_ids(client: QTestClient, run_id: int, log_id: int) -> list[int]:
    """The step log ids of a test log, read from qTest."""
    return step_log_ids(await client.get_test_log(run_id, log_id)) or []


@dataclass
class LoaderInputs:
    """What loaders are built from.

    Attributes:
        key_fields: per qTest object type, the id of its "Zephyr Key" field (None: none).
        case_ids: Zephyr test case key -> qTest id, kept current by the load phase as it goes
            (test logs bind their step results to the steps of those test cases).
        attachment_cache: where attachments are uploaded from (None: none can be uploaded).
        attachment_places: where the attachments ztoq already uploaded or adopted are (asked
            before one is replaced or adopted).
        case_steps: qTest test case id -> the step ids of the version test logs bind to (the
            approved one), shared by the test case, test log and attachment loaders.
        step_logs: qTest test log id -> its step log ids, kept from the create answers of the
            test logs named in ``step_log_owners`` (their step logs receive attachments).
        step_log_owners: Zephyr keys of the test logs whose step logs receive attachments.
    """

    key_fields: Mapping[str, int | None] = field(default_factory=dict)
    case_ids: dict[str, int] = field(default_factory=dict)
    attachment_cache: FileCache | None = None
    attachment_places: AttachmentPlaces = field(default_factory=NoAttachmentPlaces)
    case_steps: KnownIds = field(default_factory=KnownIds)
    step_logs: KnownIds = field(default_factory=KnownIds)
    step_log_owners: Container[str] = frozenset()


LoaderFactory = Callable[[LoaderInputs], EntityLoader]
