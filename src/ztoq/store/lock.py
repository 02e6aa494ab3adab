"""One ztoq process per project of a store: a named lock row with a heartbeat.

Runs and rollbacks take the lock of their project (:func:`project_lock_name`), so several
processes can share one store, each on its own project, while a second process on the same
project is refused. Every table but ``locks`` is scoped by project, so nothing else is shared.

The lock is a row in ``locks`` taken with an INSERT that does nothing on conflict, and taken over
with a conditional UPDATE (same owner as read, still stale), each in one short transaction. That
works the same on SQLite and PostgreSQL (SQLite has no advisory locks). The holder refreshes
``heartbeat_at`` periodically; a lock whose heartbeat is older than ``stale_after`` seconds, or whose
owner process is gone from this very host, is taken over.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from ztoq.errors import StoreError, StoreLocked
from ztoq.store.repo_base import error_reason, utcnow
from ztoq.store.tables import locks

log = logging.getLogger(__name__)

DEFAULT_LOCK_NAME = "migration"
DEFAULT_STALE_AFTER = 60.0
DEFAULT_HEARTBEAT_INTERVAL = 15.0
#: The length of ``locks.name``.
MAX_LOCK_NAME = 64
_PROJECT_PREFIX = "project:"


def project_lock_name(project_key: str) -> str:
    """The lock name of one project of a store: ``project:<key>``.

    A key too long for the column is named by its SHA-256 instead (still one name per key).
    """
    name = f"{_PROJECT_PREFIX}{project_key}"
    if len(name) <= MAX_LOCK_NAME:
        return name
    digest = hashlib.sha256(project_key.encode("utf-8")).hexdigest()
    return f"{_PROJECT_PREFIX}sha256:{digest[: MAX_LOCK_NAME - len(_PROJECT_PREFIX) - 7]}"


@dataclass(frozen=True)
class LockOwner:
    """Who holds a lock: host name, process id and a token unique to one acquisition."""

    host: str
    pid: int
    token: str

    def __str__(self) -> str:
        return f"{self.host}:{self.pid}:{self.token}"

    @classmethod
    def current(cls) -> LockOwner:
        """An owner for this process, with a fresh token."""
        return cls(socket.gethostname(), os.getpid(), uuid.uuid4().hex[:16])

    @classmethod
    def parse(cls, owner: str) -> LockOwner | None:
        """Read ``host:pid:token`` (the host may itself contain colons); None if malformed."""
        host, _, rest = owner.rpartition(":")
        host, _, pid = host.rpartition(":")
        if not host or not pid.isdigit():
            return None
        return cls(host, int(pid), rest)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, it is just not ours
    except OSError:
        return True  # cannot tell: assume alive, the stale timeout still frees it
    return True


class StoreLock:
    """A named lock on one store. Use ``Store.acquire_lock()`` rather than building one."""

    def __init__(
        self,
        engine: Engine,
        name: str = DEFAULT_LOCK_NAME,
        owner: str | None = None,
        *,
        stale_after: float = DEFAULT_STALE_AFTER,
        description: str = "",
        scope: str = "this migration database",
    ) -> None:
        self.engine = engine
        self.name = name
        #: What the lock guards, as messages name it ("project PROJ of this migration database").
        self.scope = scope
        self.owner = owner or str(LockOwner.current())
        self.stale_after = stale_after
        self.description = description
        self.held = False
        #: Set when a heartbeat found the lock taken over by another process.
        self.lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> None:
        """Take the lock, taking over a stale or orphaned one.

        Raises:
            StoreLocked: Another live process holds it.
        """
        try:
            for _ in range(5):
                if self._try_acquire():
                    self.held, self.lost = True, False
                    return
        except OperationalError as exc:
            raise StoreError(
                f"Could not take the lock on the migration database at {self.description}: "
                f"{error_reason(exc)}; run again once the database is reachable."
            ) from exc
        raise StoreLocked(f"Could not take the lock {self.name!r} on {self.scope}; run again.")

    def _try_acquire(self) -> bool:
        now = utcnow()
        with self.engine.begin() as conn:
            inserted = conn.execute(
                _lock_insert(conn.dialect.name)
                .values(name=self.name, owner=self.owner, acquired_at=now, heartbeat_at=now)
                .on_conflict_do_nothing(index_elements=[locks.c.name])
            )
            if inserted.rowcount == 1:
                return True
            row = conn.execute(
                select(locks.c.owner, locks.c.acquired_at, locks.c.heartbeat_at).where(
                    locks.c.name == self.name
                )
            ).first()
            if row is None:
                return False  # released in between: try the insert again
            owner, acquired_at, heartbeat_at = row
            taken = update(locks).where(locks.c.name == self.name, locks.c.owner == owner)
            taken = taken.values(owner=self.owner, acquired_at=now, heartbeat_at=now)
            if owner == self.owner:
                return conn.execute(taken).rowcount == 1
            holder = LockOwner.parse(owner)
            stale_before = now - timedelta(seconds=self.stale_after)
            if heartbeat_at < stale_before:
                log.warning("Taking over the store lock of %s: no heartbeat since %s.", owner, heartbeat_at)
                return conn.execute(taken.where(locks.c.heartbeat_at < stale_before)).rowcount == 1
            if holder is not None and holder.host == socket.gethostname() and not pid_alive(holder.pid):
                log.warning("Taking over the store lock of %s: that process is gone.", owner)
                return conn.execute(taken).rowcount == 1
        wait = max(1, math.ceil(self.stale_after - (now - heartbeat_at).total_seconds()))
        who = f"host {holder.host}, pid {holder.pid}" if holder else f"owner {owner}"
        raise StoreLocked(
            f"Another ztoq process ({who}) is running on {self.scope} since "
            f"{_when(acquired_at)}; wait for it or, if it died, run again in {wait} seconds."
        )

    def heartbeat(self) -> None:
        """Prove the holder is alive.

        Raises:
            StoreLocked: The lock was taken over (this process was considered dead).
        """
        with self.engine.begin() as conn:
            result = conn.execute(
                update(locks)
                .where(locks.c.name == self.name, locks.c.owner == self.owner)
                .values(heartbeat_at=utcnow())
            )
        if result.rowcount != 1:
            self.lost, self.held = True, False
            raise StoreLocked(
                f"The lock {self.name!r} on the migration database was taken over by another process "
                f"(no heartbeat for {self.stale_after:.0f} seconds); stop and run again."
            )

    def ensure_held(self) -> None:
        """Raise StoreLocked if a heartbeat found the lock taken over; cheap, no database access."""
        if self.lost:
            raise StoreLocked(
                f"The lock {self.name!r} on the migration database was taken over by another process; "
                f"stop and run again."
            )

    def start_heartbeat(self, interval: float = DEFAULT_HEARTBEAT_INTERVAL) -> None:
        """Refresh the heartbeat every ``interval`` seconds from a daemon thread until released."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._beat, args=(interval,), name=f"ztoq-lock-{self.name}", daemon=True
        )
        self._thread.start()

    def _beat(self, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                self.heartbeat()
            except StoreLocked:
                log.error("The store lock %r was taken over by another process.", self.name)
                return
            except SQLAlchemyError as exc:
                # A busy or briefly unreachable database: the next beat retries well before staleness.
                log.warning("Could not refresh the store lock heartbeat: %s", error_reason(exc))

    def stop_heartbeat(self) -> None:
        """Stop the heartbeat thread (waits for it)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()

    def release(self) -> None:
        """Give the lock up (only if this owner still holds it)."""
        self.stop_heartbeat()
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(locks).where(locks.c.name == self.name, locks.c.owner == self.owner))
        except SQLAlchemyError as exc:
            # Not fatal: the next run takes the lock over once it is stale or its pid is gone.
            log.warning("Could not release the store lock: %s", error_reason(exc))
        self.held = False

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()


def _lock_insert(dialect: str) -> sqlite.Insert | postgresql.Insert:
    return postgresql.insert(locks) if dialect == "postgresql" else sqlite.insert(locks)


def _when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
