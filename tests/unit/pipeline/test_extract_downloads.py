"""Extract's download queue: each file queued once a run, the disk checked against what is queued,
and only the files this run listed told to the overlapped phases."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest

from ztoq.errors import InputError
from ztoq.pipeline import extract_attachments
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.extract_attachments import Downloads, KeySet
from ztoq.pipeline.load_types import PackedKeys
from ztoq.pipeline.progress import ProgressReporter
from ztoq.sources.base import AttachmentReader
from ztoq.store import AttachmentFile, FileCache
from ztoq.store.files import CacheWriter

RUN = 7
MB = 1024 * 1024


def _row(
    n: int, *, size: int = 10, state: str = "listed", sha256: str | None = None, seen: int = RUN
) -> AttachmentFile:
    return AttachmentFile(
        source_key=f"test_case/P-T1/{n}",
        owner_type="test_case",
        owner_key="P-T1",
        step_index=None,
        source_id=str(n),
        name=f"f{n}.txt",
        size=size,
        content_type="text/plain",
        locator=f"/attachments/{n}",
        sha256=sha256,
        state=state,
        reason=None,
        target_object_type=None,
        target_object_id=None,
        target_id=None,
        first_seen_run_id=seen,
        last_seen_run_id=seen,
        deleted=False,
    )


class _Store:
    """The store's rows by key: the queue keeps keys and reads its rows back when they are taken."""

    def __init__(self) -> None:
        self.rows: dict[str, AttachmentFile] = {}
        self.reads: list[int] = []
        self.recorded: list[tuple[str, int]] = []

    @contextmanager
    def session(self) -> Iterator[_Store]:
        yield self

    def record_attachment_cached(self, project_key: str, source_key: str, **recorded: Any) -> None:
        self.recorded.append((source_key, threading.get_ident()))

    def attachments_for(self, project_key: str, keys: Sequence[str]) -> list[AttachmentFile]:
        self.reads.append(len(keys))
        return sorted((self.rows[key] for key in keys if key in self.rows), key=lambda row: row.source_key)


def _downloads(tmp_path: Path, told: list[str], store: _Store | None = None, batch: int = 100) -> Downloads:
    cache = FileCache(tmp_path / "cache")
    store = store or _Store()
    for n in range(1, 10):
        store.rows.setdefault(_row(n).source_key, _row(n, size=2 * MB if n == 2 else 10))
    ctx = SimpleNamespace(
        run_id=RUN,
        project_key="P",
        reporter=ProgressReporter(),
        attachment_cache=lambda: cache,
        session=store.session,
        config=SimpleNamespace(performance=SimpleNamespace(batch_size=batch)),
    )
    return Downloads(cast(PhaseContext, ctx), cast(AttachmentReader, None), told.append)


def test_the_queue_holds_keys_and_reads_its_rows_a_batch_at_a_time(tmp_path: Path) -> None:
    store = _Store()
    downloads = _downloads(tmp_path, [], store, batch=4)
    downloads.add([_row(n) for n in range(1, 10)])
    assert isinstance(downloads.queue, PackedKeys), "keys, not rows"
    assert len(downloads.queue) == 9
    assert [row.source_id for row in downloads.take()] == [str(n) for n in range(1, 10)]
    assert store.reads == [4, 4, 1]


def test_a_file_is_queued_once_a_run_and_not_when_it_is_in_the_cache(tmp_path: Path) -> None:
    downloads = _downloads(tmp_path, [])
    with downloads.cache.writer() as writer:
        writer.write(b"cached")
        sha256, size = writer.commit()
    downloads.add([_row(1), _row(2, state="cached", sha256=sha256, size=size)])
    downloads.add([_row(1), _row(3)])  # 1 again: a later batch of lists named it too
    assert [row.source_key for row in downloads.take()] == ["test_case/P-T1/1", "test_case/P-T1/3"]
    assert downloads.queued_bytes == 0
    downloads.add([_row(1)])
    assert list(downloads.take()) == [], "tried once a run (a failed download waits for the next run)"


def test_what_is_queued_must_fit_on_the_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    downloads = _downloads(tmp_path, [])
    free = extract_attachments.DISK_RESERVE + 3 * MB
    monkeypatch.setattr(downloads.cache, "free_bytes", lambda: free)
    downloads.add([_row(1, size=2 * MB)])
    with pytest.raises(InputError, match="The 2 attachment"):
        downloads.add([_row(2, size=2 * MB)])
    assert [row.source_key for row in downloads.take()] == ["test_case/P-T1/1"]
    downloads.add([_row(2, size=2 * MB)])  # the first one is downloaded: the second fits
    assert downloads.queued_bytes == 2 * MB


def test_only_files_this_run_listed_are_told_once_cached(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    told: list[str] = []
    downloads = _downloads(tmp_path, told)
    failed = "test_case/P-T1/3"

    async def download_one(ctx: Any, reader: Any, cache: Any, row: AttachmentFile) -> bool:
        return row.source_key != failed

    monkeypatch.setattr(extract_attachments, "_download_one", download_one)
    for row in (_row(1), _row(2, seen=RUN - 1), _row(3)):  # 2: listed by an earlier run only
        asyncio.run(downloads.download(row))
    assert told == ["test_case/P-T1/1"]


def test_the_keys_tried_are_kept_at_eight_bytes_a_key() -> None:
    keys = KeySet()
    for n in range(5000):
        keys.add(f"execution_step/P-E{n}/1/{n}")
    keys.add("execution_step/P-E1/1/1")  # again
    assert len(keys) == 5000
    assert "execution_step/P-E4999/1/4999" in keys
    assert "execution_step/P-E5000/1/5000" not in keys
    assert 7 not in keys


def test_a_download_is_made_durable_and_recorded_off_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsync, rename and the store's commit wait on the disk: the loop keeps sending meanwhile."""
    store = _Store()
    downloads = _downloads(tmp_path, [], store)
    committed: list[int] = []
    commit = CacheWriter.commit

    def watched_commit(writer: CacheWriter) -> tuple[str, int]:
        committed.append(threading.get_ident())
        return commit(writer)

    monkeypatch.setattr(CacheWriter, "commit", watched_commit)

    class Reader:
        async def download(self, locator: str, consume: Callable[[httpx.Response], Awaitable[None]]) -> None:
            await consume(httpx.Response(200, content=b"file bytes", headers={"content-type": "text/plain"}))

    downloads.reader = cast(AttachmentReader, Reader())

    async def download() -> int:
        await downloads.download(_row(1))
        return threading.get_ident()

    loop_thread = asyncio.run(download())
    assert len(committed) == 1
    assert committed[0] != loop_thread
    [(recorded_key, recorded_on)] = store.recorded
    assert recorded_key == "test_case/P-T1/1"
    assert recorded_on != loop_thread
    assert downloads.cache.has(hashlib.sha256(b"file bytes").hexdigest())
