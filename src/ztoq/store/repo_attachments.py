"""Named queries on ``attachments``: the catalogue of the file cache, and where each file landed.

One row per attachment the source holds, keyed by the source adapter's attachment key. Its life::

    upsert_attachments()        extract lists it (``listed``), or sees it again
    record_attachment_cached()  the download put it in the file cache (``cached``, with its sha256)
    record_attachment_failed()  or the download failed (``failed``, with a reason)
    record_attachment_target()  load uploaded it to qTest

A listing that names another file (new name, locator or declared size) starts over at ``listed``.
The statements are built once per module (or per backend, for the upsert) and run with parameters.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    bindparam,
    case,
    func,
    literal,
    null,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from ztoq.store.records import AttachmentFile, AttachmentState, AttachmentTotals, ListedAttachment
from ztoq.store.repo_base import RepoBase, chunks, utcnow
from ztoq.store.tables import attachments as t

#: Reasons are kept short: one error message, not a whole page of HTML.
MAX_REASON_CHARS = 2000
#: States a download still has to fetch.
PENDING_STATES: tuple[str, ...] = (AttachmentState.LISTED.value, AttachmentState.FAILED.value)

_COLUMNS = (
    t.c.source_key,
    t.c.owner_type,
    t.c.owner_key,
    t.c.step_index,
    t.c.source_id,
    t.c.name,
    t.c.size,
    t.c.content_type,
    t.c.locator,
    t.c.sha256,
    t.c.state,
    t.c.reason,
    t.c.target_object_type,
    t.c.target_object_id,
    t.c.target_id,
    t.c.first_seen_run_id,
    t.c.last_seen_run_id,
    t.c.deleted_at.is_not(None).label("deleted"),
)

# Parameter names must differ from column names: SQLAlchemy reserves those for SET clauses.
_ROW = and_(t.c.project_key == bindparam("p_project"), t.c.source_key == bindparam("p_key"))
_CACHED = (
    update(t)
    .where(_ROW)
    .values(
        state=AttachmentState.CACHED.value,
        sha256=bindparam("p_sha256"),
        size=bindparam("p_size"),
        content_type=func.coalesce(bindparam("p_content_type", type_=String), t.c.content_type),
        reason=None,
        updated_at=bindparam("p_now"),
    )
)
_FAILED = (
    update(t)
    .where(_ROW)
    .values(
        state=AttachmentState.FAILED.value,
        sha256=None,
        reason=bindparam("p_reason"),
        updated_at=bindparam("p_now"),
    )
)
_TARGET = (
    update(t)
    .where(_ROW)
    .values(
        target_object_type=bindparam("p_object_type"),
        target_object_id=bindparam("p_object_id"),
        target_id=bindparam("p_target_id"),
        updated_at=bindparam("p_now"),
    )
)
_UNTARGET = (
    update(t)
    .where(t.c.project_key == bindparam("p_project"), t.c.source_key.in_(bindparam("p_keys", expanding=True)))
    .values(target_object_type=None, target_object_id=None, target_id=None, updated_at=bindparam("p_now"))
)
_GET = select(*_COLUMNS).where(_ROW)
#: What change detection needs of the stored rows of one batch.
_KNOWN = select(t.c.source_key, t.c.name, t.c.locator, t.c.size, t.c.deleted_at.is_not(None)).where(
    t.c.project_key == bindparam("p_project"), t.c.source_key.in_(bindparam("p_keys", expanding=True))
)

#: The owners of one kind that have files (not deleted).
_OWNER_KEYS = (
    select(t.c.owner_key)
    .where(
        t.c.project_key == bindparam("p_project"),
        t.c.owner_type == bindparam("p_owner_type"),
        t.c.deleted_at.is_(None),
    )
    .distinct()
)


@cache
def _upsert(dialect: str) -> Any:
    """INSERT new rows as ``listed``; on conflict mark seen, and start over if the file changed."""
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(t)
    new = stmt.excluded
    changed = or_(
        t.c.name != new.name,
        t.c.locator != new.locator,
        and_(new.size.is_not(None), t.c.size.is_not(None), t.c.size != new.size),
    )

    def when_changed(value: Any, otherwise: Any) -> Any:
        return case((changed, value), else_=otherwise)

    return stmt.on_conflict_do_update(
        index_elements=[t.c.project_key, t.c.source_key],
        set_={
            "owner_type": new.owner_type,
            "owner_key": new.owner_key,
            "step_index": new.step_index,
            "source_id": new.source_id,
            "name": new.name,
            "locator": new.locator,
            "size": when_changed(new.size, func.coalesce(t.c.size, new.size)),
            "content_type": when_changed(new.content_type, func.coalesce(new.content_type, t.c.content_type)),
            "sha256": when_changed(null(), t.c.sha256),
            "state": when_changed(literal(AttachmentState.LISTED.value), t.c.state),
            "reason": when_changed(null(), t.c.reason),
            "target_object_type": when_changed(null(), t.c.target_object_type),
            "target_object_id": when_changed(null(), t.c.target_object_id),
            "target_id": when_changed(null(), t.c.target_id),
            "last_seen_run_id": new.last_seen_run_id,
            "updated_at": new.updated_at,
            "deleted_at": null(),
        },
    )


def _is_new_file(known: tuple[str, str, int | None, bool], item: ListedAttachment) -> bool:
    """Whether a listing names another file than the stored row (or revives a deleted one)."""
    name, locator, size, deleted = known
    resized = item.size is not None and size is not None and size != item.size
    return deleted or name != item.name or locator != item.locator or resized


def _record(row: Sequence[Any]) -> AttachmentFile:
    return AttachmentFile(*row)


class AttachmentQueries(RepoBase):
    """The attachment catalogue: listing, download results, upload targets, totals."""

    def upsert_attachments(
        self, project_key: str, items: Sequence[ListedAttachment], *, run_id: int | None
    ) -> int:
        """Store what extract listed: new attachments as ``listed``, known ones marked as seen.

        A known attachment whose name, locator or declared size changed is another file: it loses
        its hash, download result and upload target and is ``listed`` again. Otherwise those are
        kept (a size of None declares nothing and never counts as a change). Every item gets
        ``last_seen_run_id = run_id`` and loses any ``deleted_at``. A key repeated in the batch
        keeps its last item.

        Args:
            project_key: The Zephyr project key.
            items: The listed attachments, of any owners.
            run_id: The run that saw them (drives ``mark_unseen_attachments_deleted``).

        Returns:
            How many were new, changed, or came back after being marked deleted.
        """
        latest = {item.source_key: item for item in items}
        if not latest:
            return 0
        written = 0
        for batch in chunks(list(latest.values())):
            keys = [i.source_key for i in batch]
            known = {
                key: (name, locator, size, deleted)
                for key, name, locator, size, deleted in self._session.execute(
                    _KNOWN, {"p_project": project_key, "p_keys": keys}
                )
            }
            written += sum(
                1 for i in batch if i.source_key not in known or _is_new_file(known[i.source_key], i)
            )
            now = utcnow()
            self._execute_many(_upsert(self.dialect), [_row(project_key, i, run_id, now) for i in batch])
        return written

    def mark_unseen_attachments_deleted(
        self,
        project_key: str,
        *,
        since_run_id: int,
        owner_keys: Collection[tuple[str, str]] | None = None,
    ) -> int:
        """After a full listing, mark the attachments it did not see as deleted.

        Args:
            project_key: The Zephyr project key.
            since_run_id: The run that started this listing (a resumed extract passes the run it resumes).
            owner_keys: Only the attachments of these (owner_type, owner_key) owners, whose
                attachments were all listed again; None for every attachment of the project.

        Returns:
            How many were newly marked deleted.
        """
        scope: list[ColumnElement[bool]] = [
            t.c.project_key == project_key,
            t.c.deleted_at.is_(None),
            or_(t.c.last_seen_run_id.is_(None), t.c.last_seen_run_id < since_run_id),
        ]
        now = utcnow()
        if owner_keys is None:
            return self._rowcount(update(t).where(*scope).values(deleted_at=now))
        owners = tuple_(t.c.owner_type, t.c.owner_key)
        return sum(
            self._rowcount(update(t).where(*scope, owners.in_(list(batch))).values(deleted_at=now))
            for batch in chunks(list(owner_keys))
        )

    def iter_attachments(
        self,
        project_key: str,
        *,
        states: Collection[str] | None = None,
        include_deleted: bool = False,
        batch: int = 500,
    ) -> Iterator[AttachmentFile]:
        """Stream the catalogue ordered by source key, one keyset query per ``batch`` rows.

        Args:
            project_key: The Zephyr project key.
            states: Only attachments in these ``AttachmentState`` values.
            include_deleted: Also yield attachments the source no longer holds.
            batch: Rows fetched per query (the caller may commit in between).

        Yields:
            The catalogued attachments.
        """
        base = select(*_COLUMNS).where(t.c.project_key == project_key)
        if states is not None:
            base = base.where(t.c.state.in_([str(s) for s in states]))
        if not include_deleted:
            base = base.where(t.c.deleted_at.is_(None))
        base = base.order_by(t.c.source_key).limit(batch)
        after: str | None = None
        while True:
            query = base if after is None else base.where(t.c.source_key > after)
            rows = self._session.execute(query).all()
            yield from map(_record, rows)
            if len(rows) < batch:
                return
            after = rows[-1].source_key

    def attachment_owner_keys(self, project_key: str, owner_type: str) -> frozenset[str]:
        """The keys of the owners of kind ``owner_type`` that have files the source still holds."""
        rows = self._session.execute(_OWNER_KEYS, {"p_project": project_key, "p_owner_type": owner_type})
        return frozenset(key for (key,) in rows)

    def attachments_for(self, project_key: str, source_keys: Sequence[str]) -> list[AttachmentFile]:
        """The catalogued attachments among ``source_keys`` that the source still holds, in key order."""
        found: list[AttachmentFile] = []
        for batch in chunks(list(source_keys)):
            query = select(*_COLUMNS).where(
                t.c.project_key == project_key, t.c.source_key.in_(batch), t.c.deleted_at.is_(None)
            )
            found += map(_record, self._session.execute(query))
        return sorted(found, key=lambda row: row.source_key)

    def get_attachment(self, project_key: str, source_key: str) -> AttachmentFile | None:
        """One catalogued attachment (deleted ones included), or None."""
        row = self._session.execute(_GET, {"p_project": project_key, "p_key": source_key}).first()
        return None if row is None else _record(row)

    def record_attachment_cached(
        self, project_key: str, source_key: str, *, sha256: str, size: int, content_type: str | None
    ) -> None:
        """Record that the file is in the cache: its hash, its size as downloaded, its content type.

        A content type of None keeps the one listed.
        """
        params = {"p_sha256": sha256, "p_size": size, "p_content_type": content_type}
        self._session.execute(_CACHED, self._params(project_key, source_key, params))

    def record_attachment_failed(self, project_key: str, source_key: str, reason: str) -> None:
        """Record that downloading the file failed, and why (a later download tries again)."""
        params = {"p_reason": reason[:MAX_REASON_CHARS]}
        self._session.execute(_FAILED, self._params(project_key, source_key, params))

    def record_attachment_target(
        self, project_key: str, source_key: str, *, object_type: str, object_id: int, target_id: int
    ) -> None:
        """Record where the file landed in qTest: the object it is attached to, and its attachment id.

        Args:
            project_key: The Zephyr project key.
            source_key: The attachment's key.
            object_type: The qTest object kind it is attached to (e.g. ``test-cases``).
            object_id: That object's qTest id.
            target_id: The qTest attachment id.
        """
        params = {"p_object_type": object_type, "p_object_id": object_id, "p_target_id": target_id}
        self._session.execute(_TARGET, self._params(project_key, source_key, params))

    def clear_attachment_targets(self, project_key: str, source_keys: Iterable[str]) -> int:
        """Forget where these attachments landed (their qTest objects are gone); returns how many."""
        keys = list(source_keys)
        now = utcnow()
        return sum(
            self._rowcount(_UNTARGET, {"p_project": project_key, "p_keys": list(batch), "p_now": now})
            for batch in chunks(keys)
        )

    def attachment_totals(self, project_key: str) -> list[AttachmentTotals]:
        """Number and known bytes of the attachments the source holds, per owner kind and state."""
        query = (
            select(t.c.owner_type, t.c.state, func.count(), func.coalesce(func.sum(t.c.size), 0))
            .where(t.c.project_key == project_key, t.c.deleted_at.is_(None))
            .group_by(t.c.owner_type, t.c.state)
            .order_by(t.c.owner_type, t.c.state)
        )
        return [
            AttachmentTotals(owner_type, state, int(count), int(size))
            for owner_type, state, count, size in self._session.execute(query)
        ]

    def attachment_bytes_pending(self, project_key: str) -> tuple[int, int]:
        """(count, known bytes) of the attachments a download still has to fetch (listed or failed)."""
        count, size = self._session.execute(
            select(func.count(), func.coalesce(func.sum(t.c.size), 0)).where(
                t.c.project_key == project_key,
                t.c.deleted_at.is_(None),
                t.c.state.in_(PENDING_STATES),
            )
        ).one()
        return int(count), int(size)

    @staticmethod
    def _params(project_key: str, source_key: str, values: dict[str, Any]) -> dict[str, Any]:
        return {"p_project": project_key, "p_key": source_key, "p_now": utcnow(), **values}

    def _rowcount(self, stmt: Any, params: Any = None) -> int:
        result = self._session.execute(stmt, params)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _row(project_key: str, item: ListedAttachment, run_id: int | None, now: Any) -> dict[str, Any]:
    return {
        "project_key": project_key,
        "source_key": item.source_key,
        "owner_type": item.owner_type,
        "owner_key": item.owner_key,
        "step_index": item.step_index,
        "source_id": item.source_id,
        "name": item.name,
        "size": item.size,
        "content_type": item.content_type,
        "locator": item.locator,
        "sha256": None,
        "state": AttachmentState.LISTED.value,
        "reason": None,
        "target_object_type": None,
        "target_object_id": None,
        "target_id": None,
        "first_seen_run_id": run_id,
        "last_seen_run_id": run_id,
        "updated_at": now,
        "deleted_at": None,
    }
