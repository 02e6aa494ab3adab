"""Extract, attachments: list every object's files, then download them to the local cache.

The ADR's "download all attachments to a local cache": each file is streamed to a temporary file
and renamed to its SHA-256 when complete (:class:`~ztoq.store.files.FileCache`), so a killed
download never leaves a half file that looks whole, a file attached to several objects is kept
once, and no file is ever held in memory. The ``attachments`` table records what the source
holds, where each file is in the cache, and why a download failed; a failed download is
recorded with its reason and the run goes on (the report lists it; the next run tries again).

The files a batch of lists names are downloaded as soon as the batch is stored: the workers
that list take a queued download before the next list (:class:`Downloads`), so the files arrive
while the other objects are still being listed, and each file this run listed is told as it is
cached (:mod:`ztoq.pipeline.overlap` uploads them to qTest meanwhile). What is left (files of
objects this run did not list, downloads of an earlier run) is downloaded once listing is done.

A tenant without the attachment operations (Zephyr Cloud answers 503 to every list while the
feature rolls out) is detected on the first list: said once, recorded for the dry run and the
report, and everything else is migrated.

A delta sync lists only the attachments of the objects it found new or changed (a test case,
its steps when they changed, an execution, its step results when they changed, ...): a file
added to an object that did not change otherwise waits for the next full sync, which lists every
object's and marks what is gone as deleted. (A test case renamed in Zephyr Cloud has its steps
read again; their files are listed again only if the steps changed: a step is listed one request
at a time.)
"""

from __future__ import annotations

import asyncio
import errno
import logging
from collections.abc import Callable, Collection, Generator, Iterable, Iterator
from dataclasses import dataclass

import httpx

from ztoq.errors import ApiError, InputError
from ztoq.pipeline.context import PhaseContext, run_bounded
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load_types import KeySet, PackedKeys
from ztoq.pipeline.source_rows import StoreRows
from ztoq.report.attachments import unavailable_sentence
from ztoq.sources.base import (
    ATTACHMENT_API_STATUS,
    AttachmentOwner,
    AttachmentReader,
    AttachmentsUnavailable,
)
from ztoq.store import AttachmentFile, EntityKey, FileCache, ListedAttachment, SourceItem

log = logging.getLogger(__name__)

PHASE = "extract"

#: Reserve kept free on the cache's disk beyond what the pending files need.
DISK_RESERVE = 64 * 1024 * 1024

#: The stored entity type whose row an attachment owner is (steps are parts of their object).
OWNER_ROWS = {"test_step": "test_case", "execution_step": "test_execution"}


def owner_row(owner: AttachmentOwner) -> EntityKey:
    """The (entity type, key) of the stored row an attachment owner is read in: its part row (a
    Cloud step: its test case's or execution's steps), else its object's row."""
    return owner.part or OWNER_ROWS.get(owner.owner_type, owner.owner_type), owner.owner_key


@dataclass
class Listing:
    """What listing every owner's attachments found.

    Attributes:
        unavailable: why the tenant has no attachment operations, or None when it has them.
        failed: owners whose list failed (their attachments are kept as they were).
        found: attachments listed.
        owners: objects whose attachments were (to be) listed.
    """

    unavailable: str | None = None
    failed: int = 0
    found: int = 0
    owners: int = 0


#: Called with the key of each file downloaded to the cache that this run listed.
FileCached = Callable[[str], None]


class Downloads:
    """Files to download to the cache: queued as their lists are stored, each tried once a run.

    The workers that list take a queued download before the next list (:func:`_list_all`), so
    downloading a file never waits for every list.
    """

    def __init__(self, ctx: PhaseContext, reader: AttachmentReader, cached: FileCached | None = None) -> None:
        self.ctx = ctx
        self.reader = reader
        self.cache = ctx.attachment_cache()
        self.cached = cached
        #: The keys of the queued files: the rows are read back from the store a batch at a time
        #: when taken, so a long queue (the executions' files, listed first and downloaded with
        #: the next lists) holds packed keys (spilled to a file when long), not rows.
        self.queue = PackedKeys(spill_to=self.cache)
        #: The known bytes of the queued files (their sizes as listed).
        self.queued_bytes = 0
        #: Keys queued in this run (downloaded, or failed: the next run tries again; two keys
        #: sharing a digest leave the second file to the next run, as a failed download is).
        self.attempted = KeySet()
        removed = self.cache.sweep_partial()
        if removed:
            log.info("removed %d partial download(s) left by an interrupted run", removed)

    def add(self, rows: Iterable[AttachmentFile]) -> None:
        """Queue the files of ``rows`` not in the cache (nor queued before); checks the disk first.

        Raises:
            InputError: the queued files need more than the cache's disk has free.
        """
        work = [row for row in rows if row.source_key not in self.attempted and not self.has(row)]
        if not work:
            return
        needed = self.queued_bytes + sum(row.size or 0 for row in work)
        _check_space(self.cache, len(self.queue) + len(work), needed)
        self.queued_bytes = needed
        for row in work:
            self.attempted.add(row.source_key)
        self.queue.extend(row.source_key for row in work)
        self.ctx.reporter.add_to_total(PHASE, "attachment_files", len(work))

    def has(self, row: AttachmentFile) -> bool:
        """Whether the file of ``row`` is in the cache as recorded."""
        return row.state == "cached" and row.sha256 is not None and self.cache.has(row.sha256)

    def take(self) -> Iterator[AttachmentFile]:
        """The queued files, each taken when a worker asks for one (read a batch at a time)."""
        size = self.ctx.config.performance.batch_size
        while self.queue:
            keys = self.queue.take(size)
            with self.ctx.session() as repo:
                rows = repo.attachments_for(self.ctx.project_key, keys)
            # A row listed again since it was queued may say another size: never below nothing.
            self.queued_bytes = max(0, self.queued_bytes - sum(row.size or 0 for row in rows))
            if not self.queue:
                self.queued_bytes = 0
            yield from rows

    async def download(self, row: AttachmentFile) -> None:
        """Download one file (a failure is recorded on its row); tell it when this run listed it."""
        stored = await _download_one(self.ctx, self.reader, self.cache, row)
        if stored and self.cached is not None and row.last_seen_run_id == self.ctx.run_id:
            self.cached(row.source_key)

    async def run(self) -> None:
        """Download every queued file."""
        await run_bounded(self.take(), self.download, self.ctx.config.performance.max_workers, self.ctx)


async def _list_all(
    ctx: PhaseContext,
    reader: AttachmentReader,
    owners: Iterable[AttachmentOwner],
    result: Listing,
    downloads: Downloads,
    *,
    download: bool = True,
) -> None:
    """List every owner's attachments into the store, a batch at a time (``result`` counts the
    owners and what was found), and queue the files each stored batch names; the same workers
    download them (unless not ``download``: they wait for the next listing or
    :meth:`Downloads.run`). ``owners`` is read as the workers take them (it may stream from the
    store), and the progress total grows by a batch at a time."""
    pending: list[ListedAttachment] = []
    size = ctx.config.performance.batch_size
    listed = 0  # lists since the last batch was stored: a batch is stored after ``size`` lists or files

    def listed_since() -> list[ListedAttachment]:
        """What was listed since the last batch was stored (no longer pending)."""
        nonlocal listed
        listed = 0
        batch = pending[:]
        pending.clear()
        return batch

    def store(batch: list[ListedAttachment]) -> list[AttachmentFile]:
        """Store a batch of lists in one commit; its rows as stored."""
        if not batch:
            return []
        with ctx.session() as repo:
            repo.upsert_attachments(ctx.project_key, batch, run_id=ctx.run_id)
            return repo.attachments_for(ctx.project_key, [item.source_key for item in batch])

    async def fetch(owner: AttachmentOwner) -> None:
        nonlocal listed
        if result.unavailable is not None:
            return
        try:
            found = await reader.list(owner)
        except AttachmentsUnavailable as exc:
            result.unavailable = result.unavailable or str(exc)
            return
        except ApiError as exc:
            # One object's list failing never stops the run: its files stay as the store has them.
            result.failed += 1
            log.warning("listing the attachments of %s %s failed: %s", owner.owner_type, owner.owner_key, exc)
            ctx.reporter.advance(PHASE, "attachment_lists", failed=1)
            return
        result.found += len(found)
        pending.extend(found)
        listed += 1
        if len(pending) >= size or listed >= size:
            # The commit waits on the store's disk: off the event loop, which keeps listing.
            downloads.add(await asyncio.to_thread(store, listed_since()))
        ctx.reporter.advance(PHASE, "attachment_lists")

    async def work(job: AttachmentOwner | AttachmentFile) -> None:
        await (downloads.download(job) if isinstance(job, AttachmentFile) else fetch(job))

    def jobs() -> Generator[AttachmentOwner | AttachmentFile]:
        counted = 0
        for owner in owners:
            result.owners += 1
            counted += 1
            if counted == size:
                ctx.reporter.add_to_total(PHASE, "attachment_lists", counted)
                counted = 0
            if download:
                yield from downloads.take()
            yield owner
        ctx.reporter.add_to_total(PHASE, "attachment_lists", counted)

    taken = jobs()
    try:
        await run_bounded(taken, work, ctx.config.performance.max_workers, ctx)
    finally:
        taken.close()
        if isinstance(owners, Generator):
            owners.close()  # its store session ends now, not when it is collected
        rows = store(listed_since())
    downloads.add(rows)


async def _download_one(
    ctx: PhaseContext, reader: AttachmentReader, cache: FileCache, row: AttachmentFile
) -> bool:
    """Download one file to the cache and record it; False when the download failed (recorded)."""
    content_type: list[str] = []
    try:
        with cache.writer() as writer:

            async def consume(response: httpx.Response) -> None:
                writer.reset()  # a retried download starts over
                content_type[:] = [response.headers.get("content-type", "")]
                async for chunk in response.aiter_bytes():  # as the network delivers them
                    writer.write(chunk)

            await reader.download(row.locator, consume)
            # fsync, rename (or drop a copy the cache holds): disk waits kept off the event loop.
            sha256, size = await asyncio.to_thread(writer.commit)
    except ApiError as exc:
        with ctx.session() as repo:
            repo.record_attachment_failed(ctx.project_key, row.source_key, f"The download failed: {exc}")
        ctx.reporter.advance(PHASE, "attachment_files", failed=1)
        return False
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise InputError(
                f"The disk of the attachment cache ({cache.root}) is full; free space or set "
                "migration.attachments_dir to a larger disk, then run again (downloaded files are kept)."
            ) from exc
        raise
    declared = (content_type[0].split(";")[0].strip() if content_type else "") or None
    await asyncio.to_thread(
        _record_cached,
        ctx,
        row.source_key,
        sha256,
        size,
        row.content_type or declared or "application/octet-stream",
    )
    ctx.reporter.advance(PHASE, "attachment_files")
    return True


def _record_cached(ctx: PhaseContext, source_key: str, sha256: str, size: int, content_type: str) -> None:
    """Record a downloaded file as cached: one commit, run in a worker thread (off the event loop)."""
    fault_point("extract.attachment_downloaded")
    with ctx.session() as repo:
        repo.record_attachment_cached(
            ctx.project_key, source_key, sha256=sha256, size=size, content_type=content_type
        )


def _check_disk(ctx: PhaseContext, cache: FileCache) -> None:
    """Every file the store says is still to download (known sizes) fits on the cache's disk."""
    with ctx.session() as repo:
        count, needed = repo.attachment_bytes_pending(ctx.project_key)
    _check_space(cache, count, needed)


def _check_space(cache: FileCache, count: int, needed: int) -> None:
    free = cache.free_bytes()
    if needed and needed + DISK_RESERVE > free:
        raise InputError(
            f"The {count} attachment(s) still to download need {_mb(needed)} but only {_mb(free)} "
            f"are free at {cache.root}; free space or set migration.attachments_dir to a larger disk."
        )


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


async def download_attachments(
    ctx: PhaseContext, reader: AttachmentReader, downloads: Downloads | None = None
) -> None:
    """Download every listed file that is not in the cache yet (or failed before, or went missing),
    except those ``downloads`` already took in this run."""
    downloads = downloads or Downloads(ctx, reader)
    _check_disk(ctx, downloads.cache)
    size = ctx.config.performance.batch_size
    with ctx.session() as repo:
        # Queued a batch at a time: after a kill during extract, every file may be left to download.
        rows: list[AttachmentFile] = []
        for row in repo.iter_attachments(ctx.project_key):
            if row.source_key not in downloads.attempted and not downloads.has(row):
                rows.append(row)
            if len(rows) >= size:
                downloads.add(rows)
                rows = []
    downloads.add(rows)
    await downloads.run()
    ctx.reporter.finish(PHASE, "attachment_files")


async def extract_inline_images(
    ctx: PhaseContext, owner_types: Collection[str], cached: FileCached | None = None
) -> None:
    """The images embedded in the rich text of the stored owners of ``owner_types``, listed and
    downloaded (no list requests: their addresses are in the text). Transform rewrites the
    references to the downloaded ones. ``cached`` is told each file this run listed, once cached."""
    if not ctx.config.migration.include_attachments:
        return
    reader = ctx.source().attachments
    if reader is None:
        return
    with ctx.session() as repo:
        inline = list(reader.inline_images(StoreRows(repo, ctx.project_key), owner_types))
        repo.upsert_attachments(ctx.project_key, inline, run_id=ctx.run_id)
    if inline:
        await download_attachments(ctx, reader, Downloads(ctx, reader, cached))


def _stored_owners(
    ctx: PhaseContext,
    reader: AttachmentReader,
    changed: set[EntityKey] | None,
    listed: set[tuple[str, str]] | None,
    *,
    executions: bool,
) -> Iterator[AttachmentOwner]:
    """The stored owners of one pass (the executions' and their steps', or the others), read from
    the store as the workers take them, never all at once; of a delta sync, only those of
    ``changed`` objects, each added to ``listed``. The session stays open while they are read."""
    with ctx.session() as repo:
        for owner in reader.owners(StoreRows(repo, ctx.project_key)):
            if (owner.owner_type in EXECUTION_OWNERS) != executions:
                continue
            if changed is not None:
                if owner_row(owner) not in changed:
                    continue
                assert listed is not None
                listed.add((owner.owner_type, owner.owner_key))
            yield owner


#: Owners whose attachments are listed first: the test log loader needs to know which of its logs
#: have files on their steps (:func:`ztoq.pipeline.load_attachments.step_log_owners`).
EXECUTION_OWNERS = frozenset({"test_execution", "execution_step"})


async def extract_attachments(
    ctx: PhaseContext,
    changed: set[EntityKey] | None = None,
    executions_listed: Callable[[], None] | None = None,
    cached: FileCached | None = None,
) -> None:
    """Every attachment of the stored objects, listed and downloaded (``migration.include_attachments``).

    Args:
        ctx: the phase context.
        changed: list only the attachments of these objects (new or changed in a delta sync);
            None lists every object's and marks what was not seen as deleted.
        executions_listed: called once the executions' and their steps' attachments are listed
            (they are listed first), or when there is nothing to list.
        cached: told the key of each file this run listed, once it is in the cache.
    """
    done = executions_listed or (lambda: None)
    if not ctx.config.migration.include_attachments:
        done()
        return
    reader = ctx.source().attachments
    if reader is None:
        done()
        return
    listing, downloads = Listing(), Downloads(ctx, reader, cached)
    listed: set[tuple[str, str]] | None = None if changed is None else set()
    # Their files are downloaded with the next lists: the test logs they go on wait for this listing.
    first = _stored_owners(ctx, reader, changed, listed, executions=True)
    await _list_all(ctx, reader, first, listing, downloads, download=False)
    done()
    rest = _stored_owners(ctx, reader, changed, listed, executions=False)
    await _list_all(ctx, reader, rest, listing, downloads)
    ctx.reporter.finish(PHASE, "attachment_lists")
    await downloads.run()  # what the last lists found
    if changed is not None and not listing.owners:
        # Nothing changed that can carry files: nothing was asked (the stored status stays).
        await download_attachments(ctx, reader, downloads)
        return
    reason = listing.unavailable
    status = {"available": reason is None, "reason": reason, "owners": listing.owners}
    with ctx.session() as repo:
        repo.upsert_source(ctx.project_key, [SourceItem(*ATTACHMENT_API_STATUS, status)], run_id=ctx.run_id)
        if reason is None and not listing.failed:
            repo.mark_unseen_attachments_deleted(ctx.project_key, since_run_id=ctx.run_id, owner_keys=listed)
    if reason is not None:
        ctx.reporter.message(unavailable_sentence(reason))
        if downloads.attempted:
            ctx.reporter.finish(PHASE, "attachment_files")
        return
    if listing.failed:
        ctx.reporter.message(
            f"extract: the attachment lists of {listing.failed} object(s) failed (see the log); their "
            "files are kept as the last run found them. Run again to list them."
        )
    elif listing.owners and not listing.found and changed is None:
        ctx.reporter.message(
            f"extract: Zephyr answered 404 to all {listing.owners} attachment lists: the project has no "
            "attachments, or this tenant does not offer the attachment operations yet."
        )
    await download_attachments(ctx, reader, downloads)
