"""Named queries on ``planned_entities``: what transform decided to send, in load order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, tuple_

from ztoq.store.hashing import content_hash
from ztoq.store.records import (
    TARGET_STATES,
    EntityKey,
    LoadWork,
    MappingRecord,
    PlannedItem,
    PlannedRecord,
    PlannedStatus,
    UpsertResult,
)
from ztoq.store.repo_base import PAGE_SIZE, RepoBase, check_value, chunks, utcnow
from ztoq.store.tables import mappings as m
from ztoq.store.tables import planned_entities as t

_COLUMNS = (
    t.c.project_key,
    t.c.entity_type,
    t.c.source_key,
    t.c.payload,
    t.c.depends_on,
    t.c.level,
    t.c.sort_key,
    t.c.content_hash,
    t.c.source_hash,
    t.c.transformed_at,
    t.c.status,
)
_MAPPING_COLUMNS = tuple(m.c)
_ORDER = (t.c.level, t.c.sort_key, t.c.source_key)


def _record(row: Sequence[Any]) -> PlannedRecord:
    values = list(row)
    values[4] = [(str(dep[0]), str(dep[1])) for dep in values[4] or ()]
    return PlannedRecord(*values)


_WIDTH = len(_COLUMNS)
#: The position of ``mappings.state`` in a load work row (None: the entity has no mapping).
_MAPPING_STATE = _WIDTH + [c.name for c in _MAPPING_COLUMNS].index("state")


def _load_work(row: Sequence[Any]) -> LoadWork:
    mapping = None if row[_MAPPING_STATE] is None else MappingRecord(*row[_WIDTH:])
    return LoadWork(_record(tuple(row[:_WIDTH])), mapping)


class PlannedQueries(RepoBase):
    """Planned qTest payloads: batch upsert with change detection, iteration in load order."""

    def upsert_planned(self, project_key: str, items: Iterable[PlannedItem]) -> UpsertResult:
        """Store a batch of planned entities; only rows that differ are written.

        ``content_hash`` is the hash of the payload. An item is *changed* when its payload or status
        differs; a different level, sort key, dependency list or source hash alone is stored but
        reported as unchanged, since load would send the same thing.

        Args:
            project_key: The Zephyr project key.
            items: Planned entities of any mix of types; a repeated key keeps its last item.

        Returns:
            The (entity_type, source_key) of the new, changed and unchanged items.
        """
        latest: dict[EntityKey, PlannedItem] = {}
        for item in items:
            check_value(item.status, PlannedStatus, "planned status")
            latest[(item.entity_type, item.source_key)] = item
        result = UpsertResult()
        by_type: dict[str, list[PlannedItem]] = {}
        for item in latest.values():
            by_type.setdefault(item.entity_type, []).append(item)
        now = utcnow()
        writes: list[dict[str, Any]] = []
        for entity_type, typed in by_type.items():
            for chunk in chunks(typed):
                known = self._known_planned(project_key, entity_type, [i.source_key for i in chunk])
                for item in chunk:
                    row = {
                        "project_key": project_key,
                        "entity_type": entity_type,
                        "source_key": item.source_key,
                        "payload": item.payload,
                        "depends_on": [list(dep) for dep in item.depends_on],
                        "level": item.level,
                        "sort_key": item.sort_key,
                        "content_hash": content_hash(item.payload),
                        "source_hash": item.source_hash,
                        "transformed_at": now,
                        "status": str(item.status),
                    }
                    key = (entity_type, item.source_key)
                    before = known.get(item.source_key)
                    if before is None:
                        result.new.append(key)
                    elif (before["content_hash"], before["status"]) != (row["content_hash"], row["status"]):
                        result.changed.append(key)
                    else:
                        result.unchanged.append(key)
                        if all(
                            before[k] == row[k] for k in ("level", "sort_key", "depends_on", "source_hash")
                        ):
                            continue
                    writes.append(row)
        if writes:
            stmt = self._insert(t)
            stmt = stmt.on_conflict_do_update(
                index_elements=[t.c.project_key, t.c.entity_type, t.c.source_key],
                set_={c.name: stmt.excluded[c.name] for c in _COLUMNS[3:]},
            )
            self._execute_many(stmt, writes)
        return result

    def _known_planned(
        self, project_key: str, entity_type: str, keys: list[str]
    ) -> dict[str, dict[str, Any]]:
        rows = self._session.execute(
            select(
                t.c.source_key,
                t.c.content_hash,
                t.c.status,
                t.c.level,
                t.c.sort_key,
                t.c.depends_on,
                t.c.source_hash,
            ).where(t.c.project_key == project_key, t.c.entity_type == entity_type, t.c.source_key.in_(keys))
        )
        known: dict[str, dict[str, Any]] = {}
        for row in rows:
            values = row._asdict()
            values["depends_on"] = [list(dep) for dep in values["depends_on"] or ()]
            known[values.pop("source_key")] = values
        return known

    def get_planned(self, project_key: str, entity_type: str, source_key: str) -> PlannedRecord | None:
        """One planned entity, or None."""
        row = self._session.execute(
            select(*_COLUMNS).where(
                t.c.project_key == project_key, t.c.entity_type == entity_type, t.c.source_key == source_key
            )
        ).first()
        return None if row is None else _record(row)

    def iter_planned(
        self,
        project_key: str,
        entity_type: str,
        *,
        level: int | None = None,
        status: str | None = PlannedStatus.PLANNED,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[PlannedRecord]:
        """Stream planned entities of one type in load order: level, then sort key, then source key.

        Args:
            project_key: The Zephyr project key.
            entity_type: E.g. ``module`` or ``test_log``.
            level: Only this dependency level.
            status: Only this status (``planned`` by default; None for all).
            page_size: Rows fetched per keyset query (the caller may commit between pages).

        Yields:
            The planned entities.
        """
        base = select(*_COLUMNS).where(t.c.project_key == project_key, t.c.entity_type == entity_type)
        if level is not None:
            base = base.where(t.c.level == level)
        if status is not None:
            base = base.where(t.c.status == status)
        base = base.order_by(*_ORDER)
        last: tuple[Any, ...] | None = None
        while True:
            query = base if last is None else base.where(tuple_(*_ORDER) > last)
            rows = self._session.execute(query.limit(page_size)).all()
            yield from map(_record, rows)
            if len(rows) < page_size:
                return
            last = (rows[-1].level, rows[-1].sort_key, rows[-1].source_key)

    def planned_page(
        self,
        project_key: str,
        entity_type: str,
        *,
        after: tuple[int, str, str] | None = None,
        limit: int = PAGE_SIZE,
    ) -> list[PlannedRecord]:
        """One keyset page of :meth:`iter_planned` (``planned`` ones), each page its own query.

        Validation reads a type a batch at a time, each batch in a short unit of work of its own,
        so neither a whole type nor an open read transaction is held while it reads qTest.

        Args:
            project_key: The Zephyr project key.
            entity_type: The planned type.
            after: The (level, sort key, source key) of the last item of the previous page; None: the first.
            limit: At most this many items.

        Returns:
            The next planned entities in load order (fewer than ``limit``: the type has no more).
        """
        query = select(*_COLUMNS).where(
            t.c.project_key == project_key,
            t.c.entity_type == entity_type,
            t.c.status == PlannedStatus.PLANNED,
        )
        if after is not None:
            query = query.where(tuple_(*_ORDER) > after)
        return [_record(row) for row in self._session.execute(query.order_by(*_ORDER).limit(limit))]

    def planned_keys(self, project_key: str, entity_type: str) -> set[str]:
        """The source keys of every planned entity of one type, whatever its status (no payloads)."""
        query = select(t.c.source_key).where(t.c.project_key == project_key, t.c.entity_type == entity_type)
        return set(self._session.scalars(query))

    def planned_levels(self, project_key: str, entity_type: str) -> list[int]:
        """The distinct dependency levels of one type, ascending."""
        query = (
            select(t.c.level)
            .where(t.c.project_key == project_key, t.c.entity_type == entity_type)
            .distinct()
            .order_by(t.c.level)
        )
        return list(self._session.scalars(query))

    def _load_work_query(self, project_key: str, entity_type: str) -> Select[Any]:
        """Planned entities of a type that qTest does not have in their current form, with mappings."""
        joined = t.outerjoin(
            m,
            (m.c.project_key == t.c.project_key)
            & (m.c.entity_type == t.c.entity_type)
            & (m.c.source_key == t.c.source_key),
        )
        return (
            select(*_COLUMNS, *_MAPPING_COLUMNS)
            .select_from(joined)
            .where(
                t.c.project_key == project_key,
                t.c.entity_type == entity_type,
                t.c.status == PlannedStatus.PLANNED,
                or_(
                    m.c.state.is_(None),
                    m.c.state.not_in(TARGET_STATES),
                    m.c.loaded_hash.is_(None),
                    m.c.loaded_hash != t.c.content_hash,
                ),
            )
        )

    def iter_load_work(
        self,
        project_key: str,
        entity_type: str,
        *,
        level: int | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[LoadWork]:
        """Stream, in load order, the planned entities qTest does not have in their current form.

        That is: never loaded, left as an intent, failed, skipped or deleted before, or loaded with
        another content hash than the one now planned. Skipped planned entities are not included.

        Args:
            project_key: The Zephyr project key.
            entity_type: The planned type.
            level: Only this dependency level.
            page_size: Rows fetched per keyset query.

        Yields:
            Each planned entity with its mapping (None when it was never loaded).
        """
        base = self._load_work_query(project_key, entity_type).order_by(*_ORDER)
        if level is not None:
            base = base.where(t.c.level == level)
        last: tuple[Any, ...] | None = None
        while True:
            query = base if last is None else base.where(tuple_(*_ORDER) > last)
            rows = self._session.execute(query.limit(page_size)).all()
            yield from map(_load_work, rows)
            if len(rows) < page_size:
                return
            last = (rows[-1].level, rows[-1].sort_key, rows[-1].source_key)

    def load_work_page(
        self,
        project_key: str,
        entity_type: str,
        level: int,
        *,
        after: tuple[str, str] | None = None,
        limit: int = PAGE_SIZE,
    ) -> list[LoadWork]:
        """One keyset page of :meth:`iter_load_work` within one level, each page its own query.

        Load reads a level a batch at a time, each batch in a short unit of work of its own, so
        neither the work of a whole type nor an open read transaction is held while it sends.

        Args:
            project_key: The Zephyr project key.
            entity_type: The planned type.
            level: The dependency level.
            after: The (sort key, source key) of the last item of the previous page; None: the first.
            limit: At most this many items.

        Returns:
            The next items in load order (fewer than ``limit``: the level has no more).
        """
        query = self._load_work_query(project_key, entity_type).where(t.c.level == level)
        if after is not None:
            query = query.where(tuple_(t.c.sort_key, t.c.source_key) > after)
        query = query.order_by(t.c.sort_key, t.c.source_key).limit(limit)
        return [_load_work(row) for row in self._session.execute(query)]

    def load_work_for(self, project_key: str, entity_type: str, source_keys: Sequence[str]) -> list[LoadWork]:
        """The items of :meth:`iter_load_work` among ``source_keys`` (of any level), in load order.

        Overlapped loads send a part of a type as soon as it is planned (attachments whose files
        are downloaded): only what was planned in this run, never a plan an earlier run left.
        """
        found: list[LoadWork] = []
        for chunk in chunks(list(source_keys)):
            query = self._load_work_query(project_key, entity_type).where(t.c.source_key.in_(chunk))
            found += [_load_work(row) for row in self._session.execute(query.order_by(*_ORDER))]
        found.sort(key=lambda w: (w.planned.level, w.planned.sort_key, w.planned.source_key))
        return found

    def count_load_work(self, project_key: str, entity_type: str) -> int:
        """How many planned entities of a type :meth:`iter_load_work` would return (a progress total)."""
        query = self._load_work_query(project_key, entity_type).with_only_columns(func.count())
        return int(self._session.execute(query).scalar_one())

    def delete_planned(self, project_key: str, entity_type: str, source_keys: Iterable[str]) -> int:
        """Remove planned entities (e.g. their source was deleted); returns how many were removed."""
        removed = 0
        for chunk in chunks(list(source_keys)):
            result = self._session.execute(
                delete(t).where(
                    t.c.project_key == project_key, t.c.entity_type == entity_type, t.c.source_key.in_(chunk)
                )
            )
            removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
        return removed

    def planned_counts(self, project_key: str) -> dict[str, dict[str, int]]:
        """Number of planned entities per entity type and status."""
        query = (
            select(t.c.entity_type, t.c.status, func.count())
            .where(t.c.project_key == project_key)
            .group_by(t.c.entity_type, t.c.status)
        )
        counts: dict[str, dict[str, int]] = {}
        for entity_type, status, n in self._session.execute(query):
            counts.setdefault(entity_type, {})[status] = int(n)
        return counts
