"""The open store: units of work over the repository, and the process lock."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import sessionmaker

from ztoq.errors import StoreError
from ztoq.store.lock import (
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_LOCK_NAME,
    DEFAULT_STALE_AFTER,
    StoreLock,
    project_lock_name,
)
from ztoq.store.repo_base import AutoAnalyze, error_reason
from ztoq.store.repository import Repository


class Store:
    """An open intermediate store: units of work over the repository, and the process lock."""

    def __init__(self, engine: Engine, description: str) -> None:
        self.engine = engine
        #: How messages name this database (never contains a password).
        self.description = description
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._analyzer = AutoAnalyze()

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    @contextlib.contextmanager
    def session(self) -> Iterator[Repository]:
        """A unit of work: commits when the block ends normally, rolls back on any exception.

        Database failures (server gone, disk full, locked too long) become a StoreError; the work
        since the last commit is lost and a rerun redoes it.
        """
        session = self._sessions()
        try:
            yield Repository(session, analyzer=self._analyzer)
            session.commit()
        except OperationalError as exc:
            session.rollback()
            raise StoreError(
                f"The migration database at {self.description} failed: {error_reason(exc)}; "
                f"fix the cause and run again to resume."
            ) from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def lock(
        self,
        name: str = DEFAULT_LOCK_NAME,
        owner: str | None = None,
        *,
        project: str | None = None,
        stale_after: float = DEFAULT_STALE_AFTER,
    ) -> StoreLock:
        """A lock object, not yet acquired (see ``acquire_lock`` for the usual form).

        ``project`` (a Zephyr project key) makes it that project's lock, named by
        :func:`~ztoq.store.lock.project_lock_name` instead of ``name``.
        """
        scope = "this migration database"
        if project is not None:
            name, scope = project_lock_name(project), f"project {project} of this migration database"
        return StoreLock(
            self.engine, name, owner, stale_after=stale_after, description=self.description, scope=scope
        )

    @contextlib.contextmanager
    def acquire_lock(
        self,
        name: str = DEFAULT_LOCK_NAME,
        owner: str | None = None,
        *,
        project: str | None = None,
        stale_after: float = DEFAULT_STALE_AFTER,
        heartbeat_interval: float | None = DEFAULT_HEARTBEAT_INTERVAL,
    ) -> Iterator[StoreLock]:
        """Hold a lock of the store for the block, with a background heartbeat.

        Runs take their project's lock (``project=``), so processes working on different
        projects share a store while a second one on the same project is refused.

        Args:
            name: The lock name, when ``project`` is not given.
            owner: ``host:pid:token`` (default: this process, a fresh token).
            project: Take the lock of this Zephyr project key instead of ``name``.
            stale_after: Seconds without heartbeat after which another process may take the lock over.
            heartbeat_interval: Seconds between heartbeats; None for no heartbeat thread.

        Raises:
            StoreLocked: Another live ztoq process holds the lock.
        """
        held = self.lock(name, owner, project=project, stale_after=stale_after)
        held.acquire()
        try:
            if heartbeat_interval:
                held.start_heartbeat(heartbeat_interval)
            yield held
        finally:
            held.release()

    def revision(self) -> str | None:
        """The schema revision of the database."""
        from ztoq.store.database import current_revision

        with self.engine.connect() as conn:
            return current_revision(conn)

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
