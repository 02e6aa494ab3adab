"""Named queries on ``source_entities``: what extract stored, as Zephyr sent it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Row, Select, and_, delete, exists, func, or_, select, tuple_, update

from ztoq.store.hashing import content_hash
from ztoq.store.records import EntityKey, SourceItem, SourceRecord, UpsertResult
from ztoq.store.repo_base import PAGE_SIZE, RepoBase, chunks, utcnow
from ztoq.store.tables import source_entities as t

_COLUMNS = (
    t.c.project_key,
    t.c.entity_type,
    t.c.source_key,
    t.c.source_id,
    t.c.parent_key,
    t.c.payload,
    t.c.content_hash,
    t.c.first_seen_run_id,
    t.c.last_seen_run_id,
    t.c.extracted_at,
    t.c.deleted_at,
)


def _record(row: Sequence[Any]) -> SourceRecord:
    return SourceRecord(*row)


def _rowcount(result: object) -> int:
    """Rows an UPDATE or DELETE matched (its cursor result's ``rowcount``)."""
    return int(getattr(result, "rowcount", 0) or 0)


class StoredState(NamedTuple):
    """What the store knows of one raw object without reading its payload."""

    content_hash: str
    deleted: bool
    last_seen_run_id: int | None


class SourceQueries(RepoBase):
    """Raw source entities: batch upsert with change detection, ordered iteration, deletions."""

    def upsert_source(
        self, project_key: str, items: Iterable[SourceItem], *, run_id: int | None = None
    ) -> UpsertResult:
        """Store a batch of raw objects, telling new, changed and unchanged apart by content hash.

        Every item gets ``last_seen_run_id = run_id`` and loses any ``deleted_at``. Only new and
        changed payloads are written; unchanged ones are just marked as seen. An object that was
        marked deleted and comes back counts as changed. A key repeated in the batch keeps its last item.

        Args:
            project_key: The Zephyr project key.
            items: The objects, of any mix of entity types.
            run_id: The run that saw them (drives ``mark_unseen_deleted``).

        Returns:
            The (entity_type, source_key) of the new, changed and unchanged items.
        """
        latest: dict[EntityKey, SourceItem] = {}
        for item in items:
            latest[(item.entity_type, item.source_key)] = item
        result = UpsertResult()
        if not latest:
            return result
        now = utcnow()
        by_type: dict[str, list[SourceItem]] = {}
        for item in latest.values():
            by_type.setdefault(item.entity_type, []).append(item)
        writes: list[dict[str, Any]] = []
        for entity_type, typed in by_type.items():
            for chunk in chunks(typed):
                known = self._known_hashes(project_key, entity_type, [i.source_key for i in chunk])
                unchanged: list[str] = []
                for item in chunk:
                    digest = content_hash(item.payload)
                    key = (entity_type, item.source_key)
                    previous = known.get(item.source_key)
                    if previous is None:
                        result.new.append(key)
                    elif previous[0] != digest or previous[1]:
                        result.changed.append(key)
                    else:
                        result.unchanged.append(key)
                        unchanged.append(item.source_key)
                        continue
                    writes.append(self._source_row(project_key, item, digest, run_id, now))
                if unchanged:
                    self._session.execute(
                        update(t)
                        .where(
                            t.c.project_key == project_key,
                            t.c.entity_type == entity_type,
                            t.c.source_key.in_(unchanged),
                        )
                        .values(last_seen_run_id=run_id, extracted_at=now)
                    )
        if writes:
            stmt = self._insert(t)
            stmt = stmt.on_conflict_do_update(
                index_elements=[t.c.project_key, t.c.entity_type, t.c.source_key],
                set_={
                    name: stmt.excluded[name]
                    for name in (
                        "source_id",
                        "parent_key",
                        "payload",
                        "content_hash",
                        "last_seen_run_id",
                        "extracted_at",
                        "deleted_at",
                    )
                },
            )
            self._execute_many(stmt, writes)
        return result

    @staticmethod
    def _source_row(
        project_key: str, item: SourceItem, digest: str, run_id: int | None, now: Any
    ) -> dict[str, Any]:
        return {
            "project_key": project_key,
            "entity_type": item.entity_type,
            "source_key": item.source_key,
            "source_id": item.source_id,
            "parent_key": item.parent_key,
            "payload": item.payload,
            "content_hash": digest,
            "first_seen_run_id": run_id,
            "last_seen_run_id": run_id,
            "extracted_at": now,
            "deleted_at": None,
        }

    def _known_hashes(
        self, project_key: str, entity_type: str, keys: list[str]
    ) -> dict[str, tuple[str, bool]]:
        rows = self._session.execute(
            select(t.c.source_key, t.c.content_hash, t.c.deleted_at).where(
                t.c.project_key == project_key,
                t.c.entity_type == entity_type,
                t.c.source_key.in_(keys),
            )
        )
        return {key: (digest, deleted is not None) for key, digest, deleted in rows}

    def source_states(
        self, project_key: str, entity_type: str, keys: Iterable[str]
    ) -> dict[str, StoredState]:
        """Content hash, deletion and last sighting of the stored objects among ``keys`` (absent: none)."""
        found: dict[str, StoredState] = {}
        for chunk in chunks(list(dict.fromkeys(keys))):
            rows = self._session.execute(
                select(t.c.source_key, t.c.content_hash, t.c.deleted_at, t.c.last_seen_run_id).where(
                    t.c.project_key == project_key,
                    t.c.entity_type == entity_type,
                    t.c.source_key.in_(chunk),
                )
            )
            for key, digest, deleted, seen in rows:
                found[key] = StoredState(digest, deleted is not None, seen)
        return found

    def payloads_by_key(self, project_key: str, entity_type: str, keys: Iterable[str]) -> dict[str, Any]:
        """Source key -> payload of the live (not deleted) rows of one type among ``keys``."""
        found: dict[str, Any] = {}
        for chunk in chunks(list(dict.fromkeys(keys))):
            rows = self._session.execute(
                select(t.c.source_key, t.c.payload).where(
                    t.c.project_key == project_key,
                    t.c.entity_type == entity_type,
                    t.c.source_key.in_(chunk),
                    t.c.deleted_at.is_(None),
                )
            )
            for key, payload in rows:
                found[key] = payload
        return found

    def delete_source(self, project_key: str, entity_type: str, keys: Iterable[str] | None = None) -> int:
        """Remove stored rows of one type (all of them when ``keys`` is None); returns how many.

        For the bookkeeping rows extract keeps beside the source's objects (listing checkpoints);
        an object gone from the source is marked deleted instead (:meth:`mark_unseen_deleted`).
        """
        scope = [t.c.project_key == project_key, t.c.entity_type == entity_type]
        if keys is None:
            return _rowcount(self._session.execute(delete(t).where(*scope)))
        removed = 0
        for chunk in chunks(list(keys)):
            result = self._session.execute(delete(t).where(*scope, t.c.source_key.in_(chunk)))
            removed += _rowcount(result)
        return removed

    def mark_stale_parts_deleted(
        self, project_key: str, entity_type: str, parent_keys: Iterable[str], *, run_id: int
    ) -> int:
        """Mark deleted the rows of ``entity_type`` under ``parent_keys`` that ``run_id`` did not store.

        Called after reading the parts of those parents again in ``run_id``: a part the source no
        longer has (a test case whose steps became a script) must not outlive the read.
        """
        marked = 0
        now = utcnow()
        for chunk in chunks(list(parent_keys)):
            result = self._session.execute(
                update(t)
                .where(
                    t.c.project_key == project_key,
                    t.c.entity_type == entity_type,
                    t.c.parent_key.in_(chunk),
                    t.c.deleted_at.is_(None),
                    or_(t.c.last_seen_run_id.is_(None), t.c.last_seen_run_id < run_id),
                )
                .values(deleted_at=now)
            )
            marked += _rowcount(result)
        return marked

    def mark_orphans_deleted(self, project_key: str, entity_type: str, parent_type: str) -> int:
        """Mark deleted the rows of ``entity_type`` whose parent (of ``parent_type``) is deleted or gone."""
        parent = t.alias("parent")
        alive = exists().where(
            parent.c.project_key == project_key,
            parent.c.entity_type == parent_type,
            parent.c.source_key == t.c.parent_key,
            parent.c.deleted_at.is_(None),
        )
        result = self._session.execute(
            update(t)
            .where(
                t.c.project_key == project_key,
                t.c.entity_type == entity_type,
                t.c.parent_key.is_not(None),
                t.c.deleted_at.is_(None),
                ~alive,
            )
            .values(deleted_at=utcnow())
        )
        return _rowcount(result)

    def get_source(self, project_key: str, entity_type: str, source_key: str) -> SourceRecord | None:
        """One stored raw object (deleted ones included), or None."""
        row = self._session.execute(
            select(*_COLUMNS).where(
                t.c.project_key == project_key,
                t.c.entity_type == entity_type,
                t.c.source_key == source_key,
            )
        ).first()
        return None if row is None else _record(row)

    def iter_source(
        self,
        project_key: str,
        entity_type: str,
        *,
        parent_key: str | None = None,
        include_deleted: bool = False,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[SourceRecord]:
        """Stream the raw objects of one type, ordered by source id, then source key.

        Objects without a source id come after those with one, ordered by key (the same order on
        every backend). Each page is a separate keyset query, so the caller may commit in between.

        Args:
            project_key: The Zephyr project key.
            entity_type: E.g. ``test_case``.
            parent_key: Only the children of this parent (e.g. the steps of one test case).
            include_deleted: Also yield objects a full extract no longer saw.
            page_size: Rows fetched per query.

        Yields:
            The stored objects.
        """
        base = select(*_COLUMNS).where(t.c.project_key == project_key, t.c.entity_type == entity_type)
        if parent_key is not None:
            base = base.where(t.c.parent_key == parent_key)
        if not include_deleted:
            base = base.where(t.c.deleted_at.is_(None))
        numbered = base.where(t.c.source_id.is_not(None)).order_by(t.c.source_id, t.c.source_key)
        last: tuple[Any, ...] | None = None
        while True:
            query = numbered if last is None else numbered.where(tuple_(t.c.source_id, t.c.source_key) > last)
            rows = self._page(query, page_size)
            yield from map(_record, rows)
            if len(rows) < page_size:
                break
            last = (rows[-1].source_id, rows[-1].source_key)
        # Ordered by (source_id, source_key), all NULL ids: the key order, straight off the index's
        # tail (by the key alone PostgreSQL sorted every remaining row of the type on each page).
        unnumbered = base.where(t.c.source_id.is_(None)).order_by(t.c.source_id, t.c.source_key)
        after: str | None = None
        while True:
            query = unnumbered if after is None else unnumbered.where(t.c.source_key > after)
            rows = self._page(query, page_size)
            yield from map(_record, rows)
            if len(rows) < page_size:
                break
            after = rows[-1].source_key

    def _page(self, query: Select[Any], page_size: int) -> list[Row[Any]]:
        return list(self._session.execute(query.limit(page_size)).all())

    def source_keys(self, project_key: str, entity_type: str, *, include_deleted: bool = False) -> set[str]:
        """All source keys of one type (cheap: no payloads)."""
        query = select(t.c.source_key).where(t.c.project_key == project_key, t.c.entity_type == entity_type)
        if not include_deleted:
            query = query.where(t.c.deleted_at.is_(None))
        return set(self._session.scalars(query))

    def mark_unseen_deleted(
        self,
        project_key: str,
        entity_type: str,
        *,
        since_run_id: int,
        parent_key: str | None = None,
    ) -> list[str]:
        """After a full extract of a type, mark what it did not see as deleted.

        Args:
            project_key: The Zephyr project key.
            entity_type: The type that was fully extracted.
            since_run_id: The run that started this full extract. A resumed extract passes the run
                it resumes, so objects seen before the interruption are not taken for deleted.
            parent_key: Limit to the children of one parent (e.g. after re-reading one test case's steps).

        Returns:
            The source keys newly marked deleted.
        """
        scope: list[ColumnElement[bool]] = [
            t.c.project_key == project_key,
            t.c.entity_type == entity_type,
            t.c.deleted_at.is_(None),
            or_(t.c.last_seen_run_id.is_(None), t.c.last_seen_run_id < since_run_id),
        ]
        if parent_key is not None:
            scope.append(t.c.parent_key == parent_key)
        keys = list(self._session.scalars(select(t.c.source_key).where(and_(*scope))))
        now = utcnow()
        for chunk in chunks(keys):
            self._session.execute(
                update(t)
                .where(t.c.project_key == project_key, t.c.entity_type == entity_type)
                .where(t.c.source_key.in_(chunk))
                .values(deleted_at=now)
            )
        return keys

    def deleted_source_keys(self, project_key: str, entity_type: str) -> list[str]:
        """The keys of one type marked deleted, sorted."""
        return list(
            self._session.scalars(
                select(t.c.source_key)
                .where(
                    t.c.project_key == project_key,
                    t.c.entity_type == entity_type,
                    t.c.deleted_at.is_not(None),
                )
                .order_by(t.c.source_key)
            )
        )

    def source_counts(self, project_key: str, *, include_deleted: bool = False) -> dict[str, int]:
        """Number of stored raw objects per entity type."""
        query = (
            select(t.c.entity_type, func.count())
            .where(t.c.project_key == project_key)
            .group_by(t.c.entity_type)
        )
        if not include_deleted:
            query = query.where(t.c.deleted_at.is_(None))
        return {entity_type: int(n) for entity_type, n in self._session.execute(query)}
