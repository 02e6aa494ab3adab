"""Extract, listings: each page stored as it arrives, with its objects' parts and where to resume.

A listing is read page by page (:meth:`PagedSource.read_pages`); nothing more than one page is
held. Its objects are stored in batches of ``performance.batch_size``, and for each batch:

1. which objects need their parts read (a test case's steps, an execution's step results) is
   decided from the store, without reading payloads: an object that is new or changed (content
   hash), or whose parts were never stored, always; in a sync that reads every part again
   (``reread_parts``), any object whose parts were not read yet in this sync (a resumed sync
   does not read them twice). The source's ``Parts.applies_to`` says which objects can have
   parts at all, after its ``prepare_parts`` (:class:`PartsPreparer`) looked up what it needs;
2. those parts are read, within ``performance.max_workers`` requests at once;
3. one commit stores the batch, its parts, marks deleted the parts a re-read object no longer
   has, and, with the page's last batch, the page's checkpoint (the position after it).

So a killed extract resumes after the last committed page, and never holds an object without
the parts it read. When the listing completes (unfiltered, and not resumed from a position that
may have skipped objects), what the sync did not see is marked deleted, with the parts of
deleted objects; its checkpoint is cleared.

Kill points (:mod:`ztoq.pipeline.faults`): ``extract.batch`` after every commit, and
``extract.checkpoint.<entity type>`` after a commit that moved that listing's checkpoint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ztoq.errors import RunInterrupted
from ztoq.pipeline.context import PhaseContext, run_bounded
from ztoq.pipeline.extract_sync import Sync, checkpoint, clear_checkpoint, save_checkpoint
from ztoq.pipeline.faults import fault_point
from ztoq.sources.base import Parts, SourceAdapter
from ztoq.store import SourceItem, content_hash
from ztoq.store.records import EntityKey

PHASE = "extract"

#: A listing page: its objects, and the position to resume after it (None: no position there).
Page = tuple[list[SourceItem], dict[str, Any] | None]


@runtime_checkable
class PagedSource(Protocol):
    """A source that lists page by page, with positions to resume from (both Zephyr sources do).

    Attributes:
        delta_types: the listed types ``read_pages`` can limit to what changed after ``since``.
    """

    delta_types: frozenset[str]

    def read_pages(
        self, entity_type: str, *, resume: Mapping[str, Any] | None = None, since: datetime | None = None
    ) -> AsyncIterator[Page]:
        """The pages of a listed type; a position it yielded, given as ``resume``, continues after that page.

        A position holding ``"exact": True`` resumes without skipping an object that still exists
        (a cursor by id); an offset may skip objects that moved while the listing was stopped.
        """
        ...


@runtime_checkable
class PartsPreparer(Protocol):
    """A source whose ``Parts.applies_to`` depends on other stored objects (Cloud: the test case run)."""

    def prepare_parts(
        self,
        entity_type: str,
        items: Sequence[SourceItem],
        stored: Callable[[str, Iterable[str]], Mapping[str, Any]],
    ) -> None:
        """Look up what ``applies_to`` needs for ``items`` through ``stored`` (type, keys -> payloads)."""
        ...


@dataclass(frozen=True)
class Listing:
    """One listed entity type and how its parts are read.

    Attributes:
        entity_type: the listed type.
        parts: what is read per object (None: objects come whole).
        reread_parts: read every object's parts again, not only those of new or changed objects.
    """

    entity_type: str
    parts: Parts | None = None
    reread_parts: bool = False


async def _unpaged(items: AsyncIterator[SourceItem], size: int) -> AsyncIterator[Page]:
    page: list[SourceItem] = []
    async for item in items:
        page.append(item)
        if len(page) >= size:
            yield page, None
            page = []
    yield page, None


def _pages(
    source: SourceAdapter, entity_type: str, resume: Mapping[str, Any] | None, since: datetime | None
) -> AsyncIterator[Page]:
    if isinstance(source, PagedSource):
        return source.read_pages(entity_type, resume=resume, since=since)
    return _unpaged(source.read_all(entity_type), 1000)


def filtered(source: SourceAdapter, sync: Sync, entity_type: str) -> bool:
    """Whether this sync lists ``entity_type`` only for what changed (so it sees no deletions)."""
    return sync.since is not None and isinstance(source, PagedSource) and entity_type in source.delta_types


async def extract_listing(
    ctx: PhaseContext, sync: Sync, listing: Listing, written: set[EntityKey] | None
) -> None:
    """Store one listing (and its objects' parts) page by page, resuming at its checkpoint.

    Args:
        ctx: the phase context.
        sync: the sync this extract does.
        listing: the type and its parts.
        written: when given, receives the (type, key) of every object that was new or changed,
            its parts included (under the object's key, and under their own type).
    """
    source, project, entity_type = ctx.source(), ctx.project_key, listing.entity_type
    limited = filtered(source, sync, entity_type)
    with ctx.session() as repo:
        resume = checkpoint(repo, project, sync, entity_type)
    ctx.reporter.start(PHASE, entity_type)
    if listing.parts is not None:
        ctx.reporter.start(PHASE, listing.parts.progress_name)
    size = ctx.config.performance.batch_size
    # Objects wait here for a full batch; a page with a position is stored whole, its
    # checkpoint with its last batch (pages without one, such as Server's results of one
    # test run, fill batches together).
    waiting: list[SourceItem] = []
    async for items, position in _pages(source, entity_type, resume, sync.since if limited else None):
        waiting.extend(items)
        while len(waiting) > size or (len(waiting) == size and position is None):
            await _store_batch(ctx, sync, listing, waiting[:size], None, written)
            del waiting[:size]
        if position is not None:
            await _store_batch(ctx, sync, listing, waiting, position, written)
            waiting = []
        ctx.check_cancelled()
    if waiting:
        await _store_batch(ctx, sync, listing, waiting, None, written)
    with ctx.session() as repo:
        if not limited and (resume is None or resume.get("exact") is True):
            gone = repo.mark_unseen_deleted(project, entity_type, since_run_id=sync.run_id)
            for part_type in listing.parts.entity_types if listing.parts is not None and gone else ():
                repo.mark_orphans_deleted(project, part_type, entity_type)
        clear_checkpoint(repo, project, entity_type)
    ctx.reporter.finish(PHASE, entity_type)
    if listing.parts is not None:
        ctx.reporter.finish(PHASE, listing.parts.progress_name)


def _needing_parts(
    ctx: PhaseContext, sync: Sync, listing: Listing, batch: Sequence[SourceItem]
) -> list[SourceItem]:
    """The objects of ``batch`` whose parts this sync reads (see the module docstring)."""
    parts, source = listing.parts, ctx.source()
    if parts is None or not batch:
        return []
    if isinstance(source, PartsPreparer):
        with ctx.session() as repo:

            def lookup(entity_type: str, keys: Iterable[str]) -> Mapping[str, Any]:
                return repo.payloads_by_key(ctx.project_key, entity_type, keys)

            source.prepare_parts(listing.entity_type, batch, lookup)
    candidates = [item for item in batch if parts.applies_to(item)]
    if not candidates:
        return []
    keys = [item.source_key for item in candidates]
    with ctx.session() as repo:
        stored = repo.source_states(ctx.project_key, listing.entity_type, keys)
        read = repo.source_states(ctx.project_key, parts.entity_types[0], keys)
    needing = []
    for item in candidates:
        before, part = stored.get(item.source_key), read.get(item.source_key)
        changed = before is None or before.deleted or before.content_hash != content_hash(item.payload)
        missing = part is None or part.deleted
        read_in_sync = part is not None and not part.deleted and (part.last_seen_run_id or 0) >= sync.run_id
        if changed or missing or (listing.reread_parts and not read_in_sync):
            needing.append(item)
    return needing


async def _store_batch(
    ctx: PhaseContext,
    sync: Sync,
    listing: Listing,
    batch: list[SourceItem],
    position: dict[str, Any] | None,
    written: set[EntityKey] | None,
) -> None:
    parts = listing.parts
    to_read = _needing_parts(ctx, sync, listing, batch)
    fetched: dict[str, list[SourceItem]] = {}

    async def fetch(item: SourceItem) -> None:
        assert parts is not None
        fetched[item.source_key] = await parts.read(item)
        ctx.reporter.advance(PHASE, parts.progress_name)

    try:
        await run_bounded(to_read, fetch, ctx.config.performance.max_workers, ctx)
    except RunInterrupted:
        # Keep what was read, but never an object whose parts were not: it would look complete.
        unread = {item.source_key for item in to_read} - set(fetched)
        _write(ctx, sync, listing, [i for i in batch if i.source_key not in unread], fetched, None, written)
        raise
    _write(ctx, sync, listing, batch, fetched, position, written)
    fault_point("extract.batch")
    if position is not None:
        fault_point(f"extract.checkpoint.{listing.entity_type}")


def _write(
    ctx: PhaseContext,
    sync: Sync,
    listing: Listing,
    batch: list[SourceItem],
    fetched: Mapping[str, list[SourceItem]],
    position: dict[str, Any] | None,
    written: set[EntityKey] | None,
) -> None:
    """One commit: the objects, their parts, the parts they no longer have, the checkpoint."""
    project, run_id = ctx.project_key, ctx.run_id
    part_items = [part for parts in fetched.values() for part in parts]
    if not batch and position is None:
        return
    with ctx.session() as repo:
        found = repo.upsert_source(project, batch, run_id=run_id)
        found_parts = repo.upsert_source(project, part_items, run_id=run_id)
        if listing.parts is not None and fetched:
            for part_type in listing.parts.entity_types:
                repo.mark_stale_parts_deleted(project, part_type, list(fetched), run_id=run_id)
        if position is not None:
            save_checkpoint(repo, project, sync, listing.entity_type, position, run_id=run_id)
    if written is not None:
        written.update(found.written)
        # Parts are keyed by their object's key: the object changed, and so did that part.
        written.update(found_parts.written)
        written.update((listing.entity_type, key) for _, key in found_parts.written)
    ctx.reporter.advance(PHASE, listing.entity_type, len(batch))
