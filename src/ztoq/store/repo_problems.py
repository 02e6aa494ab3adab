"""Named queries on ``problems``: every degraded, skipped or failed value, with its reason."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, select

from ztoq.store.records import ProblemItem, ProblemRecord, Severity
from ztoq.store.repo_base import PAGE_SIZE, RepoBase, check_value, chunks, utcnow
from ztoq.store.tables import problems as t

_COLUMNS = tuple(t.c)

#: Replacing an entity's problems is on load's hot path: both statements are built once, and
#: executed with bound parameters (the keys as one expanding IN list).
_DELETE_FOR_KEYS = delete(t).where(
    t.c.project_key == bindparam("project_key"),
    t.c.phase == bindparam("phase"),
    t.c.entity_type == bindparam("entity_type"),
    t.c.source_key.in_(bindparam("keys", expanding=True)),
)
_INSERT = t.insert()

#: (entity_type, source_key, problems of that entity)
ProblemEntry = tuple[str, str, Sequence[ProblemItem]]


def _deleted(result: Any) -> int:
    """How many rows a DELETE removed."""
    return int(result.rowcount or 0)


def _record(row: Sequence[Any]) -> ProblemRecord:
    return ProblemRecord(*row)


class ProblemQueries(RepoBase):
    """Problems, replaced per (phase, entity) so reprocessing never piles up duplicates."""

    def replace_problems(
        self,
        project_key: str,
        phase: str,
        entity_type: str,
        source_key: str,
        problems: Sequence[ProblemItem],
        *,
        run_id: int | None = None,
    ) -> None:
        """Replace what ``phase`` recorded for one entity with ``problems`` (empty: clear them).

        Args:
            project_key: The Zephyr project key.
            phase: ``extract``, ``transform``, ``load`` or ``validate``.
            entity_type: The entity's type.
            source_key: The entity's source key.
            problems: The problems found this time.
            run_id: The run that found them.
        """
        self.replace_problems_bulk(project_key, phase, [(entity_type, source_key, problems)], run_id=run_id)

    def replace_problems_bulk(
        self,
        project_key: str,
        phase: str,
        entries: Iterable[ProblemEntry],
        *,
        run_id: int | None = None,
    ) -> int:
        """``replace_problems`` for many entities at once.

        Args:
            project_key: The Zephyr project key.
            phase: The phase that processed the entities.
            entries: (entity_type, source_key, problems) per processed entity; an entity with an
                empty list just loses its old problems.
            run_id: The run that found them.

        Returns:
            The number of problems recorded.
        """
        entries = list(entries)
        rows = self._problem_rows(project_key, phase, entries, run_id)  # checked before any delete
        keys_by_type: dict[str, set[str]] = {}
        for entity_type, source_key, _found in entries:
            keys_by_type.setdefault(entity_type, set()).add(source_key)
        for entity_type, keys in keys_by_type.items():
            for chunk in chunks(sorted(keys)):
                params = {"project_key": project_key, "phase": phase, "entity_type": entity_type}
                self._session.execute(_DELETE_FOR_KEYS, {**params, "keys": list(chunk)})
        self._execute_many(_INSERT, rows)
        return len(rows)

    def add_problems(
        self,
        project_key: str,
        phase: str,
        entries: Iterable[ProblemEntry],
        *,
        run_id: int | None = None,
    ) -> int:
        """Record problems without replacing any (the caller cleared what they replace first).

        Validation clears a type's problems once, then adds what each batch finds: an entity
        may be found wrong in several batches' steps (a duplicate, then its fields).

        Returns:
            The number of problems recorded.
        """
        rows = self._problem_rows(project_key, phase, entries, run_id)
        self._execute_many(_INSERT, rows)
        return len(rows)

    @staticmethod
    def _problem_rows(
        project_key: str, phase: str, entries: Iterable[ProblemEntry], run_id: int | None
    ) -> list[dict[str, Any]]:
        """The ``problems`` rows of ``entries``, one per problem (its severity checked)."""
        now = utcnow()
        return [
            {
                "run_id": run_id,
                "project_key": project_key,
                "phase": phase,
                "entity_type": entity_type,
                "source_key": source_key,
                "severity": check_value(problem.severity, Severity, "problem severity"),
                "code": problem.code,
                "message": problem.message,
                "field": problem.field,
                "detail": problem.detail,
                "created_at": now,
            }
            for entity_type, source_key, found in entries
            for problem in found
        ]

    def _problem_query(
        self,
        project_key: str,
        phase: str | None,
        severity: str | None,
        entity_type: str | None,
        code: str | None,
        source_key: str | None = None,
    ) -> Select[Any]:
        query = select(*_COLUMNS).where(t.c.project_key == project_key)
        for column, value in (
            (t.c.phase, phase),
            (t.c.severity, severity),
            (t.c.entity_type, entity_type),
            (t.c.code, code),
            (t.c.source_key, source_key),
        ):
            if value is not None:
                query = query.where(column == value)
        return query

    def iter_problems(
        self,
        project_key: str,
        *,
        phase: str | None = None,
        severity: str | None = None,
        entity_type: str | None = None,
        code: str | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[ProblemRecord]:
        """Stream problems in the order they were recorded, optionally filtered."""
        base = self._problem_query(project_key, phase, severity, entity_type, code).order_by(t.c.id)
        last = 0
        while True:
            rows = self._session.execute(base.where(t.c.id > last).limit(page_size)).all()
            yield from map(_record, rows)
            if len(rows) < page_size:
                return
            last = rows[-1].id

    def list_problems(
        self,
        project_key: str,
        *,
        phase: str | None = None,
        severity: str | None = None,
        entity_type: str | None = None,
        code: str | None = None,
        source_key: str | None = None,
        limit: int | None = None,
    ) -> list[ProblemRecord]:
        """Problems in the order they were recorded, optionally filtered and limited."""
        query = self._problem_query(project_key, phase, severity, entity_type, code, source_key).order_by(
            t.c.id
        )
        if limit is not None:
            query = query.limit(limit)
        return [_record(row) for row in self._session.execute(query)]

    def problem_counts(
        self, project_key: str, *, phase: str | None = None
    ) -> dict[tuple[str, str, str], int]:
        """Number of problems per (phase, severity, code)."""
        query = (
            select(t.c.phase, t.c.severity, t.c.code, func.count())
            .where(t.c.project_key == project_key)
            .group_by(t.c.phase, t.c.severity, t.c.code)
        )
        if phase is not None:
            query = query.where(t.c.phase == phase)
        return {(p, s, c): int(n) for p, s, c, n in self._session.execute(query)}

    def clear_problems(
        self,
        project_key: str,
        phase: str,
        *,
        entity_type: str | None = None,
        code: str | None = None,
        keys: Iterable[str] | None = None,
        except_code: str | None = None,
    ) -> int:
        """Delete the problems of a phase (optionally of one type, of one code or all codes but
        one, of some source keys only); returns how many."""
        stmt = delete(t).where(t.c.project_key == project_key, t.c.phase == phase)
        if entity_type is not None:
            stmt = stmt.where(t.c.entity_type == entity_type)
        if code is not None:
            stmt = stmt.where(t.c.code == code)
        if except_code is not None:
            stmt = stmt.where(t.c.code != except_code)
        if keys is None:
            return _deleted(self._session.execute(stmt))
        return sum(
            _deleted(self._session.execute(stmt.where(t.c.source_key.in_(c))))
            for c in chunks(sorted(set(keys)))
        )
