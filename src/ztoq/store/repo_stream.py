"""Named queries that read a project a page at a time: what transform streams, in bounded memory.

Transform never holds a whole entity type: it reads the source rows of a type one keyset page
after another (:meth:`StreamQueries.source_pages`, in the store order of
:meth:`~ztoq.store.repo_source.SourceQueries.iter_source`), joins a page with the rows it needs
by key (:meth:`StreamQueries.source_payloads_for`), and reads back by key what it planned earlier
in the same run (:meth:`StreamQueries.planned_payloads_for`). Only the columns asked for are
selected, and every page is its own query, so the caller may commit in between. Validation asks
the same way, by sets of keys, which keys the store knows (:meth:`StreamQueries.known_keys_among`)
and where attachments went (:meth:`StreamQueries.target_places_for`, by Zephyr key, and
:meth:`StreamQueries.target_places_of`, by qTest id: what load asks before it deletes or adopts one).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Select, select, tuple_

from ztoq.store.records import MappingState, PlannedStatus
from ztoq.store.repo_base import PAGE_SIZE, RepoBase, chunks
from ztoq.store.tables import mappings as m
from ztoq.store.tables import planned_entities as p
from ztoq.store.tables import source_entities as s

_Key = TypeVar("_Key")


def _distinct(keys: Iterable[_Key]) -> list[_Key]:
    return list(dict.fromkeys(keys))


class StreamQueries(RepoBase):
    """Source rows by type in pages and by sets of keys; planned rows by keys and key pages."""

    def source_pages(
        self, project_key: str, entity_type: str, *, page_size: int = PAGE_SIZE
    ) -> Iterator[list[tuple[str, Any]]]:
        """``(source key, payload)`` of the not deleted rows of one type, one list per page.

        The order is that of ``iter_source``: rows with a source id by id then key, then the
        others by key.

        Args:
            project_key: The Zephyr project key.
            entity_type: E.g. ``test_case``.
            page_size: Rows per page (and per query).

        Yields:
            Non-empty pages of at most ``page_size`` rows.
        """
        base = select(s.c.source_key, s.c.payload, s.c.source_id).where(
            s.c.project_key == project_key, s.c.entity_type == entity_type, s.c.deleted_at.is_(None)
        )
        numbered = base.where(s.c.source_id.is_not(None)).order_by(s.c.source_id, s.c.source_key)
        last: tuple[Any, ...] | None = None
        while True:
            query = numbered if last is None else numbered.where(tuple_(s.c.source_id, s.c.source_key) > last)
            rows = self._rows(query, page_size)
            if rows:
                yield [(key, payload) for key, payload, _ in rows]
            if len(rows) < page_size:
                break
            last = (rows[-1][2], rows[-1][0])
        # Ordered by (source_id, source_key), all NULL ids: the key order, straight off the index's
        # tail (by the key alone PostgreSQL sorted every remaining row of the type on each page).
        unnumbered = base.where(s.c.source_id.is_(None)).order_by(s.c.source_id, s.c.source_key)
        after: str | None = None
        while True:
            query = unnumbered if after is None else unnumbered.where(s.c.source_key > after)
            rows = self._rows(query, page_size)
            if rows:
                yield [(key, payload) for key, payload, _ in rows]
            if len(rows) < page_size:
                break
            after = rows[-1][0]

    def _rows(self, query: Select[Any], limit: int) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self._session.execute(query.limit(limit))]

    def source_payloads_for(self, project_key: str, entity_type: str, keys: Iterable[str]) -> dict[str, Any]:
        """Source key -> payload of the not deleted rows of one type among ``keys`` (absent ones left out)."""
        return self._source_column_for(s.c.payload, project_key, entity_type, keys)

    def source_hashes_for(self, project_key: str, entity_type: str, keys: Iterable[str]) -> dict[str, str]:
        """Source key -> content hash of the not deleted rows of one type among ``keys``."""
        return self._source_column_for(s.c.content_hash, project_key, entity_type, keys)

    def _source_column_for(
        self, column: Any, project_key: str, entity_type: str, keys: Iterable[str]
    ) -> dict[str, Any]:
        """Source key -> ``column`` of the not deleted source rows of one type among ``keys``."""
        query = select(s.c.source_key, column).where(
            s.c.project_key == project_key, s.c.entity_type == entity_type, s.c.deleted_at.is_(None)
        )
        return dict(self._among(query, s.c.source_key, keys))

    def _among(self, query: Select[Any], key_column: Any, keys: Iterable[Any]) -> Iterator[Any]:
        """The rows of ``query`` whose ``key_column`` is among ``keys``, one IN query per chunk."""
        for chunk in chunks(_distinct(keys)):
            yield from self._session.execute(query.where(key_column.in_(chunk)))

    @staticmethod
    def _planned(project_key: str, entity_type: str, *columns: Any) -> Select[Any]:
        """``columns`` of the planned (not skipped) entities of one type."""
        return select(*columns).where(
            p.c.project_key == project_key,
            p.c.entity_type == entity_type,
            p.c.status == PlannedStatus.PLANNED,
        )

    def planned_keys_among(self, project_key: str, entity_type: str, keys: Iterable[str]) -> set[str]:
        """The keys among ``keys`` of the planned (not skipped) entities of one type (no payloads)."""
        query = self._planned(project_key, entity_type, p.c.source_key)
        return {key for (key,) in self._among(query, p.c.source_key, keys)}

    def planned_payloads_for(self, project_key: str, entity_type: str, keys: Iterable[str]) -> dict[str, Any]:
        """Source key -> stored payload of the planned (not skipped) entities of one type among ``keys``."""
        query = self._planned(project_key, entity_type, p.c.source_key, p.c.payload)
        return dict(self._among(query, p.c.source_key, keys))

    def planned_key_pages(
        self, project_key: str, entity_type: str, *, page_size: int = PAGE_SIZE
    ) -> Iterator[list[str]]:
        """The source keys of every planned entity of one type (whatever its status), a page at a time."""
        base = (
            select(p.c.source_key)
            .where(p.c.project_key == project_key, p.c.entity_type == entity_type)
            .order_by(p.c.source_key)
        )
        after: str | None = None
        while True:
            query = base if after is None else base.where(p.c.source_key > after)
            keys = list(self._session.scalars(query.limit(page_size)))
            if keys:
                yield keys
            if len(keys) < page_size:
                return
            after = keys[-1]

    def known_keys_among(self, project_key: str, entity_type: str, keys: Iterable[str]) -> set[str]:
        """The keys among ``keys`` that the store plans for qTest or has migrated.

        Planned: a ``planned`` (not skipped) entity. Migrated: a mapping with a qTest id that was
        not deleted (what ``mappings_for`` reads).
        """
        wanted = _distinct(keys)
        planned = self._planned(project_key, entity_type, p.c.source_key)
        migrated = select(m.c.source_key).where(
            m.c.project_key == project_key,
            m.c.entity_type == entity_type,
            m.c.target_id.is_not(None),
            m.c.state != MappingState.DELETED.value,
        )
        known = {key for (key,) in self._among(planned, p.c.source_key, wanted)}
        known.update(key for (key,) in self._among(migrated, m.c.source_key, wanted))
        return known

    @staticmethod
    def _target_places(project_key: str, entity_type: str, by: Any, states: Iterable[str]) -> Select[Any]:
        """``by`` and the qTest pid of the mappings of one type in ``states`` that have a pid."""
        return select(by, m.c.target_pid).where(
            m.c.project_key == project_key,
            m.c.entity_type == entity_type,
            m.c.state.in_([str(state) for state in states]),
            m.c.target_pid.is_not(None),
        )

    def target_places_for(
        self, project_key: str, entity_type: str, keys: Iterable[str], states: Iterable[str]
    ) -> dict[str, str]:
        """Source key -> qTest pid (for attachments: the object uploaded to) among ``keys``, in ``states``."""
        query = self._target_places(project_key, entity_type, m.c.source_key, states)
        return {key: pid for key, pid in self._among(query, m.c.source_key, keys) if pid}

    def target_places_of(
        self, project_key: str, entity_type: str, target_ids: Iterable[int], states: Iterable[str]
    ) -> dict[int, str]:
        """qTest id -> qTest pid (of an attachment: its object) among ``target_ids``, in ``states``."""
        query = self._target_places(project_key, entity_type, m.c.target_id, states)
        return {int(target): pid for target, pid in self._among(query, m.c.target_id, target_ids) if pid}
