"""Named queries of validation: what it read of qTest, kept in the store rather than in memory.

Validation reads qTest a page at a time. For each page it looks up the planned entities whose
qTest id is in the page (:meth:`ValidateQueries.planned_for_targets`, served by the mappings'
``ix_mappings_target``) and records what the page holds (:meth:`ValidateQueries.add_seen`: kind,
qTest id, the Zephyr key carried). Once a kind is read, SQL finds the planned entities qTest does
not have (:meth:`ValidateQueries.planned_unseen_page`), the keys carried more than once
(:meth:`ValidateQueries.seen_duplicates`) and the keys of the project the store does not know
(:meth:`ValidateQueries.seen_unknown`), each a page at a time. Test logs are gathered by run first
(:meth:`ValidateQueries.add_latest_logs`): planned logs are stored by end date, not by run.
Attachments are searched per object type ztoq uploaded onto
(:meth:`ValidateQueries.attachment_object_types`); the objects the search does not take are
listed one by one (:meth:`ValidateQueries.attachment_places_page`). What the rounds of an overlapped
run read of the files they uploaded is kept by qTest attachment id
(:meth:`ValidateQueries.add_attachment_reads`), so that validation reads only the others.

The statements that run once per row are built once per dialect; the others once per page.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Select, and_, delete, exists, func, or_, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from ztoq.store.records import TARGET_STATES, MappingState, PlannedRecord, PlannedStatus
from ztoq.store.repo_base import IN_CHUNK, PAGE_SIZE, RepoBase, chunks
from ztoq.store.repo_delta import in_question
from ztoq.store.repo_planned import _COLUMNS, _ORDER, _record
from ztoq.store.tables import mappings as m
from ztoq.store.tables import planned_entities as p
from ztoq.store.tables import validate_attachment_reads as reads
from ztoq.store.tables import validate_latest_logs as latest
from ztoq.store.tables import validate_seen as seen

#: A mapping that names a qTest entity (what ``target_ids`` and ``mappings_for`` read).
_LIVE = and_(m.c.target_id.is_not(None), m.c.state != MappingState.DELETED.value)
#: The planned entity's mapping, when it names a qTest entity.
_MAPPED = and_(
    m.c.project_key == p.c.project_key,
    m.c.entity_type == p.c.entity_type,
    m.c.source_key == p.c.source_key,
    _LIVE,
)

#: A planned attachment's mapping that records the object it was uploaded onto (``target_pid``).
_PLACED = and_(
    m.c.project_key == p.c.project_key,
    m.c.entity_type == p.c.entity_type,
    m.c.source_key == p.c.source_key,
    m.c.state.in_([str(state) for state in TARGET_STATES]),
    m.c.target_pid.is_not(None),
)

#: Carried keys -> the qTest ids carrying each, in id order.
CarriedPage = dict[str, tuple[int, ...]]


class AttachmentRead(NamedTuple):
    """What was read of an uploaded file: its qTest id, Zephyr key, object, size and SHA-256
    (None: only its size was read)."""

    target_id: int
    source_key: str
    place: str
    size: int
    sha256: str | None


def _seen_insert(dialect: str) -> Any:
    insert = postgresql.insert(seen) if dialect == "postgresql" else sqlite.insert(seen)
    return insert.on_conflict_do_nothing(index_elements=["project_key", "kind", "target_id"])


def _reads_upsert(dialect: str) -> Any:
    """A file's read: a later one of the same qTest id replaces it."""
    insert = postgresql.insert(reads) if dialect == "postgresql" else sqlite.insert(reads)
    names = ("run_id", "source_key", "place", "size", "sha256")
    return insert.on_conflict_do_update(
        index_elements=["project_key", "target_id"], set_={n: insert.excluded[n] for n in names}
    )


def _latest_upsert(dialect: str) -> Any:
    """A run's latest planned log: a later sort key replaces it, an equal one does not."""
    insert = postgresql.insert(latest) if dialect == "postgresql" else sqlite.insert(latest)
    return insert.on_conflict_do_update(
        index_elements=["project_key", "run_key"],
        set_={"sort_key": insert.excluded.sort_key, "log_key": insert.excluded.log_key},
        where=insert.excluded.sort_key > latest.c.sort_key,
    )


#: (dialect, statement) -> the statement, built on first use.
_BUILT: dict[tuple[str, str], Any] = {}
#: Statement name -> how it is built.
_BUILDERS = {"seen": _seen_insert, "latest": _latest_upsert, "reads": _reads_upsert}


class ValidateQueries(RepoBase):
    """What validation read of qTest, and the planned entities it names."""

    def _built(self, name: str) -> Any:
        key = (self.dialect, name)
        if key not in _BUILT:
            _BUILT[key] = _BUILDERS[name](self.dialect)
        return _BUILT[key]

    # -- what qTest holds ----------------------------------------------------------------------

    def clear_seen(self, project_key: str, kind: str) -> None:
        """Forget what was read of a qTest kind (validation reads it again from the start)."""
        self._session.execute(delete(seen).where(seen.c.project_key == project_key, seen.c.kind == kind))

    def add_seen(self, project_key: str, kind: str, rows: Iterable[tuple[int, str | None]]) -> None:
        """Record qTest entities read: (qTest id, the Zephyr key it carries or None); an id already
        recorded is kept as it was."""
        values = [
            {"project_key": project_key, "kind": kind, "target_id": target_id, "source_key": key}
            for target_id, key in rows
        ]
        self._execute_many(self._built("seen"), values)

    def seen_among(self, project_key: str, kind: str, target_ids: Iterable[int]) -> set[int]:
        """The ids among ``target_ids`` that were read of a qTest kind."""
        query = select(seen.c.target_id).where(seen.c.project_key == project_key, seen.c.kind == kind)
        found: set[int] = set()
        for chunk in chunks(sorted(set(target_ids))):
            found.update(self._session.scalars(query.where(seen.c.target_id.in_(chunk))))
        return found

    def mapped_targets_among(self, project_key: str, entity_type: str, target_ids: Iterable[int]) -> set[int]:
        """The ids among ``target_ids`` that a mapping of ``entity_type`` names (not deleted)."""
        query = select(m.c.target_id).where(
            m.c.project_key == project_key, m.c.entity_type == entity_type, _LIVE
        )
        found: set[int] = set()
        for chunk in chunks(sorted(set(target_ids))):
            found.update(int(i) for i in self._session.scalars(query.where(m.c.target_id.in_(chunk))))
        return found

    # -- planned entities by what qTest holds -----------------------------------------------------

    def planned_for_targets(
        self, project_key: str, entity_type: str, target_ids: Collection[int]
    ) -> list[PlannedRecord]:
        """The planned (not skipped) entities of a type whose qTest id is among ``target_ids``, in
        load order (level, sort key, source key)."""
        query = (
            select(*_COLUMNS)
            .join(m, _MAPPED)
            .where(
                p.c.project_key == project_key,
                p.c.entity_type == entity_type,
                p.c.status == PlannedStatus.PLANNED,
            )
        )
        rows = [
            row
            for chunk in chunks(sorted(set(target_ids)))
            for row in self._session.execute(query.where(m.c.target_id.in_(chunk)))
        ]
        records = [_record(row) for row in rows]
        records.sort(key=lambda r: (r.level, r.sort_key, r.source_key))
        return records

    def planned_unseen_page(
        self,
        project_key: str,
        entity_type: str,
        kind: str,
        *,
        after: tuple[int, str, str] | None = None,
        limit: int = PAGE_SIZE,
        changed_since: datetime | None = None,
    ) -> list[PlannedRecord]:
        """One keyset page of the planned entities of a type that qTest does not hold: no qTest
        id, or one that was not read of ``kind`` (:meth:`add_seen`).

        Args:
            project_key: The Zephyr project key.
            entity_type: The planned type.
            kind: The qTest kind its entities were read as.
            after: The (level, sort key, source key) of the last item of the previous page.
            limit: At most this many items.
            changed_since: Only those in question since this time (a delta validation:
                :func:`~ztoq.store.repo_delta.in_question`).
        """
        was_seen = exists().where(
            seen.c.project_key == project_key, seen.c.kind == kind, seen.c.target_id == m.c.target_id
        )
        query = (
            select(*_COLUMNS)
            .select_from(p.outerjoin(m, _MAPPED))
            .where(
                p.c.project_key == project_key,
                p.c.entity_type == entity_type,
                p.c.status == PlannedStatus.PLANNED,
                or_(m.c.target_id.is_(None), ~was_seen),
            )
        )
        if changed_since is not None:
            query = query.where(in_question(project_key, entity_type, changed_since))
        if after is not None:
            query = query.where(tuple_(*_ORDER) > after)
        return [_record(row) for row in self._session.execute(query.order_by(*_ORDER).limit(limit))]

    # -- attachments by the object they are on -----------------------------------------------------

    def _placed(self, project_key: str, object_type: str) -> Any:
        """The places (``"test-cases/12"``) of the planned attachments uploaded onto ``object_type``."""
        return (
            select(m.c.target_pid)
            .select_from(p.join(m, _PLACED))
            .where(
                p.c.project_key == project_key,
                p.c.entity_type == "attachment",
                p.c.status == PlannedStatus.PLANNED,
                m.c.target_pid.startswith(f"{object_type}/", autoescape=True),
            )
        )

    def attachment_object_types(self, project_key: str, object_types: Iterable[str]) -> list[str]:
        """The object types among ``object_types`` that planned attachments were uploaded onto
        (their mappings record the object), in the order given."""
        return [
            object_type
            for object_type in object_types
            if self._session.execute(self._placed(project_key, object_type).limit(1)).first() is not None
        ]

    def attachment_places_page(
        self,
        project_key: str,
        object_type: str,
        *,
        after: str | None = None,
        limit: int = PAGE_SIZE,
        changed_since: datetime | None = None,
    ) -> list[str]:
        """One keyset page, in text order, of the objects of ``object_type`` that planned attachments
        were uploaded onto, as places (``"test-step-logs/7"``), each once (``changed_since``: only
        of the attachments in question since then, :func:`~ztoq.store.repo_delta.in_question`)."""
        query = self._placed(project_key, object_type).distinct()
        if changed_since is not None:
            query = query.where(in_question(project_key, "attachment", changed_since))
        if after is not None:
            query = query.where(m.c.target_pid > after)
        return [str(place) for place in self._session.scalars(query.order_by(m.c.target_pid).limit(limit))]

    # -- uploaded files read back by the rounds of an overlapped run ------------------------------

    def attachment_uploads(self, project_key: str, source_keys: Iterable[str]) -> list[tuple[str, int, str]]:
        """(Zephyr key, qTest id, place) of the attachments among ``source_keys`` that qTest holds
        where their mappings record it, in key order."""
        query = select(m.c.source_key, m.c.target_id, m.c.target_pid).where(
            m.c.project_key == project_key,
            m.c.entity_type == "attachment",
            m.c.state.in_([str(state) for state in TARGET_STATES]),
            m.c.target_id.is_not(None),
            m.c.target_pid.is_not(None),
        )
        found = [
            (str(key), int(target_id), str(place))
            for chunk in chunks(sorted(set(source_keys)))
            for key, target_id, place in self._session.execute(query.where(m.c.source_key.in_(chunk)))
        ]
        return sorted(found)

    def add_attachment_reads(self, project_key: str, run_id: int, rows: Iterable[AttachmentRead]) -> None:
        """Keep what run ``run_id`` read of uploaded files (a file's earlier read is replaced)."""
        values = [{"project_key": project_key, "run_id": run_id, **row._asdict()} for row in rows]
        self._execute_many(self._built("reads"), values)

    def attachment_reads_among(
        self, project_key: str, run_id: int, target_ids: Iterable[int]
    ) -> dict[int, AttachmentRead]:
        """What run ``run_id`` read of the files among ``target_ids``, by qTest id."""
        query = select(*(reads.c[name] for name in AttachmentRead._fields)).where(
            reads.c.project_key == project_key, reads.c.run_id == run_id
        )
        return {
            int(row.target_id): AttachmentRead(*row)
            for chunk in chunks(sorted(set(target_ids)))
            for row in self._session.execute(query.where(reads.c.target_id.in_(chunk)))
        }

    def clear_attachment_reads(self, project_key: str, *, keep_run: int | None = None) -> None:
        """Forget what was read of uploaded files, but for run ``keep_run``'s reads when given."""
        query = delete(reads).where(reads.c.project_key == project_key)
        if keep_run is not None:
            query = query.where(reads.c.run_id != keep_run)
        self._session.execute(query)

    # -- keys carried -------------------------------------------------------------------------------

    def _carried(
        self, project_key: str, kind: str, keys: Select[Any], after: str | None, limit: int
    ) -> tuple[CarriedPage, str | None]:
        """A page of ``keys`` (a query of distinct ``validate_seen.source_key``) with their ids, and
        the key to ask the next page after (None: this is the last page)."""
        size = min(limit, IN_CHUNK)
        query = keys.order_by(seen.c.source_key)
        if after is not None:
            query = query.where(seen.c.source_key > after)
        page = [str(key) for key in self._session.scalars(query.limit(size))]
        found: dict[str, list[int]] = {key: [] for key in page}
        if page:
            ids = select(seen.c.source_key, seen.c.target_id).where(
                seen.c.project_key == project_key, seen.c.kind == kind, seen.c.source_key.in_(page)
            )
            for key, target_id in self._session.execute(ids):
                found[key].append(int(target_id))
        carried = {key: tuple(sorted(targets)) for key, targets in found.items()}
        return carried, (page[-1] if len(page) == size else None)

    def seen_duplicates(
        self, project_key: str, kind: str, *, after: str | None = None, limit: int = IN_CHUNK
    ) -> tuple[CarriedPage, str | None]:
        """A page of the Zephyr keys that more than one qTest entity read of ``kind`` carries, with
        their ids, and the key to ask the next page after (None: the last page)."""
        keys = (
            select(seen.c.source_key)
            .where(seen.c.project_key == project_key, seen.c.kind == kind, seen.c.source_key.is_not(None))
            .group_by(seen.c.source_key)
            .having(func.count() > 1)
        )
        return self._carried(project_key, kind, keys, after, limit)

    def seen_unknown(
        self,
        project_key: str,
        kind: str,
        entity_types: Sequence[str],
        prefix: str,
        *,
        after: str | None = None,
        limit: int = IN_CHUNK,
    ) -> tuple[CarriedPage, str | None]:
        """A page of the keys starting with ``prefix`` that qTest entities read of ``kind`` carry
        and that no type of ``entity_types`` knows (as ``known_keys_among`` tells), with their ids,
        and the key to ask the next page after (None: the last page)."""
        planned = exists().where(
            p.c.project_key == project_key,
            p.c.entity_type.in_(list(entity_types)),
            p.c.status == PlannedStatus.PLANNED,
            p.c.source_key == seen.c.source_key,
        )
        migrated = exists().where(
            m.c.project_key == project_key,
            m.c.entity_type.in_(list(entity_types)),
            m.c.source_key == seen.c.source_key,
            _LIVE,
        )
        keys = (
            select(seen.c.source_key)
            .where(
                seen.c.project_key == project_key,
                seen.c.kind == kind,
                seen.c.source_key.startswith(prefix, autoescape=True),
                ~planned,
                ~migrated,
            )
            .group_by(seen.c.source_key)
        )
        return self._carried(project_key, kind, keys, after, limit)

    # -- test logs by run -------------------------------------------------------------------------

    def planned_refs_page(
        self,
        project_key: str,
        entity_type: str,
        *,
        after: tuple[int, str, str] | None = None,
        limit: int = PAGE_SIZE,
    ) -> list[tuple[int, str, str, list[tuple[str, str]]]]:
        """One keyset page, in load order, of the planned (not skipped) entities of a type without
        their payloads: (level, sort key, source key, what it depends on)."""
        query = select(p.c.level, p.c.sort_key, p.c.source_key, p.c.depends_on).where(
            p.c.project_key == project_key,
            p.c.entity_type == entity_type,
            p.c.status == PlannedStatus.PLANNED,
        )
        if after is not None:
            query = query.where(tuple_(*_ORDER) > after)
        return [
            (int(level), str(sort_key), str(key), [(str(d[0]), str(d[1])) for d in depends or ()])
            for level, sort_key, key, depends in self._session.execute(query.order_by(*_ORDER).limit(limit))
        ]

    def clear_latest_logs(self, project_key: str) -> None:
        """Forget the latest planned log of every run (validation gathers them again)."""
        self._session.execute(delete(latest).where(latest.c.project_key == project_key))

    def add_latest_logs(self, project_key: str, rows: Iterable[tuple[str, str, str]]) -> None:
        """Take in (run key, sort key, log key) of planned logs: each run keeps the one with the
        greatest sort key, the first recorded of equals."""
        values = [
            {"project_key": project_key, "run_key": run, "sort_key": sort_key, "log_key": log}
            for run, sort_key, log in rows
        ]
        self._execute_many(self._built("latest"), values)

    def latest_logs_page(
        self, project_key: str, *, after: str | None = None, limit: int = PAGE_SIZE
    ) -> list[tuple[str, str]]:
        """One keyset page, by run key, of (run key, key of the run's latest planned log)."""
        query = select(latest.c.run_key, latest.c.log_key).where(latest.c.project_key == project_key)
        if after is not None:
            query = query.where(latest.c.run_key > after)
        rows = self._session.execute(query.order_by(latest.c.run_key).limit(limit))
        return [(str(run), str(log)) for run, log in rows]
