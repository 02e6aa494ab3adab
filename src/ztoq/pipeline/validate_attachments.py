"""Validation of attachments from qTest's pages, in memory bounded by a page.

qTest is read as few times as its API allows (:func:`ztoq.bench_minimum.qtest_minimum`, the
"read back: attachment" terms): the attachment search (``GET /attachments?type=T``) over the whole
project, a page of :data:`~ztoq.vendor.QTEST_MAX_PAGE_SIZE` at a time, for each object type ztoq
uploaded onto that it takes; the objects it does not take (test step logs) listed once each. For
each page, the planned attachments whose qTest id is in it are read from the store
(``planned_for_targets``); the size of each one found on the object it was uploaded to is read from
its download (the lists carry none; qTest's ``Content-Length`` answers it without reading the file),
and with ``--deep`` (or ``migration.verify_attachment_content``) its content is downloaded back,
streamed through SHA-256, never held in memory. The pure validator compares them; the qTest ids
the page holds are recorded in the store (``add_seen``, read once even if a page repeats one), and
once every page is done SQL finds the planned attachments qTest does not hold
(``planned_unseen_page``: missing).

In an overlapped run that validates, each round of attachments reads its uploaded files right
after uploading them, while extract still uses Zephyr's quota (:func:`read_uploads`), and keeps
what it read in the store by qTest id; this validation then reads only the files the running run
has not read at that id (a file uploaded again has another id), so each is read once per run. It
still reads every page: which files qTest holds, and where, is always read at the end, and the
problems are all written here.

A delta validation (:mod:`ztoq.pipeline.validate_scope`) still reads every search page (which
files qTest holds), but compares, and reads the size of, only the files in question (written to
qTest since the last validation of files began, or found wrong), and lists only the test step
logs those are on.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from contextlib import aclosing
from datetime import datetime

import httpx

from ztoq.errors import ApiError, NotFound
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load_attachments import parse_placement, placement
from ztoq.pipeline.validate_compare import BATCH_VALIDATORS
from ztoq.pipeline.validate_setup import ValidationSetup, flush, read_batch
from ztoq.pipeline.validate_snapshot import ReadBack, envelope_pages, prefetched
from ztoq.pipeline.validate_types import PHASE, AttachmentSnapshot, ExpectedProject, ValidationResult
from ztoq.qtest import QTestClient
from ztoq.qtest.attachments import SEARCHABLE_ATTACHMENT_TYPES
from ztoq.qtest.models import Attachment, parse_list
from ztoq.store.repo_validate import AttachmentRead
from ztoq.vendor import QTEST_MAX_PAGE_SIZE

#: The kind validation records the attachments it read under (``validate_seen``).
KIND = "attachment"
#: The object type the attachment search does not take: its objects are listed one by one.
STEP_LOGS = "test-step-logs"

#: An attachment as read, with the object it is on (``"test-cases/12"``).
Placed = tuple[str, Attachment]


def _search_pages(client: QTestClient, object_type: str, size: int) -> AsyncGenerator[list[Attachment], None]:
    """Every attachment of the project on objects of a type the search takes, a page at a time
    (qTest's envelope)."""
    params = {"type": object_type}
    return envelope_pages(
        client, f"{client.base}/attachments", params, size, lambda items: parse_list(Attachment, items)
    )


def search_pages(client: QTestClient, object_type: str) -> AsyncGenerator[list[Placed], None]:
    """Every attachment of the project on objects of ``object_type`` (one the search takes), with
    its object, a page of :data:`~ztoq.vendor.QTEST_MAX_PAGE_SIZE` at a time (the next page read
    while one is compared)."""

    async def placed() -> AsyncGenerator[list[Placed], None]:
        async with aclosing(_search_pages(client, object_type, QTEST_MAX_PAGE_SIZE)) as pages:
            async for page in pages:
                yield [
                    (placement(object_type, a.artifact_id), a)
                    for a in page
                    if a.id is not None and a.artifact_id is not None
                ]

    return prefetched(placed())


async def list_places(client: QTestClient, places: Sequence[str]) -> list[Placed]:
    """The attachments of each object in ``places``, one list each, all asked at once (the session
    keeps ``performance.max_workers`` in flight); an object qTest no longer has holds none."""

    async def read(place: str) -> list[Placed]:
        where = parse_placement(place)
        if where is None:
            return []
        try:
            listed = await client.list_attachments(*where)
        except NotFound:
            return []  # the object is gone: its attachments are missing
        return [(place, a) for a in listed if a.id is not None]

    found = await asyncio.gather(*(read(place) for place in places))
    return [item for items in found for item in items]


async def _sha256(
    client: QTestClient, object_type: str, object_id: int, attachment_id: int
) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0

    async def consume(response: httpx.Response) -> None:
        nonlocal digest, size
        digest, size = hashlib.sha256(), 0  # a retried download starts over
        async for chunk in response.aiter_bytes():
            digest.update(chunk)
            size += len(chunk)

    await client.download_attachment(object_type, object_id, attachment_id, consume)
    return digest.hexdigest(), size


async def _read_file(
    client: QTestClient, attachment_id: int, place: str, deep: bool
) -> tuple[int, str | None]:
    """The size of a file on the object at ``place``, and its SHA-256 when ``deep`` (else None)."""
    object_type, _, object_id = place.partition("/")
    if deep:
        sha256, size = await _sha256(client, object_type, int(object_id), attachment_id)
        return size, sha256
    return await client.attachment_size(object_type, int(object_id), attachment_id), None


async def _read_one(
    client: QTestClient,
    attachment_id: int,
    place: str,
    name: str | None,
    deep: bool,
    known: Mapping[int, AttachmentRead],
) -> AttachmentSnapshot:
    """A file as qTest holds it: what ``known`` holds of it when read at that place as deep as
    asked, else read now."""
    read = known.get(attachment_id)
    if read is not None and read.place == place and (read.sha256 is not None) == deep:
        return AttachmentSnapshot(attachment_id, name, read.size, read.sha256)
    size, sha256 = await _read_file(client, attachment_id, place, deep)
    return AttachmentSnapshot(attachment_id, name, size, sha256)


def found_as_planned(
    batches: Sequence[ExpectedProject], listed: Mapping[int, Placed]
) -> list[tuple[int, str, str | None]]:
    """(qTest id, place, name) of the planned attachments of ``batches`` found on the object they
    were uploaded to (``listed``: qTest id -> its object and itself, as a page holds it)."""
    wanted: list[tuple[int, str, str | None]] = []
    for expected in batches:
        for entity in expected.planned_of("attachment"):
            target = expected.target_id("attachment", entity.source_key)
            found = listed.get(target) if target is not None else None
            if target is not None and found is not None:
                place, attachment = found
                if place == expected.attachment_places.get(entity.source_key):
                    wanted.append((target, place, attachment.name))
    return wanted


async def read_held(
    client: QTestClient,
    batches: Sequence[ExpectedProject],
    listed: Mapping[int, Placed],
    *,
    deep: bool,
    known: Mapping[int, AttachmentRead] | None = None,
) -> dict[str, tuple[AttachmentSnapshot, ...]]:
    """What qTest holds of the planned attachments of ``batches``: object -> its attachments.

    Only a planned attachment found on the object it was uploaded to (:func:`found_as_planned`)
    is read further: its size, or its content when ``deep``, unless ``known`` (qTest id -> what a
    round read of it) already holds that. One read per uploaded file, all asked at once.
    """
    wanted = found_as_planned(batches, listed)
    snapshots = await asyncio.gather(*(_read_one(client, *item, deep, known or {}) for item in wanted))
    held: dict[str, list[AttachmentSnapshot]] = {}
    for (_, place, _), snapshot in zip(wanted, snapshots, strict=True):
        held.setdefault(place, []).append(snapshot)
    return {place: tuple(found) for place, found in held.items()}


async def read_uploads(ctx: PhaseContext, source_keys: Sequence[str], *, deep: bool) -> int:
    """Read back the files of ``source_keys`` that a round just uploaded, as the validation of
    attachments reads them (their size, or their SHA-256 when ``deep``), and keep that in the store
    by qTest id for that validation of this run; then the kill point.

    A file whose read fails is not kept: the validation reads it, and finds what it finds, as
    without the round.

    Returns:
        How many files were read and kept.
    """
    with ctx.session() as repo:
        uploads = repo.attachment_uploads(ctx.project_key, source_keys)
    client = ctx.qtest()

    async def read(source_key: str, target_id: int, place: str) -> AttachmentRead | None:
        try:
            size, sha256 = await _read_file(client, target_id, place, deep)
        except ApiError:
            return None
        return AttachmentRead(target_id, source_key, place, size, sha256)

    found = await asyncio.gather(*(read(*upload) for upload in uploads))
    kept = [item for item in found if item is not None]
    with ctx.session() as repo:
        repo.add_attachment_reads(ctx.project_key, ctx.run_id, kept)
    fault_point("overlap.attachment_read")
    return len(kept)


class AttachmentValidation:
    """The validation of attachments: qTest's pages compared as they come, then what is missing.

    Args:
        ctx: the phase context.
        setup: the validation's setup.
        read_back: what is kept of qTest (its client reads the attachments).
        result: where counts go (problems are flushed to the store).
        unseen: reports the planned entities of a type not read of a kind (missing).
        since: None: every file is compared; a delta validation's time: only the files in
            question since then are (their size read, the test step logs they are on listed).
    """

    def __init__(
        self,
        ctx: PhaseContext,
        setup: ValidationSetup,
        read_back: ReadBack,
        result: ValidationResult,
        unseen: Callable[[str, str], None],
        since: datetime | None = None,
    ) -> None:
        self.ctx = ctx
        self.since = since
        self.setup = setup
        self.read_back = read_back
        self.client = read_back.client
        self.result = result
        self.unseen = unseen
        self.project_key = setup.project_key

    async def run(self) -> None:
        """Compare every attachment qTest holds on the object types ztoq uploaded onto; the planned
        ones it does not hold are missing."""
        with self.ctx.session() as repo:
            repo.clear_seen(self.project_key, KIND)
            repo.clear_attachment_reads(self.project_key, keep_run=self.ctx.run_id)
            searched = repo.attachment_object_types(self.project_key, sorted(SEARCHABLE_ATTACHMENT_TYPES))
        for object_type in searched:
            async with aclosing(search_pages(self.client, object_type)) as pages:
                async for page in pages:
                    await self._page(page)
        size = self.ctx.config.performance.batch_size
        after: str | None = None
        while True:
            with self.ctx.session() as repo:
                places = repo.attachment_places_page(
                    self.project_key, STEP_LOGS, after=after, limit=size, changed_since=self.since
                )
            await self._page(await list_places(self.client, places))
            if len(places) < size:
                break
            after = places[-1]
        await asyncio.to_thread(self.unseen, "attachment", KIND)
        with self.ctx.session() as repo:
            repo.clear_attachment_reads(self.project_key)  # used up

    async def _page(self, page: list[Placed]) -> None:
        """Compare the planned attachments a page holds, then the kill point."""
        if not page:
            return
        listed = {int(a.id or 0): (place, a) for place, a in page}
        batches, known = await asyncio.to_thread(self._expected, listed)
        deep = self.setup.scope.deep_attachments
        held = await read_held(self.client, batches, listed, deep=deep, known=known)
        await asyncio.to_thread(self._compare, batches, held)
        fault_point("validate.read")
        self.ctx.check_cancelled()

    def _expected(
        self, listed: Mapping[int, Placed]
    ) -> tuple[list[ExpectedProject], dict[int, AttachmentRead]]:
        """Record the attachments of a page not read before; the planned ones among them, a batch
        of ``performance.batch_size`` at a time, and what this run's rounds read of them."""
        with self.ctx.session() as repo:
            new = sorted(set(listed) - repo.seen_among(self.project_key, KIND, listed))
            repo.add_seen(self.project_key, KIND, [(target_id, None) for target_id in new])
        size = self.ctx.config.performance.batch_size
        batches: list[ExpectedProject] = []
        for start in range(0, len(new), size):
            with self.ctx.session() as repo:
                records = repo.planned_for_targets(self.project_key, "attachment", new[start : start + size])
                if self.since is not None and records:  # a delta validation: what is in question
                    keys = [record.source_key for record in records]
                    unchanged = repo.unchanged_among(self.project_key, "attachment", keys, self.since)
                    records = [record for record in records if record.source_key not in unchanged]
                    repo.clear_problems(
                        self.project_key,
                        PHASE,
                        entity_type="attachment",
                        keys=[r.source_key for r in records],
                    )
                if records:
                    batches.append(read_batch(repo, self.setup, records))
        wanted = [target_id for target_id, _, _ in found_as_planned(batches, listed)]
        if not wanted:
            return batches, {}
        with self.ctx.session() as repo:
            return batches, repo.attachment_reads_among(self.project_key, self.ctx.run_id, wanted)

    def _compare(
        self, batches: Sequence[ExpectedProject], held: Mapping[str, tuple[AttachmentSnapshot, ...]]
    ) -> None:
        snapshot = self.read_back.snapshot(held)
        for expected in batches:
            BATCH_VALIDATORS["attachment"](expected, snapshot, self.result)
            flush(self.ctx, self.result)
