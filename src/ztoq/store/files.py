"""The content-addressed file cache: attachment files downloaded once, stored once, read in chunks.

A file lives at ``root/<sha[:2]>/<sha>``, named by the SHA-256 of its bytes, so a file attached to
several entities is stored once. Downloads stream into a temporary file under ``root/.partial/``
and are renamed into place only when complete: a process killed mid-download never leaves a
truncated file under a hash name, only a temporary file that ``sweep_partial()`` removes (without
touching the live downloads of another process sharing the cache). Memory
use does not depend on file sizes; every read and write goes by chunks.

Typical use::

    cache = FileCache(Path("attachments"))
    with cache.writer() as w:
        for chunk in response.iter_bytes():
            w.write(chunk)
        sha, size = w.commit()
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

#: Bytes per read when streaming a cached file.
CHUNK_SIZE = 1 << 20
#: Where unfinished downloads are written (inside the cache root, so the final rename is atomic).
PARTIAL_DIR = ".partial"
#: Temporary files are named ``download-<pid>-...``: a sweep knows its own process's leftovers.
_PARTIAL_PREFIX = "download-"
#: A live download writes at least once per network timeout; a temporary file untouched for this
#: long belongs to a process that died.
PARTIAL_STALE_SECONDS = 600.0
_SHA256 = re.compile(r"[0-9a-f]{64}")


def _fsync_directory(path: Path) -> None:
    """Make a rename in ``path`` durable (POSIX only; Windows has no directory handles)."""
    if os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileCache:
    """Attachment files on disk, named by content hash."""

    def __init__(self, root: Path) -> None:
        #: The cache directory; created on the first write.
        self.root = root

    def path_of(self, sha256: str) -> Path:
        """Where the file with this hash lives: ``root/<sha[:2]>/<sha>``.

        Raises:
            ValueError: ``sha256`` is not 64 lowercase hex digits (never a path outside the cache).
        """
        if not _SHA256.fullmatch(sha256):
            raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str, size: int | None = None) -> bool:
        """Whether the file is in the cache (and, when ``size`` is given, has that size)."""
        try:
            found = self.path_of(sha256).stat()
        except FileNotFoundError:
            return False
        return size is None or found.st_size == size

    def writer(self) -> CacheWriter:
        """A writer for one new file (a context manager: leaving it without commit discards the file)."""
        return CacheWriter(self)

    def chunks(self, sha256: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The bytes of a cached file, ``chunk_size`` at a time.

        Raises:
            FileNotFoundError: The file is not in the cache.
        """
        with self.path_of(sha256).open("rb") as handle:
            while chunk := handle.read(chunk_size):
                yield chunk

    async def achunks(self, sha256: str, chunk_size: int = CHUNK_SIZE) -> AsyncIterator[bytes]:
        """The bytes of a cached file for an async consumer (an httpx streaming upload).

        Reads run in a worker thread so a slow disk never stalls the event loop.

        Raises:
            FileNotFoundError: The file is not in the cache.
        """
        handle = await asyncio.to_thread(self.path_of(sha256).open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk
        finally:
            handle.close()

    def free_bytes(self) -> int:
        """Free space on the cache's file system (of the nearest existing parent before the first write)."""
        path = self.root.absolute()
        while not path.exists() and path != path.parent:
            path = path.parent
        return shutil.disk_usage(path).free

    def scratch_dir(self) -> Path:
        """Where this process keeps temporary files beside the cache (created if missing); they
        are named as downloads in progress are, so :meth:`sweep_partial` removes what a kill leaves."""
        partial = self.root / PARTIAL_DIR
        partial.mkdir(parents=True, exist_ok=True)
        return partial

    def scratch_prefix(self) -> str:
        """The name prefix of this process's temporary files in :meth:`scratch_dir`."""
        return f"{_PARTIAL_PREFIX}{os.getpid()}-"

    def sweep_partial(self, *, stale_after: float = PARTIAL_STALE_SECONDS) -> int:
        """Remove what killed downloads left behind; returns how many files.

        Call it before this process starts downloading: it removes every temporary file of this
        process, and those of other processes not written to for ``stale_after`` seconds. Processes
        migrating other projects may share the cache, and their live downloads are kept.
        """
        removed = 0
        mine = self.scratch_prefix()
        oldest = time.time() - stale_after
        with contextlib.suppress(FileNotFoundError):
            for leftover in (self.root / PARTIAL_DIR).iterdir():
                # PermissionError: a file another process holds open (Windows), so not a leftover.
                with contextlib.suppress(FileNotFoundError, PermissionError):
                    if leftover.is_file() and (
                        leftover.name.startswith(mine) or leftover.stat().st_mtime < oldest
                    ):
                        leftover.unlink()
                        removed += 1
        return removed


class CacheWriter:
    """Streams one file into the cache: hashes while writing, renames into place on commit.

    Use it as a context manager; leaving the block without ``commit()`` (an exception, a
    cancelled task) deletes the temporary file.
    """

    def __init__(self, cache: FileCache) -> None:
        self._cache = cache
        self._file: IO[bytes] | None = None
        self._temp: Path | None = None
        self._hash = hashlib.sha256()
        self._size = 0
        self._result: tuple[str, int] | None = None

    def __enter__(self) -> CacheWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._result is None:
            self._discard()

    @property
    def size(self) -> int:
        """Bytes written so far."""
        return self._size

    def write(self, chunk: bytes) -> None:
        """Append a chunk to the file.

        Raises:
            RuntimeError: The file was already committed.
        """
        self._open().write(chunk)
        self._hash.update(chunk)
        self._size += len(chunk)

    def reset(self) -> None:
        """Discard what was written so far (a retried download starts over)."""
        if self._result is not None:
            raise RuntimeError("the file was already committed to the cache")
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
        self._hash = hashlib.sha256()
        self._size = 0

    def commit(self) -> tuple[str, int]:
        """Make the file durable and move it to its hash name; returns (sha256, size).

        A file of that hash already in the cache (with the same size) is kept, and the new copy dropped.
        Committing again returns the same answer.
        """
        if self._result is not None:
            return self._result
        handle = self._open()
        handle.flush()
        os.fsync(handle.fileno())
        handle.close()
        sha, size = self._hash.hexdigest(), self._size
        target = self._cache.path_of(sha)
        assert self._temp is not None
        if self._cache.has(sha, size):
            self._temp.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._temp, target)
            _fsync_directory(target.parent)
        self._file = self._temp = None
        self._result = (sha, size)
        return self._result

    def _open(self) -> IO[bytes]:
        if self._result is not None:
            raise RuntimeError("the file was already committed to the cache")
        if self._file is None:
            fd, name = tempfile.mkstemp(
                prefix=self._cache.scratch_prefix(), suffix=".part", dir=self._cache.scratch_dir()
            )
            self._temp = Path(name)
            self._file = os.fdopen(fd, "wb")
        return self._file

    def _discard(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._temp is not None:
            self._temp.unlink(missing_ok=True)
        self._file = self._temp = None
        self._hash = hashlib.sha256()
        self._size = 0
