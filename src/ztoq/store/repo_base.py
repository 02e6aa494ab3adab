"""What every part of the repository shares: the session, the clock, dialect-aware upserts."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import Table, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

T = TypeVar("T")

#: Keys per IN (...) list: far below SQLite's and PostgreSQL's bind-parameter limits.
IN_CHUNK = 500
#: Rows per page when iterating (each page is its own query, so callers may commit in between).
PAGE_SIZE = 1000


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def error_reason(exc: BaseException) -> str:
    """The first line of the driver's message for a database error (no SQL, no parameters)."""
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0].rstrip(".") if text else type(orig).__name__


def chunks(items: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """Split ``items`` into consecutive slices of at most ``size``."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_value(value: str, allowed: type[StrEnum], what: str) -> str:
    """Return ``value`` as a plain string if it is one of ``allowed``, else raise ValueError."""
    values = {member.value for member in allowed}
    if value not in values:
        raise ValueError(f"{what} must be one of {', '.join(sorted(values))}, not {value!r}")
    return str(value)


class AutoAnalyze:
    """Keeps PostgreSQL's planner statistics in step with bulk writes.

    Without statistics (a table filled within minutes, before autovacuum looks at it) PostgreSQL
    may pick the wrong index for the batch look-ups, one scan of the whole type per batch, so a
    large extract becomes quadratic. ``ANALYZE`` each time the rows written by this process double
    (from ``first`` on) costs a few tenths of a second in all. The rows of each entity type count
    apart too: a type written after the last ``ANALYZE`` (an overlapped run plans and loads its
    attachments last) is unknown to the planner, which then takes its rows for one and joins them
    by scanning the type for each (seen: 166 s for one page of 500 in validation, at 10,000 test
    cases). Shared by the sessions of one store.
    """

    def __init__(self, first: int = 1000) -> None:
        self._first = first
        self._written: dict[str, int] = {}
        self._next: dict[str, int] = {}
        self._lock = threading.Lock()

    def _count(self, name: str, count: int) -> bool:
        """Count ``count`` rows under ``name``; whether that doubles what it had (caller locks)."""
        written = self._written[name] = self._written.get(name, 0) + count
        if written < self._next.get(name, self._first):
            return False
        self._next[name] = written * 2
        return True

    def rows_written(self, session: Session, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
        """Count ``rows`` written to ``table``, and those of each entity type they have one of;
        refresh the table's statistics when either doubles."""
        if not rows or session.get_bind().dialect.name != "postgresql":
            return
        kinds = Counter(str(row["entity_type"]) for row in rows) if "entity_type" in rows[0] else {}
        with self._lock:
            due = self._count(table.name, len(rows))
            for kind, count in kinds.items():
                due = self._count(f"{table.name}:{kind}", count) or due
        if due:
            session.execute(text(f"ANALYZE {table.name}"))


class RepoBase:
    """Holds the session; the query mixins build on it.

    The repository never commits on its own: the caller's unit of work (``Store.session()``) does,
    or ``commit()`` between batches of a long loop.
    """

    def __init__(self, session: Session, *, analyzer: AutoAnalyze | None = None) -> None:
        self._session = session
        self._analyzer = analyzer or AutoAnalyze()

    @property
    def session(self) -> Session:
        """The SQLAlchemy session of this unit of work."""
        return self._session

    @property
    def dialect(self) -> str:
        """The backend name: ``sqlite`` or ``postgresql``."""
        bind = self._session.get_bind()
        return bind.dialect.name

    def commit(self) -> None:
        """Make everything done so far durable (e.g. after each batch of a long loop)."""
        self._session.commit()

    def rollback(self) -> None:
        """Forget everything done since the last commit."""
        self._session.rollback()

    def _execute_many(self, stmt: Any, rows: list[dict[str, Any]]) -> None:
        """Run a statement once per row as one executemany (pipelined by psycopg, batched by SQLite).

        Multi-row VALUES would save round trips, but SQLAlchemy compiles such a statement anew for
        every batch, which costs more than it saves. The rows count towards the table's next
        ``ANALYZE`` (:class:`AutoAnalyze`): every table written in bulk is also read by key.
        """
        if rows:
            self._session.execute(stmt, rows)
            table = getattr(stmt, "table", None)
            if isinstance(table, Table):
                self._analyzer.rows_written(self._session, table, rows)

    def _insert(self, table: Table) -> Any:
        """An INSERT with ``on_conflict_do_update/nothing`` for the session's backend."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)
