"""Named queries on ``mappings``: source key -> qTest id, and the crash-safe load protocol.

The protocol, per entity::

    record_intent()   committed BEFORE the create request is sent (attempts + 1)
    <POST to qTest>
    record_created()  committed right after the answer, target id and state in one statement

A crash between the two leaves an ``intent`` without a target id: ``pending_intents()`` lists them
so load can look the entity up in qTest (by its source key field) and adopt it instead of creating
a duplicate.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import case, func, literal, select, tuple_, update

from ztoq.store.records import TARGET_STATES, MappingRecord, MappingState
from ztoq.store.repo_base import PAGE_SIZE, RepoBase, check_value, utcnow
from ztoq.store.tables import mappings as t

_KEY = (t.c.project_key, t.c.entity_type, t.c.source_key)
#: Errors are kept short: one API answer, not a whole page of HTML.
MAX_ERROR_CHARS = 2000


def _record(row: Sequence[Any]) -> MappingRecord:
    return MappingRecord(*row)


class MappingQueries(RepoBase):
    """Mappings and the intent -> created state machine."""

    def _upsert_mapping(
        self,
        project_key: str,
        entity_type: str,
        source_key: str,
        values: dict[str, Any],
        *,
        keep_if_none: tuple[str, ...] = (),
    ) -> None:
        """Insert the mapping with ``values``, or set those columns of the existing one.

        Columns named in ``keep_if_none`` keep their recorded value when the new one is None.
        """
        now = utcnow()
        row: dict[str, Any] = {
            "project_key": project_key,
            "entity_type": entity_type,
            "source_key": source_key,
            "state": MappingState.INTENT.value,
            "attempts": 0,
            "created_at": now,
            "updated_at": now,
            **values,
        }
        stmt = self._insert(t).values(row)
        set_ = {
            name: func.coalesce(stmt.excluded[name], t.c[name])
            if name in keep_if_none
            else stmt.excluded[name]
            for name in [*values, "updated_at"]
        }
        self._session.execute(stmt.on_conflict_do_update(index_elements=list(_KEY), set_=set_))

    def record_intent(self, project_key: str, entity_type: str, source_key: str, intent_hash: str) -> None:
        """Record that a request for this entity is about to be sent; commit before sending it.

        A new mapping (or one whose qTest entity was deleted) becomes an ``intent``; one that already
        has a qTest id keeps its state (the request is an update). ``attempts`` grows by one.

        Args:
            project_key: The Zephyr project key.
            entity_type: The planned type (e.g. ``test_case``).
            source_key: The source key.
            intent_hash: Content hash of the payload about to be sent.
        """
        fresh = (t.c.target_id.is_(None)) | (t.c.state == MappingState.DELETED.value)
        stmt = self._insert(t).values(
            project_key=project_key,
            entity_type=entity_type,
            source_key=source_key,
            state=MappingState.INTENT.value,
            intent_hash=intent_hash,
            attempts=1,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
        cleared = {
            name: case((t.c.state == MappingState.DELETED.value, None), else_=t.c[name])
            for name in ("target_id", "target_pid", "target_version", "web_url", "loaded_hash")
        }
        stmt = stmt.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={
                "intent_hash": stmt.excluded.intent_hash,
                "attempts": t.c.attempts + 1,
                "updated_at": stmt.excluded.updated_at,
                "state": case((fresh, literal(MappingState.INTENT.value)), else_=t.c.state),
                **cleared,
            },
        )
        self._session.execute(stmt)

    def record_created(
        self,
        project_key: str,
        entity_type: str,
        source_key: str,
        target_id: int,
        loaded_hash: str | None,
        *,
        pid: str | None = None,
        web_url: str | None = None,
        version: str | None = None,
        state: str = MappingState.CREATED,
        source_hash: str | None = None,
    ) -> None:
        """Record that qTest has the entity: its id, what it holds now, and the new state.

        One statement, so the id and the state change are never separated by a crash.

        Args:
            project_key: The Zephyr project key.
            entity_type: The planned type.
            source_key: The source key.
            target_id: The qTest id.
            loaded_hash: Content hash of what qTest now holds (the payload sent).
            pid: The qTest pid (e.g. ``TC-12``); None keeps the one recorded.
            web_url: Link to the entity in qTest; None keeps the one recorded.
            version: The qTest version (e.g. ``1.0``); None keeps the one recorded.
            state: ``created``, ``updated`` or ``adopted``.
            source_hash: Hash of the source records loaded; None keeps the one recorded.
        """
        check_value(state, MappingState, "mapping state")
        if state not in TARGET_STATES:
            raise ValueError(f"record_created() takes created, updated or adopted, not {state!r}")
        values = {
            "target_id": target_id,
            "loaded_hash": loaded_hash,
            "target_pid": pid,
            "web_url": web_url,
            "target_version": version,
            "state": str(state),
            "last_error": None,
            "loaded_source_hash": source_hash,
        }
        self._upsert_mapping(
            project_key,
            entity_type,
            source_key,
            values,
            keep_if_none=("target_pid", "web_url", "target_version", "loaded_source_hash"),
        )

    def record_failed(self, project_key: str, entity_type: str, source_key: str, error: str) -> None:
        """Record that loading the entity failed (its qTest id, if any, is kept)."""
        self._upsert_mapping(
            project_key,
            entity_type,
            source_key,
            {"state": MappingState.FAILED.value, "last_error": error[:MAX_ERROR_CHARS]},
        )

    def record_skipped(self, project_key: str, entity_type: str, source_key: str, reason: str) -> None:
        """Record that load skipped the entity on purpose (e.g. a dependency failed)."""
        self._upsert_mapping(
            project_key,
            entity_type,
            source_key,
            {"state": MappingState.SKIPPED.value, "last_error": reason[:MAX_ERROR_CHARS]},
        )

    def mark_deleted(self, project_key: str, entity_type: str, source_key: str) -> bool:
        """Record that the qTest entity was deleted; returns False when there was no mapping."""
        result = self._session.execute(
            update(t)
            .where(
                t.c.project_key == project_key, t.c.entity_type == entity_type, t.c.source_key == source_key
            )
            .values(state=MappingState.DELETED.value, updated_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def mappings_for(self, project_key: str, entity_type: str) -> dict[str, int]:
        """Source key -> qTest id for every entity of a type qTest has (to resolve references)."""
        rows = self._session.execute(
            select(t.c.source_key, t.c.target_id).where(
                t.c.project_key == project_key,
                t.c.entity_type == entity_type,
                t.c.target_id.is_not(None),
                t.c.state != MappingState.DELETED.value,
            )
        )
        return {key: int(target) for key, target in rows if target is not None}

    def iter_mappings(
        self,
        project_key: str,
        entity_type: str | None = None,
        *,
        states: Iterable[str] | None = None,
        page_size: int = PAGE_SIZE,
    ) -> Iterator[MappingRecord]:
        """Stream mappings ordered by (entity_type, source_key), optionally of some states only."""
        base = select(*t.c).where(t.c.project_key == project_key)
        if entity_type is not None:
            base = base.where(t.c.entity_type == entity_type)
        if states is not None:
            base = base.where(t.c.state.in_([str(s) for s in states]))
        base = base.order_by(t.c.entity_type, t.c.source_key)
        last: tuple[str, str] | None = None
        while True:
            query = base if last is None else base.where(tuple_(t.c.entity_type, t.c.source_key) > last)
            rows = self._session.execute(query.limit(page_size)).all()
            yield from map(_record, rows)
            if len(rows) < page_size:
                return
            last = (rows[-1].entity_type, rows[-1].source_key)

    def state_counts(self, project_key: str | None = None) -> dict[str, dict[str, int]]:
        """Number of mappings per entity type and state (all projects when ``project_key`` is None)."""
        query = select(t.c.entity_type, t.c.state, func.count()).group_by(t.c.entity_type, t.c.state)
        if project_key is not None:
            query = query.where(t.c.project_key == project_key)
        counts: dict[str, dict[str, int]] = {}
        for entity_type, state, n in self._session.execute(query):
            counts.setdefault(entity_type, {})[state] = int(n)
        return counts
