"""Named queries on ``mappings``: source key -> qTest id, and the crash-safe load protocol.

The protocol, per batch of entities::

    record_intents()   committed BEFORE any create request of the batch is sent (attempts + 1)
    <POSTs to qTest>
    record_results()   committed after the answers, target id and state in one statement per row

A crash between the two leaves ``intent`` rows without a target id: load looks each entity up in
qTest (by its source key field) and adopts it instead of creating a duplicate.

The statements of this hot path are built once per dialect (:func:`_statement`) and executed with
bound parameters, a batch as one executemany: building an upsert costs more than running it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from ztoq.store.records import TARGET_STATES, EntityKey, MappingRecord, MappingState
from ztoq.store.repo_base import IN_CHUNK, PAGE_SIZE, RepoBase, check_value, chunks, utcnow
from ztoq.store.tables import mappings as t

_KEY = (t.c.project_key, t.c.entity_type, t.c.source_key)
#: Errors are kept short: one API answer, not a whole page of HTML.
MAX_ERROR_CHARS = 2000
#: Recorded values that keep the recorded one when the new one is None.
_KEPT_IF_NONE = ("target_pid", "web_url", "target_version", "loaded_source_hash")


@dataclass(frozen=True, slots=True)
class TargetRecord:
    """What qTest answered for one entity, to record with :meth:`MappingQueries.record_results`.

    Attributes:
        source_key: The source key.
        target_id: The qTest id.
        loaded_hash: Content hash of what qTest now holds (the payload sent; None: unknown).
        state: ``created``, ``updated`` or ``adopted``.
        pid: The qTest pid (``TC-12``); None keeps the one recorded.
        web_url: Link to the entity in qTest; None keeps the one recorded.
        version: The qTest version (``1.0``); None keeps the one recorded.
        source_hash: Hash of the source records loaded; None keeps the one recorded.
    """

    source_key: str
    target_id: int
    loaded_hash: str | None
    state: str = MappingState.CREATED
    pid: str | None = None
    web_url: str | None = None
    version: str | None = None
    source_hash: str | None = None


def _record(row: Sequence[Any]) -> MappingRecord:
    return MappingRecord(*row)


def _upsert(dialect: str, set_: Callable[[Any], dict[str, Any]]) -> Any:
    insert = postgresql.insert(t) if dialect == "postgresql" else sqlite.insert(t)
    return insert.on_conflict_do_update(index_elements=list(_KEY), set_=set_(insert.excluded))


def _intent_upsert(dialect: str) -> Any:
    """A new mapping (or one whose qTest entity was deleted) becomes an ``intent``; one with a qTest
    id keeps its state (the request is an update). ``attempts`` grows by one."""
    deleted = t.c.state == MappingState.DELETED.value
    fresh = t.c.target_id.is_(None) | deleted
    cleared = {
        name: case((deleted, None), else_=t.c[name])
        for name in ("target_id", "target_pid", "target_version", "web_url", "loaded_hash")
    }
    return _upsert(
        dialect,
        lambda excluded: {
            "intent_hash": excluded.intent_hash,
            "attempts": t.c.attempts + 1,
            "updated_at": excluded.updated_at,
            "state": case((fresh, literal(MappingState.INTENT.value)), else_=t.c.state),
            **cleared,
        },
    )


def _result_upsert(dialect: str) -> Any:
    """The qTest id, what it holds and the state, in one statement."""
    replaced = ("target_id", "loaded_hash", "state", "last_error", "updated_at")
    return _upsert(
        dialect,
        lambda excluded: {
            **{name: excluded[name] for name in replaced},
            **{name: func.coalesce(excluded[name], t.c[name]) for name in _KEPT_IF_NONE},
        },
    )


def _outcome_upsert(dialect: str) -> Any:
    """A failed or skipped entity: the state and why (its qTest id, if any, is kept)."""
    return _upsert(
        dialect, lambda excluded: {name: excluded[name] for name in ("state", "last_error", "updated_at")}
    )


_BUILDERS: dict[str, Callable[[str], Any]] = {
    "intent": _intent_upsert,
    "result": _result_upsert,
    "outcome": _outcome_upsert,
}
#: (dialect, statement name) -> the statement, built on first use.
_BUILT: dict[tuple[str, str], Any] = {}


def _statement(dialect: str, name: str) -> Any:
    """The prepared upsert ``name`` for ``dialect`` (immutable, so shared by every session)."""
    built = _BUILT.get((dialect, name))
    if built is None:
        built = _BUILT[(dialect, name)] = _BUILDERS[name](dialect)
    return built


class MappingQueries(RepoBase):
    """Mappings and the intent -> created state machine."""

    def _upsert_rows(self, name: str, project_key: str, entity_type: str, rows: list[dict[str, Any]]) -> None:
        now = utcnow()
        for row in rows:
            row.update(project_key=project_key, entity_type=entity_type, created_at=now, updated_at=now)
        self._execute_many(_statement(self.dialect, name), rows)

    def record_intent(self, project_key: str, entity_type: str, source_key: str, intent_hash: str) -> None:
        """Record that a request for this entity is about to be sent; commit before sending it.

        See :meth:`record_intents`.
        """
        self.record_intents(project_key, entity_type, [(source_key, intent_hash)])

    def record_intents(self, project_key: str, entity_type: str, intents: Iterable[tuple[str, str]]) -> None:
        """Record that requests for these entities are about to be sent; commit before sending any.

        A new mapping (or one whose qTest entity was deleted) becomes an ``intent``; one that already
        has a qTest id keeps its state (the request is an update). ``attempts`` grows by one.

        Args:
            project_key: The Zephyr project key.
            entity_type: The planned type (e.g. ``test_case``).
            intents: (source key, content hash of the payload about to be sent) per entity.
        """
        rows = [
            {"source_key": key, "intent_hash": intent_hash, "state": MappingState.INTENT.value, "attempts": 1}
            for key, intent_hash in intents
        ]
        self._upsert_rows("intent", project_key, entity_type, rows)

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
        record = TargetRecord(source_key, target_id, loaded_hash, state, pid, web_url, version, source_hash)
        self.record_results(project_key, entity_type, [record])

    def record_results(self, project_key: str, entity_type: str, results: Iterable[TargetRecord]) -> None:
        """:meth:`record_created` for many entities of one type: one statement per row, one executemany."""
        rows: list[dict[str, Any]] = []
        for r in results:
            check_value(r.state, MappingState, "mapping state")
            if r.state not in TARGET_STATES:
                raise ValueError(f"record_created() takes created, updated or adopted, not {r.state!r}")
            rows.append(
                {
                    "source_key": r.source_key,
                    "target_id": r.target_id,
                    "loaded_hash": r.loaded_hash,
                    "target_pid": r.pid,
                    "web_url": r.web_url,
                    "target_version": r.version,
                    "state": str(r.state),
                    "last_error": None,
                    "loaded_source_hash": r.source_hash,
                    "attempts": 0,
                }
            )
        self._upsert_rows("result", project_key, entity_type, rows)

    def record_failed(self, project_key: str, entity_type: str, source_key: str, error: str) -> None:
        """Record that loading the entity failed (its qTest id, if any, is kept)."""
        self.record_outcomes(project_key, entity_type, [(source_key, MappingState.FAILED, error)])

    def record_skipped(self, project_key: str, entity_type: str, source_key: str, reason: str) -> None:
        """Record that load skipped the entity on purpose (e.g. a dependency failed)."""
        self.record_outcomes(project_key, entity_type, [(source_key, MappingState.SKIPPED, reason)])

    def record_outcomes(
        self, project_key: str, entity_type: str, outcomes: Iterable[tuple[str, str, str]]
    ) -> None:
        """Record entities load failed or skipped: (source key, ``failed``/``skipped``, why) each."""
        rows = []
        for key, state, reason in outcomes:
            if state not in (MappingState.FAILED, MappingState.SKIPPED):
                raise ValueError(f"record_outcomes() takes failed or skipped, not {state!r}")
            rows.append(
                {
                    "source_key": key,
                    "state": str(state),
                    "last_error": reason[:MAX_ERROR_CHARS],
                    "attempts": 0,
                }
            )
        self._upsert_rows("outcome", project_key, entity_type, rows)

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

    def target_ids(self, project_key: str, keys: Iterable[EntityKey]) -> dict[EntityKey, int]:
        """The qTest id of each of ``keys`` that qTest has (one query per ``IN_CHUNK`` keys).

        What a batch of planned entities refers to, read in one go instead of every mapping.
        """
        by_type: dict[str, set[str]] = {}
        for entity_type, key in keys:
            by_type.setdefault(entity_type, set()).add(key)
        pairs = [(entity_type, key) for entity_type, found in by_type.items() for key in sorted(found)]
        ids: dict[EntityKey, int] = {}
        for chunk in chunks(pairs, IN_CHUNK):
            typed: dict[str, list[str]] = {}
            for entity_type, key in chunk:
                typed.setdefault(entity_type, []).append(key)
            rows = self._session.execute(
                select(t.c.entity_type, t.c.source_key, t.c.target_id).where(
                    t.c.project_key == project_key,
                    or_(*(and_(t.c.entity_type == et, t.c.source_key.in_(ks)) for et, ks in typed.items())),
                    t.c.target_id.is_not(None),
                    t.c.state != MappingState.DELETED.value,
                )
            )
            ids.update({(et, key): int(target) for et, key, target in rows})
        return ids

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
