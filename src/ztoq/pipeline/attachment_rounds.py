"""Attachments sent in rounds while extract still lists and downloads the rest (overlapped run).

Extract tells each file this run listed as soon as it is in the cache (``run_extract(cached=...)``:
the files of a batch of lists are downloaded while the next objects are listed). Once the owners
(test cases, releases, cycles, test logs) are planned, transform plans those attachments a round
at a time, as the transform of every attachment plans them
(:func:`~ztoq.pipeline.transform.transform_attachments`); once the owners are loaded, load sends
each round. So qTest's uploads overlap Zephyr's lists and downloads instead of waiting for all.

A round takes only files this run listed and downloaded, and load sends only what a round planned
in this run: never a plan an earlier run left (its file may have changed or gone since; the
transform of every attachment plans it again first). Once extract is done, every attachment is
transformed and loaded as in a sequential run: what a round planned is planned again the same,
so load finds nothing to send for what a round sent, and a kill anywhere resumes as a kill in a
sequential run does (the intent, upload and recording steps are the load's own).

When validate follows load in the run, each batch a round sent is read back right away, as the
validation of attachments would read it (:func:`~ztoq.pipeline.validate_attachments.read_uploads`:
the size of each file, or its SHA-256), so that validation, once load has ended, reads only the
rest; what a round read is only a cache of this run (a kill loses nothing: the next run reads
the files again).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load import Loader
from ztoq.pipeline.load_results import PHASE as LOAD
from ztoq.pipeline.load_types import PackedKeys
from ztoq.pipeline.progress import TaskCounts
from ztoq.pipeline.transform import transform_attachments
from ztoq.pipeline.validate_attachments import read_uploads

ATTACHMENT = "attachment"


async def _until(event: asyncio.Event, task: asyncio.Task[None]) -> None:
    """Wait until ``event`` is set or ``task`` ends."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()


class AttachmentRounds:
    """The files extract cached and the attachments planned, between the overlapped phases.

    Attributes:
        size: the fewest files a round plans (``performance.batch_size``; the last files wait for
            the transform of every attachment).
        cached: keys of the files cached since the last round.
        planned: keys of the attachments planned and not sent yet (packed: extract caches every
            file of a project while load works on its logs, before the rounds are sent).
        read_back: whether each batch sent is read back for the validation of this run.
    """

    def __init__(self, ctx: PhaseContext, *, read_back: bool = False) -> None:
        self.ctx = ctx
        self.read_back = read_back
        self.size = ctx.config.performance.batch_size
        cache = ctx.attachment_cache()
        self.cached = PackedKeys(spill_to=cache)
        self.planned = PackedKeys(spill_to=cache)
        self._more_cached = asyncio.Event()
        self._more_planned = asyncio.Event()
        self._planning = True

    def file_cached(self, key: str) -> None:
        """Extract cached the file of attachment ``key`` (listed in this run)."""
        self.cached.append(key)
        if len(self.cached) >= self.size:
            self._more_cached.set()

    async def plan(self, extracting: asyncio.Task[None]) -> None:
        """Transform's part: plan a round whenever enough files are cached, until extract ends."""
        try:
            while not extracting.done():
                if len(self.cached) < self.size:
                    self._more_cached.clear()
                    await _until(self._more_cached, extracting)
                    continue
                keys = self.cached.take(self.size)
                self.planned.extend(await asyncio.to_thread(transform_attachments, self.ctx, keys))
                fault_point("overlap.attachment_round")
                self._more_planned.set()
                self.ctx.check_cancelled()
        finally:
            self._planning = False
            self._more_planned.set()

    async def load(self, loader: Loader, transforming: asyncio.Task[None]) -> None:
        """Load's part (its owners loaded): send each planned round, until no more are planned."""
        while True:
            if self.planned:
                await self._send(loader, self.planned.take(self.size))
                continue
            if not self._planning or transforming.done():
                return
            self._more_planned.clear()
            await _until(self._more_planned, transforming)

    async def _send(self, loader: Loader, keys: list[str]) -> None:
        """Load the attachments of ``keys`` that qTest does not hold as planned, a batch at a time,
        each batch then read back when validate follows."""
        for start in range(0, len(keys), self.size):
            with self.ctx.session() as repo:
                batch = repo.load_work_for(self.ctx.project_key, ATTACHMENT, keys[start : start + self.size])
            if batch:
                self.ctx.reporter.add_to_total(LOAD, ATTACHMENT, len(batch))
                await loader.load_batch(loader.loaders[ATTACHMENT], batch)
                loader.sent[ATTACHMENT] = loader.sent.get(ATTACHMENT, 0) + len(batch)
            if batch and self.read_back:
                deep = self.ctx.config.migration.verify_attachment_content
                await read_uploads(self.ctx, [work.planned.source_key for work in batch], deep=deep)

    def close(self) -> None:
        """Delete the queues' files (the run is over)."""
        self.cached.close()
        self.planned.close()

    def counted(self) -> TaskCounts | None:
        """What the rounds counted in load's progress (the load of every attachment starts it over)."""
        counts = self.ctx.reporter.tasks.get((LOAD, ATTACHMENT))
        return None if counts is None else replace(counts)

    def count_again(self, counts: TaskCounts | None) -> None:
        """Add what the rounds counted (:meth:`counted`) to the load of every attachment's count."""
        if counts is None or not (counts.total or counts.done):
            return
        self.ctx.reporter.add_to_total(LOAD, ATTACHMENT, counts.total or 0)
        self.ctx.reporter.advance(LOAD, ATTACHMENT, counts.done, failed=counts.failed, skipped=counts.skipped)
