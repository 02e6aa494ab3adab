"""What every phase works with: the config, the store, the source adapter, the qTest client, progress
and cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from ztoq.config import ZtoqConfig, attachments_dir
from ztoq.errors import RunInterrupted
from ztoq.pipeline.progress import ProgressReporter, QuietProgress
from ztoq.qtest import QTestClient
from ztoq.sources import source_for
from ztoq.sources.base import SourceAdapter
from ztoq.store import FileCache, Repository, Store

T = TypeVar("T")


@dataclass
class Transports:
    """Optional httpx transports (tests hand in-process simulators to the clients).

    ``zephyr`` is the source's transport (the source adapter's client uses it).
    """

    zephyr: httpx.AsyncBaseTransport | None = None
    qtest: httpx.AsyncBaseTransport | None = None


@dataclass
class PhaseContext:
    """Shared state of one run's phases."""

    config: ZtoqConfig
    store: Store
    run_id: int
    reporter: ProgressReporter = field(default_factory=QuietProgress)
    transports: Transports = field(default_factory=Transports)
    cancelled: asyncio.Event | None = None
    _source: SourceAdapter | None = None
    _qtest: QTestClient | None = None

    @property
    def project_key(self) -> str:
        return self.config.zephyr.project_key

    def session(self) -> AbstractContextManager[Repository]:
        """A repository over a new database session (commits on success)."""
        return self.store.session()

    def source(self) -> SourceAdapter:
        """The adapter of the configured source, built on first use (its client on its first read)."""
        if self._source is None:
            self._source = source_for(self.config, transport=self.transports.zephyr)
        return self._source

    def qtest(self) -> QTestClient:
        """The qTest client, built on first use."""
        if self._qtest is None:
            self.config.require_target()
            self._qtest = QTestClient.from_config(
                self.config.qtest,
                network=self.config.network,
                performance=self.config.performance,
                transport=self.transports.qtest,
            )
        return self._qtest

    def migrates(self, entity_type: str) -> bool:
        """Whether this configuration migrates ``entity_type`` (attachments only with
        ``migration.include_attachments``; what earlier runs sent then stays as it is)."""
        return entity_type != "attachment" or self.config.migration.include_attachments

    def attachment_cache(self) -> FileCache:
        """The local cache of downloaded attachments (``migration.attachments_dir``)."""
        return FileCache(attachments_dir(self.config))

    @property
    def has_target(self) -> bool:
        """True when the config names a qTest project (transform needs its field settings)."""
        return bool(self.config.qtest.base_url and self.config.qtest.project_id)

    def api_stats(self) -> dict[str, dict[str, Any]]:
        """Request counters of each API used so far."""
        stats: dict[str, dict[str, Any]] = {}
        if self._source is not None:
            stats.update(self._source.api_stats())
        if self._qtest is not None:
            stats["qtest"] = self._qtest.session.snapshot()
        return stats

    async def aclose(self) -> None:
        if self._source is not None:
            await self._source.aclose()
        if self._qtest is not None:
            await self._qtest.aclose()

    def check_cancelled(self) -> None:
        """Raise RunInterrupted at a safe point once SIGINT/SIGTERM was received."""
        if self.cancelled is not None and self.cancelled.is_set():
            raise RunInterrupted("Interrupted; the state is saved. Run the same command again to resume.")


async def run_bounded(
    items: Iterable[T],
    worker: Callable[[T], Awaitable[None]],
    limit: int,
    ctx: PhaseContext,
) -> None:
    """Run ``worker`` over ``items`` with at most ``limit`` at once; stop starting new ones when cancelled.

    The first exception stops the pool (items in flight finish or fail) and is re-raised.
    """
    iterator = iter(items)
    failure: list[BaseException] = []

    async def lane() -> None:
        while not failure:
            if ctx.cancelled is not None and ctx.cancelled.is_set():
                return
            try:
                item = next(iterator)
            except StopIteration:
                return
            try:
                await worker(item)
            except BaseException as exc:
                failure.append(exc)
                return

    await asyncio.gather(*(lane() for _ in range(max(1, limit))))
    if failure:
        raise failure[0]
    ctx.check_cancelled()
