"""The content-addressed file cache: atomic writes, deduplication, chunked reads, leftovers."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
import tracemalloc
from pathlib import Path

import pytest

from ztoq.store import FileCache
from ztoq.store.files import PARTIAL_DIR, PARTIAL_STALE_SECONDS

HELLO_SHA = hashlib.sha256(b"hello world").hexdigest()


def _store(cache: FileCache, *chunks: bytes) -> tuple[str, int]:
    with cache.writer() as writer:
        for chunk in chunks:
            writer.write(chunk)
        return writer.commit()


def _partials(cache: FileCache) -> list[Path]:
    partial = cache.root / ".partial"
    return sorted(partial.iterdir()) if partial.exists() else []


def test_commit_stores_the_file_under_its_hash(tmp_path: Path) -> None:
    cache = FileCache(tmp_path / "cache")
    assert not cache.root.exists()  # created on the first write only
    assert not cache.has(HELLO_SHA)

    assert _store(cache, b"hello", b" ", b"world") == (HELLO_SHA, 11)
    path = cache.path_of(HELLO_SHA)
    assert path == cache.root / HELLO_SHA[:2] / HELLO_SHA
    assert path.read_bytes() == b"hello world"
    assert cache.has(HELLO_SHA)
    assert cache.has(HELLO_SHA, 11)
    assert not cache.has(HELLO_SHA, 12)
    assert _partials(cache) == []


def test_same_content_is_stored_once(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    assert _store(cache, b"hello world") == _store(cache, b"hello ", b"world")
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [HELLO_SHA]
    assert _partials(cache) == []


def test_a_truncated_file_under_the_hash_is_replaced(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    cache.path_of(HELLO_SHA).parent.mkdir(parents=True)
    cache.path_of(HELLO_SHA).write_bytes(b"hello")  # damaged by hand
    assert _store(cache, b"hello world") == (HELLO_SHA, 11)
    assert cache.path_of(HELLO_SHA).read_bytes() == b"hello world"


def test_empty_file(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    sha, size = _store(cache)
    assert (sha, size) == (hashlib.sha256(b"").hexdigest(), 0)
    assert cache.has(sha, 0)


def test_reset_starts_over(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    with cache.writer() as writer:
        writer.write(b"half of a fail")
        writer.reset()
        writer.write(b"hello world")
        assert writer.size == 11
        assert writer.commit() == (HELLO_SHA, 11)
        assert writer.commit() == (HELLO_SHA, 11)
        with pytest.raises(RuntimeError, match="already committed"):
            writer.write(b"more")
    assert cache.path_of(HELLO_SHA).read_bytes() == b"hello world"


def test_leaving_without_commit_leaves_nothing(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    with pytest.raises(ConnectionError), cache.writer() as writer:
        writer.write(b"hello world")
        assert len(_partials(cache)) == 1
        raise ConnectionError("the download broke")
    with cache.writer() as writer:
        writer.write(b"hello world")  # no commit: abandoned
    assert _partials(cache) == []
    assert not cache.has(HELLO_SHA)


def test_cancelled_download_leaves_nothing(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)

    async def download() -> None:
        with cache.writer() as writer:
            writer.write(b"hello")
            await asyncio.sleep(10)

    async def main() -> None:
        task = asyncio.create_task(download())
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert _partials(cache) == []


def test_sweep_partial_removes_what_a_killed_process_left(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    assert cache.sweep_partial() == 0
    killed = cache.writer()
    killed.write(b"hello")  # a process killed here never reaches commit or __exit__
    assert not cache.has(hashlib.sha256(b"hello").hexdigest())
    _store(cache, b"hello world")
    assert cache.sweep_partial() == 1
    assert _partials(cache) == []
    assert cache.has(HELLO_SHA)  # complete files stay
    killed.__exit__(None, None, None)  # the temp file is already gone: no error


def test_chunks_and_achunks_stream_the_file(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    sha, _ = _store(cache, b"hello world")
    assert list(cache.chunks(sha, chunk_size=4)) == [b"hell", b"o wo", b"rld"]

    async def collect() -> list[bytes]:
        return [chunk async for chunk in cache.achunks(sha, chunk_size=4)]

    assert asyncio.run(collect()) == [b"hell", b"o wo", b"rld"]
    with pytest.raises(FileNotFoundError):
        list(cache.chunks("00" * 32))


def test_path_of_refuses_what_is_not_a_hash(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    for bad in ("../../etc/passwd", "AB" * 32, "ab" * 31, ""):
        with pytest.raises(ValueError, match="not a SHA-256"):
            cache.path_of(bad)


def test_free_bytes_before_and_after_the_first_write(tmp_path: Path) -> None:
    cache = FileCache(tmp_path / "not" / "yet")
    assert cache.free_bytes() > 0
    _store(cache, b"x")
    assert cache.free_bytes() > 0


def test_large_file_streams_without_being_held(tmp_path: Path) -> None:
    """20 MB in 1 MB chunks: memory stays at a few chunks, writing and reading back."""
    cache = FileCache(tmp_path)
    mb = 1 << 20
    expected = hashlib.sha256()
    tracemalloc.start()
    try:
        with cache.writer() as writer:
            for n in range(20):
                chunk = bytes([n]) * mb
                expected.update(chunk)
                writer.write(chunk)
            del chunk
            sha, size = writer.commit()
        read_back = hashlib.sha256()
        for chunk in cache.chunks(sha):
            read_back.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (sha, size) == (expected.hexdigest(), 20 * mb)
    assert read_back.hexdigest() == sha
    assert peak < 4 * mb


def test_sweep_keeps_the_live_downloads_of_another_process(tmp_path: Path) -> None:
    cache = FileCache(tmp_path)
    partial = tmp_path / PARTIAL_DIR
    partial.mkdir()
    live = partial / "download-999999999-live.part"  # another process, writing right now
    dead = partial / "download-999999998-dead.part"  # another process, silent for too long
    live.write_bytes(b"in progress")
    dead.write_bytes(b"abandoned")
    old = time.time() - PARTIAL_STALE_SECONDS - 1
    os.utime(dead, (old, old))
    assert cache.sweep_partial() == 1
    assert _partials(cache) == [live]
