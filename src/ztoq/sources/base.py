"""What a source adapter is: how extract reads a test management system, and how transform reads it back.

Extract drives an adapter (:class:`SourceAdapter`) and stores what it yields *as received*, one
:class:`~ztoq.store.SourceItem` per object, under entity types every source shares (``folder``,
``test_case``, ``test_execution``, ...; a source may add its own, such as Cloud's ``test_steps``).
Transform never calls the source: it reads the stored rows back through the adapter's
:class:`RecordReader`, which turns them into canonical records (:mod:`ztoq.sources.records`).

The extract order is the pipeline's (``pipeline/extract.py``): the project, the reference types,
the test cases and their parts, the plan types, the executions and their parts. An adapter says
which types it has and how to read each; batching, progress, deletions and the incremental rules
stay in the pipeline.
"""

from __future__ import annotations

from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from ztoq.sources.records import (
    Folder,
    Option,
    SourceRecords,
    TestCase,
    TestCycle,
    TestExecution,
    TestPlan,
)
from ztoq.store import ListedAttachment, SourceItem

#: What receives a download: the streamed answer (read it with ``aiter_bytes``).
Consumer = Callable[[httpx.Response], Awaitable[None]]


class StoredRows(Protocol):
    """Read access to the raw rows extract stored for one project, never more than a batch at a time.

    Every read streams: :meth:`batches` reads a type a keyset page at a time, and
    :meth:`payloads_for` reads the rows of a few keys, so a reader can join a batch of test cases
    with their steps (or executions with their step results) without holding a whole type.
    """

    def payloads(self, entity_type: str) -> Iterator[tuple[str, Any]]:
        """``(source key, payload)`` of every stored, not deleted, row of ``entity_type``, in store order."""
        ...

    def batches(self, entity_type: str) -> Iterator[Sequence[tuple[str, Any]]]:
        """The rows of :meth:`payloads`, in the same order, in batches (``performance.batch_size``)."""
        ...

    def payloads_for(self, entity_type: str, keys: Iterable[str]) -> Mapping[str, Any]:
        """Source key -> payload of the stored, not deleted, rows of ``entity_type`` among ``keys``."""
        ...


class RowsInMemory:
    """:class:`StoredRows` held in a dict: what tests (and other small row sets) hand a reader."""

    def __init__(self, rows: Mapping[str, Sequence[tuple[str, Any]]], batch_size: int = 100) -> None:
        """``rows``: entity type -> ``(source key, payload)`` in store order."""
        self.rows = rows
        self.batch_size = batch_size

    def payloads(self, entity_type: str) -> Iterator[tuple[str, Any]]:
        """The rows of ``entity_type`` in order."""
        yield from self.rows.get(entity_type, ())

    def batches(self, entity_type: str) -> Iterator[Sequence[tuple[str, Any]]]:
        """The rows of ``entity_type`` in batches of ``batch_size``."""
        rows = list(self.rows.get(entity_type, ()))
        for start in range(0, len(rows), self.batch_size):
            yield rows[start : start + self.batch_size]

    def payloads_for(self, entity_type: str, keys: Iterable[str]) -> Mapping[str, Any]:
        """The rows of ``entity_type`` among ``keys``."""
        wanted = set(keys)
        return {key: payload for key, payload in self.rows.get(entity_type, ()) if key in wanted}


class RecordReader(Protocol):
    """Decodes stored raw rows into canonical records: pure, no network, no writes.

    Every method streams: it reads the rows a batch at a time (:meth:`StoredRows.batches`) and
    joins each batch with the rows it needs (:meth:`StoredRows.payloads_for`).
    """

    def folders(self, rows: StoredRows) -> Iterator[Folder]:
        """Every folder of every kind."""
        ...

    def statuses(self, rows: StoredRows) -> Iterator[Option]:
        """Every status (of test cases, plans, cycles and executions)."""
        ...

    def priorities(self, rows: StoredRows) -> Iterator[Option]:
        """Every test case priority."""
        ...

    def environments(self, rows: StoredRows) -> Iterator[Option]:
        """Every execution environment."""
        ...

    def test_cases(self, rows: StoredRows) -> Iterator[TestCase]:
        """Every test case, with its steps or its script, in store order."""
        ...

    def test_cases_for(
        self, rows: StoredRows, keys: Iterable[str], *, with_steps: bool = True
    ) -> Iterator[TestCase]:
        """The test cases stored under ``keys`` (those that exist).

        With their steps or script, unless not ``with_steps`` (then a source that reads them
        apart leaves them out; one that stores them inline may keep them).
        """
        ...

    def test_plans(self, rows: StoredRows) -> Iterator[TestPlan]:
        """Every test plan."""
        ...

    def test_cycles(self, rows: StoredRows) -> Iterator[TestCycle]:
        """Every test cycle."""
        ...

    def test_executions(self, rows: StoredRows, *, with_steps: bool = True) -> Iterator[TestExecution]:
        """Every test execution in store order, with its step results (none when not ``with_steps``)."""
        ...


def read_records(reader: RecordReader, rows: StoredRows) -> SourceRecords:
    """Everything ``reader`` finds in ``rows``, as one :class:`SourceRecords`.

    This holds the whole project: transform streams instead; this is for small row sets (tests).
    """
    return SourceRecords(
        folders=tuple(reader.folders(rows)),
        statuses=tuple(reader.statuses(rows)),
        priorities=tuple(reader.priorities(rows)),
        environments=tuple(reader.environments(rows)),
        test_cases=tuple(reader.test_cases(rows)),
        test_plans=tuple(reader.test_plans(rows)),
        test_cycles=tuple(reader.test_cycles(rows)),
        test_executions=tuple(reader.test_executions(rows)),
    )


def _every(_: SourceItem) -> bool:
    return True


@dataclass(frozen=True)
class Parts:
    """Objects a source serves per parent object (a test case's steps, an execution's step results).

    Attributes:
        progress_name: the progress task reading them ("test_steps").
        entity_types: the stored entity types they are kept as; each part is keyed by its
            parent's source key, and every parent read has one of the first type.
        read: the parts of one stored parent (an empty list: it has none).
        applies_to: which parents have parts worth a request.
    """

    progress_name: str
    entity_types: tuple[str, ...]
    read: Callable[[SourceItem], Awaitable[list[SourceItem]]]
    applies_to: Callable[[SourceItem], bool] = _every


#: The stored source row (type, key) naming the source a project was extracted from:
#: payload ``{"name": "zephyr_server"}`` (a key of :data:`ztoq.sources.SOURCES`).
SOURCE_KIND = ("source", "kind")

#: The stored source row (type, key) saying whether the source's attachment operations answered:
#: payload ``{"available": bool, "reason": str | None, "owners": int}``.
ATTACHMENT_API_STATUS = ("attachment_api", "status")


class AttachmentsUnavailable(Exception):
    """The source's tenant does not offer the attachment operations (it answers 503 to them)."""


@dataclass(frozen=True)
class AttachmentOwner:
    """An object whose attachments a source lists.

    Attributes:
        owner_type: its canonical kind: ``test_case``, ``test_step``, ``test_plan``,
            ``test_cycle``, ``test_execution`` or ``execution_step``.
        owner_key: the source key of the test case, plan, cycle or execution (of the step's
            test case or execution for steps).
        step_index: for steps, the step's 0-based position.
        address: what the source addresses the object by in its attachment calls (a key, an
            id, a step id).
        parent_address: for steps, what the source addresses the step's test case or execution by.
        part: the stored row type the object is read in, when it is a part of its test case or
            execution (Cloud's steps: ``test_steps``, ``execution_steps``); a delta sync lists
            its files again when that row changed (None: when the object's own row did).
    """

    owner_type: str
    owner_key: str
    step_index: int | None = None
    address: str = ""
    parent_address: str = ""
    part: str | None = None


class AttachmentReader(Protocol):
    """How a source lists and downloads attachments; the pipeline decides what to read and keeps the files."""

    def owners(self, rows: StoredRows) -> Iterator[AttachmentOwner]:
        """Every object extract stored that may carry attachments (with the steps it can address)."""
        ...

    def inline_images(
        self, rows: StoredRows, owner_types: Collection[str] | None = None
    ) -> Iterator[ListedAttachment]:
        """Images embedded in the rich text of stored rows that the API credentials can fetch
        (of owners of ``owner_types`` only, when given: ``test_case``, ``test_plan``, ...).

        Each is an attachment of the entity whose text embeds it (source id
        :func:`~ztoq.sources.records.inline_image_id` of its URL); images elsewhere (SmartBear's
        CDN, behind a browser session) are left to mapping, which keeps a visible reference.
        """
        ...

    async def list(self, owner: AttachmentOwner) -> list[ListedAttachment]:
        """The attachments of one object (an empty list: it has none).

        Raises:
            AttachmentsUnavailable: the tenant does not offer attachment operations.
        """
        ...

    async def download(self, locator: str, consume: Consumer) -> None:
        """Stream the bytes of the attachment at ``locator`` (as listed) to ``consume``.

        ``consume`` is called again from the start when the download is retried.
        """
        ...


class SourceAdapter(Protocol):
    """A test management system ztoq migrates from.

    Attributes:
        reader: decodes what extract stored into canonical records.
        reference_types: stored entity types listed before anything that refers to them
            ("folder", "status", ...), in that order.
        plan_types: stored entity types that group executions ("test_plan", "test_cycle"), in order.
        test_case_parts: what is read per test case, or None when a test case comes whole.
        execution_parts: what is read per execution, or None when an execution comes whole.
        attachments: how its attachments are listed and downloaded, or None when it has none.
    """

    reader: RecordReader
    reference_types: tuple[str, ...]
    plan_types: tuple[str, ...]
    test_case_parts: Parts | None
    execution_parts: Parts | None

    @property
    def attachments(self) -> AttachmentReader | None:
        """How its attachments are listed and downloaded, or None when it has none."""
        ...

    async def read_project(self) -> SourceItem:
        """The project being migrated, as the source describes it.

        Raises:
            InputError: the project does not exist or the credentials cannot see it.
        """
        ...

    def read_all(self, entity_type: str) -> AsyncIterator[SourceItem]:
        """Every object of a listed entity type: a reference or plan type, "test_case" or "test_execution"."""
        ...

    def api_stats(self) -> dict[str, dict[str, Any]]:
        """Request counters of each API the adapter used, by API name ("zephyr")."""
        ...

    async def aclose(self) -> None:
        """Close whatever connections the adapter opened."""
        ...
