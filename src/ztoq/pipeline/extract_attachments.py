"""Extract, attachments: list every object's files, then download them to the local cache.

The ADR's "download all attachments to a local cache": each file is streamed to a temporary file
and renamed to its SHA-256 when complete (:class:`~ztoq.store.files.FileCache`), so a killed
download never leaves a half file that looks whole, a file attached to several objects is kept
once, and no file is ever held in memory. The ``attachments`` table records what the source
holds, where each file is in the cache, and why a download failed; a failed download is
recorded with its reason and the run goes on (the report lists it; the next run tries again).

A tenant without the attachment operations (Zephyr Cloud answers 503 to every list while the
feature rolls out) is detected on the first list: said once, recorded for the dry run and the
report, and everything else is migrated.

A delta sync lists only the attachments of the objects it found new or changed (a test case
and its steps, an execution and its step results, ...): a file added to an object that did not
change otherwise waits for the next full sync, which lists every object's and marks what is
gone as deleted.
"""

from __future__ import annotations

import errno
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import httpx

from ztoq.errors import ApiError, InputError
from ztoq.pipeline.context import PhaseContext, run_bounded
from ztoq.pipeline.faults import fault_point
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
    """The (entity type, key) of the stored row an attachment owner belongs to."""
    return OWNER_ROWS.get(owner.owner_type, owner.owner_type), owner.owner_key


@dataclass
class Listing:
    """What listing every owner's attachments found.

    Attributes:
        unavailable: why the tenant has no attachment operations, or None when it has them.
        failed: owners whose list failed (their attachments are kept as they were).
        found: attachments listed.
    """

    unavailable: str | None = None
    failed: int = 0
    found: int = 0


async def _list_all(
    ctx: PhaseContext, reader: AttachmentReader, owners: Sequence[AttachmentOwner], result: Listing
) -> None:
    """List every owner's attachments into the store, in batches (``result`` counts what was found)."""
    pending: list[ListedAttachment] = []
    size = ctx.config.performance.batch_size

    def flush() -> None:
        if pending:
            with ctx.session() as repo:
                repo.upsert_attachments(ctx.project_key, pending, run_id=ctx.run_id)
            pending.clear()

    ctx.reporter.add_to_total(PHASE, "attachment_lists", len(owners))

    async def fetch(owner: AttachmentOwner) -> None:
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
        if len(pending) >= size:
            flush()
        ctx.reporter.advance(PHASE, "attachment_lists")

    try:
        await run_bounded(owners, fetch, ctx.config.performance.max_workers, ctx)
    finally:
        flush()


async def _download_one(
    ctx: PhaseContext, reader: AttachmentReader, cache: FileCache, row: AttachmentFile
) -> None:
    content_type: list[str] = []
    try:
        with cache.writer() as writer:

            async def consume(response: httpx.Response) -> None:
                writer.reset()  # a retried download starts over
                content_type[:] = [response.headers.get("content-type", "")]
                async for chunk in response.aiter_bytes():  # as the network delivers them
                    writer.write(chunk)

            await reader.download(row.locator, consume)
            sha256, size = writer.commit()
    except ApiError as exc:
        with ctx.session() as repo:
            repo.record_attachment_failed(ctx.project_key, row.source_key, f"The download failed: {exc}")
        ctx.reporter.advance(PHASE, "attachment_files", failed=1)
        return
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise InputError(
                f"The disk of the attachment cache ({cache.root}) is full; free space or set "
                "migration.attachments_dir to a larger disk, then run again (downloaded files are kept)."
            ) from exc
        raise
    fault_point("extract.attachment_downloaded")
    declared = (content_type[0].split(";")[0].strip() if content_type else "") or None
    with ctx.session() as repo:
        repo.record_attachment_cached(
            ctx.project_key,
            row.source_key,
            sha256=sha256,
            size=size,
            content_type=row.content_type or declared or "application/octet-stream",
        )
    ctx.reporter.advance(PHASE, "attachment_files")


def _check_disk(ctx: PhaseContext, cache: FileCache) -> None:
    with ctx.session() as repo:
        count, needed = repo.attachment_bytes_pending(ctx.project_key)
    free = cache.free_bytes()
    if needed and needed + DISK_RESERVE > free:
        raise InputError(
            f"The {count} attachment(s) still to download need {_mb(needed)} but only {_mb(free)} "
            f"are free at {cache.root}; free space or set migration.attachments_dir to a larger disk."
        )


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


async def download_attachments(ctx: PhaseContext, reader: AttachmentReader) -> None:
    """Download every listed file that is not in the cache yet (or failed before, or went missing)."""
    cache = ctx.attachment_cache()
    removed = cache.sweep_partial()
    if removed:
        log.info("removed %d partial download(s) left by an interrupted run", removed)
    _check_disk(ctx, cache)
    with ctx.session() as repo:
        work = [
            row
            for row in repo.iter_attachments(ctx.project_key)
            if row.state != "cached" or row.sha256 is None or not cache.has(row.sha256)
        ]
    ctx.reporter.add_to_total(PHASE, "attachment_files", len(work))

    async def fetch(row: AttachmentFile) -> None:
        await _download_one(ctx, reader, cache, row)

    await run_bounded(work, fetch, ctx.config.performance.max_workers, ctx)
    ctx.reporter.finish(PHASE, "attachment_files")


async def extract_inline_images(ctx: PhaseContext, owner_types: Collection[str]) -> None:
    """The images embedded in the rich text of the stored owners of ``owner_types``, listed and
    downloaded (no list requests: their addresses are in the text). Transform rewrites the
    references to the downloaded ones."""
    if not ctx.config.migration.include_attachments:
        return
    reader = ctx.source().attachments
    if reader is None:
        return
    with ctx.session() as repo:
        inline = list(reader.inline_images(StoreRows(repo, ctx.project_key), owner_types))
        repo.upsert_attachments(ctx.project_key, inline, run_id=ctx.run_id)
    if inline:
        await download_attachments(ctx, reader)


#: Owners whose attachments are listed first: the test log loader needs to know which of its logs
#: have files on their steps (:func:`ztoq.pipeline.load_attachments.step_log_owners`).
EXECUTION_OWNERS = frozenset({"test_execution", "execution_step"})


async def extract_attachments(
    ctx: PhaseContext,
    changed: set[EntityKey] | None = None,
    executions_listed: Callable[[], None] | None = None,
) -> None:
    """Every attachment of the stored objects, listed and downloaded (``migration.include_attachments``).

    Args:
        ctx: the phase context.
        changed: list only the attachments of these objects (new or changed in a delta sync);
            None lists every object's and marks what was not seen as deleted.
        executions_listed: called once the executions' and their steps' attachments are listed
            (they are listed first), or when there is nothing to list.
    """
    done = executions_listed or (lambda: None)
    if not ctx.config.migration.include_attachments:
        done()
        return
    reader = ctx.source().attachments
    if reader is None:
        done()
        return
    with ctx.session() as repo:
        owners = list(reader.owners(StoreRows(repo, ctx.project_key)))
        if changed is not None:
            owners = [owner for owner in owners if owner_row(owner) in changed]
    if changed is not None and not owners:
        # Nothing changed that can carry files: nothing to ask (the stored status stays).
        done()
        await download_attachments(ctx, reader)
        return
    listing = Listing()
    first = [owner for owner in owners if owner.owner_type in EXECUTION_OWNERS]
    await _list_all(ctx, reader, first, listing)
    done()
    await _list_all(
        ctx, reader, [owner for owner in owners if owner.owner_type not in EXECUTION_OWNERS], listing
    )
    ctx.reporter.finish(PHASE, "attachment_lists")
    reason = listing.unavailable
    status = {"available": reason is None, "reason": reason, "owners": len(owners)}
    with ctx.session() as repo:
        repo.upsert_source(ctx.project_key, [SourceItem(*ATTACHMENT_API_STATUS, status)], run_id=ctx.run_id)
        if reason is None and not listing.failed:
            listed = None if changed is None else {(o.owner_type, o.owner_key) for o in owners}
            repo.mark_unseen_attachments_deleted(ctx.project_key, since_run_id=ctx.run_id, owner_keys=listed)
    if reason is not None:
        ctx.reporter.message(unavailable_sentence(reason))
        return
    if listing.failed:
        ctx.reporter.message(
            f"extract: the attachment lists of {listing.failed} object(s) failed (see the log); their "
            "files are kept as the last run found them. Run again to list them."
        )
    elif owners and not listing.found and changed is None:
        ctx.reporter.message(
            f"extract: Zephyr answered 404 to all {len(owners)} attachment lists: the project has no "
            "attachments, or this tenant does not offer the attachment operations yet."
        )
    await download_attachments(ctx, reader)
