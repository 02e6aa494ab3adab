"""What qTest holds, read back into plain data for validation (I/O only, no decisions).

:class:`ReadBack` reads the trees of the migrated part of the qTest project, each with one request
(the root module with its descendants, the releases, the test-cycle trees at the project's top and
under each release), and keeps them while the types that need them are validated. Test cases (with
steps and properties) and test runs are read a page of the whole project at a time
(:func:`test_case_pages`, :func:`test_run_pages`), test logs a batch of runs at a time
(:func:`read_run_logs`): none of them is kept once its page is compared. The Zephyr keys the
entities carry go to the caller (``record``), which keeps them in the store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ztoq.errors import FatalApiError, NotFound
from ztoq.mapping.text import find_source_key
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.progress import ProgressReporter
from ztoq.pipeline.validate_types import (
    AttachmentSnapshot,
    CaseSnapshot,
    LogSnapshot,
    QTestSnapshot,
    RunSnapshot,
    SnapshotScope,
    StepSnapshot,
)
from ztoq.qtest import QTestClient
from ztoq.qtest.models import Module, Property, TestCase, TestCycle, TestLog, TestRun, parse
from ztoq.vendor import QTEST_MAX_PAGE_SIZE, QTEST_PARENT_RELEASE, QTEST_PARENT_ROOT

#: A qTest kind's entities as read: (qTest id, the Zephyr key it carries or None), recorded in
#: the store by the caller (``record``), never kept here.
Carried = list[tuple[int, str | None]]
#: Where :class:`ReadBack` hands what it read of a kind: the kind and its entities.
Record = Callable[[str, Carried], None]

T = TypeVar("T")


def key_in(properties: Iterable[Property] | None, field_id: int | None) -> str | None:
    """The value of the field ``field_id`` among ``properties`` (None: no such field or no value)."""
    if field_id is None:
        return None
    return next((p.field_value for p in properties or () if p.field_id == field_id and p.field_value), None)


def _module_paths(root: Module, root_name: str, carried: Carried) -> dict[int, str]:
    """qTest module id -> path ("ROOT/Folder/Sub") over a module read with its descendants."""
    paths: dict[int, str] = {}

    def walk(module: Module, prefix: str) -> None:
        path = f"{prefix}/{module.name}" if prefix else str(module.name or root_name)
        if module.id is not None:
            paths[module.id] = path
            carried.append((module.id, find_source_key(module.description)))
        for child in module.children or ():
            walk(child, path)

    walk(root, "")
    return paths


def case_snapshot(case: TestCase, case_id: int) -> CaseSnapshot:
    """The part of a test case read with its steps and properties that validation compares."""
    steps = sorted(case.test_steps or [], key=lambda s: s.order or 0)
    return CaseSnapshot(
        id=case_id,
        name=case.name,
        parent_id=case.parent_id,
        description=case.description,
        steps=tuple(StepSnapshot(s.description, s.expected, s.called_test_case_id) for s in steps),
        properties={p.field_id: p.field_value for p in case.properties or ()},
    )


def run_snapshot(run: TestRun, run_id: int) -> RunSnapshot:
    """Where a test run is and which test case it runs (by id, or inside its expanded test case)."""
    case_id = (
        run.test_case_id if run.test_case_id is not None else (run.test_case.id if run.test_case else None)
    )
    return RunSnapshot(run_id, run.parent_id, case_id)


def log_snapshot(log: TestLog) -> LogSnapshot:
    """A test log's status, end date and step results (in step order)."""
    steps = sorted(log.test_step_logs or [], key=lambda s: s.order or 0)
    return LogSnapshot(
        id=log.id,
        status_id=log.status.id if log.status else None,
        exe_end_date=log.exe_end_date,
        step_status_ids=tuple(s.status.id if s.status else None for s in steps),
    )


@dataclass(frozen=True, slots=True)
class ListedRun:
    """A test run as a listing page holds it: what validation compares, where it is, its key."""

    snapshot: RunSnapshot
    parent_type: str | None
    key: str | None


async def prefetched(pages: AsyncIterator[T]) -> AsyncGenerator[T, None]:
    """``pages``, the next one read while the caller works on the one it was handed."""
    pending: asyncio.Future[T] = asyncio.ensure_future(anext(pages))
    try:
        while True:
            try:
                page = await pending
            except StopAsyncIteration:
                return
            pending = asyncio.ensure_future(anext(pages))
            yield page
    finally:
        pending.cancel()


def stop_repeated_page(path: str, page: int, first: Any, previous_first: Any) -> None:
    """Stop a server that answers a page with the previous one again (it would never end)."""
    if first is not None and first == previous_first:
        raise FatalApiError(
            f"qTest answered page {page} of {path} with page {page - 1} again; stopping.", api="qTest"
        )


async def _case_pages(client: QTestClient, size: int) -> AsyncGenerator[list[CaseSnapshot], None]:
    """Every test case of the project (steps and properties expanded), a page at a time.

    Each page is turned into snapshots one test case at a time and the answer let go: a page of
    999 test cases is some 4 MiB of JSON, ten times that as models, a few hundred KiB as snapshots.
    The list is a plain array: a page shorter than ``size`` is the last.
    """
    path = f"{client.base}/test-cases"
    page, previous_first = 1, None
    while True:
        params = {"page": page, "size": size, "expandSteps": True, "expandProps": True}
        answer = await client.session.get_json(path, params)
        items = [item for item in answer if isinstance(item, dict)] if isinstance(answer, list) else []
        del answer
        stop_repeated_page(path, page, items[0].get("id") if items else None, previous_first)
        cases = [
            case_snapshot(case, case.id) for item in items if (case := parse(TestCase, item)).id is not None
        ]
        count, previous_first = len(items), items[0].get("id") if items else None
        del items
        yield cases
        if count < size:
            return
        page += 1


async def envelope_pages(
    client: QTestClient,
    path: str,
    params: Mapping[str, Any],
    size: int,
    convert: Callable[[list[dict[str, Any]]], list[T]],
) -> AsyncGenerator[list[T], None]:
    """Every page of a qTest listing that answers its envelope (``items``, ``page_size``,
    ``total``), each page's items turned by ``convert`` and the answer let go.

    The last page is the one short of the page size it echoes, or the one that reaches its
    ``total``.
    """
    page, previous_first = 1, None
    while True:
        answer = await client.session.get_json(path, {**params, "page": page, "pageSize": size})
        envelope = (
            answer if isinstance(answer, dict) else {"items": answer if isinstance(answer, list) else []}
        )
        del answer
        items = [item for item in envelope.get("items") or [] if isinstance(item, dict)]
        first = items[0].get("id") if items else None
        stop_repeated_page(path, page, first, previous_first)
        echoed, total, count = envelope.get("page_size"), envelope.get("total"), len(items)
        converted = convert(items)
        del envelope, items
        yield converted
        served = echoed if isinstance(echoed, int) and echoed > 0 else size
        if not count or count < served or (isinstance(total, int) and page * served >= total):
            return
        previous_first = first
        page += 1


def _run_pages(
    client: QTestClient, size: int, key_field: int | None
) -> AsyncGenerator[list[ListedRun], None]:
    """Every test run of the project (under the root and every container below it), a page at a
    time, each turned into what validation needs."""

    def listed(items: list[dict[str, Any]]) -> list[ListedRun]:
        return [
            ListedRun(run_snapshot(run, run.id), run.parent_type, key_in(run.properties, key_field))
            for item in items
            if (run := parse(TestRun, item)).id is not None
        ]

    params = {"parentType": QTEST_PARENT_ROOT, "expand": "descendants"}
    return envelope_pages(client, f"{client.base}/test-runs", params, size, listed)


def test_case_pages(client: QTestClient) -> AsyncGenerator[list[CaseSnapshot], None]:
    """Every test case of the project with its steps and properties, a page of
    :data:`~ztoq.vendor.QTEST_MAX_PAGE_SIZE` at a time (the next one read while one is compared)."""
    return prefetched(_case_pages(client, QTEST_MAX_PAGE_SIZE))


def test_run_pages(client: QTestClient, key_field: int | None) -> AsyncGenerator[list[ListedRun], None]:
    """Every test run of the project, a page of :data:`~ztoq.vendor.QTEST_MAX_PAGE_SIZE` at a time
    (the next one read while one is compared), with the Zephyr key each carries in ``key_field``."""
    return prefetched(_run_pages(client, QTEST_MAX_PAGE_SIZE, key_field))


async def read_run_logs(client: QTestClient, run_ids: Iterable[int]) -> dict[int, list[TestLog]]:
    """The test logs of each run (one request a run, all at once: the session keeps
    ``performance.max_workers`` in flight); a run qTest no longer has holds none."""

    async def read(run_id: int) -> list[TestLog]:
        try:
            return await client.list_test_logs(run_id, page_size=QTEST_MAX_PAGE_SIZE)
        except NotFound:
            return []

    ordered = list(dict.fromkeys(run_ids))
    found = await asyncio.gather(*(read(run_id) for run_id in ordered))
    return dict(zip(ordered, found, strict=True))


async def _read_modules(client: QTestClient, scope: SnapshotScope, carried: Carried) -> dict[int, str]:
    if scope.root_module_id is None:
        return {}
    try:
        root = await client.get_module(scope.root_module_id, expand_descendants=True)
    except NotFound:
        return {}
    return _module_paths(root, scope.root_module_name, carried)


async def _read_cycle_parents(
    client: QTestClient, release_ids: Iterable[int], carried: Carried
) -> dict[int, int | None]:
    """Every test cycle with its parent, read from the tops of the trees: the project's, and that
    of each release in ``release_ids`` (those the plan puts cycles under, which qTest has)."""
    parents: dict[int, int | None] = {}

    def walk(cycle: TestCycle, parent_id: int | None) -> None:
        if cycle.id is None:
            return
        parents[cycle.id] = parent_id
        carried.append((cycle.id, find_source_key(cycle.description)))
        for child in cycle.test_cycles or ():
            walk(child, cycle.id)

    for top in await client.list_test_cycles(None, QTEST_PARENT_ROOT, expand="descendants"):
        walk(top, None)
    for release_id in release_ids:
        for top in await client.list_test_cycles(release_id, QTEST_PARENT_RELEASE, expand="descendants"):
            walk(top, release_id)
    return parents


class ReadBack:
    """The trees of the migrated part of the qTest project, read as validation needs them.

    The module tree, the releases and the test cycle trees come whole from one request each (a
    tree per release), so they are kept (:data:`PARTS`) until :meth:`forget`; the Zephyr keys their
    entities carry go to ``record`` as they are read. Test cases, runs and logs are read a page at
    a time by the caller (:func:`test_case_pages`, :func:`test_run_pages`, :func:`read_run_logs`).
    :meth:`snapshot` is what is kept, as plain data.
    """

    def __init__(
        self, client: QTestClient, scope: SnapshotScope, reporter: ProgressReporter, record: Record
    ) -> None:
        self.client = client
        self.scope = scope
        self.reporter = reporter
        self.record = record
        self.module_paths: dict[int, str] | None = None
        self.release_ids: frozenset[int] | None = None
        self.cycle_parents: dict[int, int | None] | None = None

    async def read(self, part: str) -> None:
        """Read ``part`` (one of :data:`PARTS`) and what it needs, unless it was read already.

        Raises:
            ApiError: a request failed (a missing root module is an empty tree, not an error).
        """
        if part == "module_paths" and self.module_paths is None:
            carried: Carried = []
            self.module_paths = await _read_modules(self.client, self.scope, carried)
            self.record("module", carried)
            fault_point("validate.read")
        if part in ("release_ids", "cycle_parents") and self.release_ids is None:
            self.release_ids = await self._read_releases()
            fault_point("validate.read")
        if part == "cycle_parents" and self.cycle_parents is None:
            assert self.release_ids is not None
            carried = []
            releases = sorted(self.release_ids & self.scope.cycle_release_ids)
            self.cycle_parents = await _read_cycle_parents(self.client, releases, carried)
            self.record("test-cycle", carried)
            fault_point("validate.read")

    async def _read_releases(self) -> frozenset[int]:
        release_field = self.scope.key_fields.get("releases")
        releases: set[int] = set()
        carried: Carried = []
        for release in await self.client.list_releases(include_closed=True):
            if release.id is not None:
                releases.add(release.id)
                key = key_in(release.properties, release_field) or find_source_key(release.description)
                carried.append((release.id, key))
        self.record("release", carried)
        return frozenset(releases)

    def forget(self, part: str) -> None:
        """Let go of a part; it is read again if asked for."""
        setattr(self, part, None)

    def snapshot(
        self, attachments: Mapping[str, tuple[AttachmentSnapshot, ...]] | None = None
    ) -> QTestSnapshot:
        """What is kept (parts not read are empty), with ``attachments`` read for a page."""
        return QTestSnapshot(
            module_paths=self.module_paths or {},
            release_ids=self.release_ids or frozenset(),
            cycle_parents=self.cycle_parents or {},
            attachments=attachments or {},
        )


#: What the validate phase keeps of qTest, by :class:`ReadBack` attribute.
PARTS = ("module_paths", "release_ids", "cycle_parents")
