"""The tables of the intermediate store, declared the SQLAlchemy 2 way.

Every table except ``locks`` is scoped by ``project_key`` (the Zephyr project key) so one store can
hold several projects. The schema itself is created and upgraded only by the Alembic migrations in
``ztoq/store/migrations``; a test compares these declarations with the migrations so they cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ztoq.store.records import AttachmentState, MappingState, PlannedStatus, RunStatus, Severity


def _check(column: str, values: type[StrEnum]) -> CheckConstraint:
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite has no timezone type, so values are stored as naive UTC there and made aware again on
    the way out; PostgreSQL stores ``timestamptz`` and answers in the session's zone, so convert.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("ztoq stores timezone-aware timestamps only; got a naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: JSON everywhere; JSONB on PostgreSQL (smaller, indexable). Python None is stored as SQL NULL.
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
#: For payloads, which are NOT NULL: a None payload (an API answering ``null``) is stored as JSON null.
JSONPayload = JSON().with_variant(JSONB(), "postgresql")

#: A 64-bit autoincrementing key; SQLite only autoincrements a plain INTEGER primary key.
BigId = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of the store tables (constraint names follow ``NAMING_CONVENTION``)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Run(Base):
    """One ztoq command run: what it did, how it ended, its API statistics."""

    __tablename__ = "runs"
    # AUTOINCREMENT on SQLite keeps run ids strictly increasing, which deletion detection relies on.
    __table_args__ = (
        _check("status", RunStatus),
        Index("ix_runs_project", "project_key", "started_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_key: Mapped[str] = mapped_column(String(64))
    command: Mapped[str] = mapped_column(String(64))
    phases: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ztoq_version: Mapped[str] = mapped_column(String(32))
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)


class PhaseRun(Base):
    """One phase within a run, with its per-entity-type progress counts."""

    __tablename__ = "phase_runs"
    __table_args__ = (_check("status", RunStatus), Index("ix_phase_runs_run", "run_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    phase: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    error: Mapped[str | None] = mapped_column(Text)


class SourceEntity(Base):
    """A raw Zephyr (or qTest metadata) object exactly as extract received it."""

    __tablename__ = "source_entities"
    __table_args__ = (
        Index("ix_source_entities_parent", "project_key", "entity_type", "parent_key"),
        # Serves the ordered, keyset-paginated iteration by (source_id, source_key).
        Index("ix_source_entities_order", "project_key", "entity_type", "source_id", "source_key"),
    )

    project_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    source_id: Mapped[int | None] = mapped_column(BigInteger)
    parent_key: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[Any] = mapped_column(JSONPayload)
    content_hash: Mapped[str] = mapped_column(String(64))
    # Plain run ids, no foreign keys: these are written for every row of every extract, and a
    # per-row foreign-key check would cost PostgreSQL a third of the upsert time. Runs are never deleted.
    first_seen_run_id: Mapped[int | None] = mapped_column(Integer)
    last_seen_run_id: Mapped[int | None] = mapped_column(Integer)
    extracted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PlannedEntity(Base):
    """A qTest payload planned by transform; references point at SOURCE keys until load resolves them."""

    __tablename__ = "planned_entities"
    __table_args__ = (
        _check("status", PlannedStatus),
        # (level, sort_key, source_key) is the load order within a type; the index serves it directly.
        Index("ix_planned_entities_level", "project_key", "entity_type", "level", "sort_key", "source_key"),
    )

    project_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    payload: Mapped[Any] = mapped_column(JSONPayload)
    depends_on: Mapped[list[list[str]] | None] = mapped_column(JSONType)
    level: Mapped[int] = mapped_column(Integer)
    # Never NULL ('' when unused): NULLs sort differently on SQLite and PostgreSQL.
    sort_key: Mapped[str] = mapped_column(String(255))
    content_hash: Mapped[str] = mapped_column(String(64))
    source_hash: Mapped[str | None] = mapped_column(String(64))
    transformed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))


class MappingRow(Base):
    """Source key -> qTest id, and the crash-safety state machine of loading it."""

    __tablename__ = "mappings"
    __table_args__ = (
        _check("state", MappingState),
        Index("ix_mappings_state", "project_key", "entity_type", "state"),
        # Reverse lookups by qTest id: validation pages of qTest to the planned entities (revision 0006).
        Index("ix_mappings_target", "project_key", "entity_type", "target_id"),
    )

    project_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    entity_type: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    target_pid: Mapped[str | None] = mapped_column(String(64))
    target_version: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    intent_hash: Mapped[str | None] = mapped_column(String(64))
    loaded_hash: Mapped[str | None] = mapped_column(String(64))
    web_url: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Hash of the source records the entity was last loaded from (revision 0002).
    loaded_source_hash: Mapped[str | None] = mapped_column(String(64))


class Problem(Base):
    """A value degraded or skipped, an entity that failed, or a validation mismatch."""

    __tablename__ = "problems"
    __table_args__ = (
        _check("severity", Severity),
        Index("ix_problems_severity", "project_key", "phase", "severity"),
        # Serves replace_problems(): delete what an entity's previous processing recorded.
        Index("ix_problems_entity", "project_key", "phase", "entity_type", "source_key"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    project_key: Mapped[str] = mapped_column(String(64))
    phase: Mapped[str] = mapped_column(String(16))
    entity_type: Mapped[str] = mapped_column(String(64))
    source_key: Mapped[str] = mapped_column(String(255))
    severity: Mapped[str] = mapped_column(String(16))
    code: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    field: Mapped[str | None] = mapped_column(String(255))
    detail: Mapped[Any] = mapped_column(JSONType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AttachmentRow(Base):
    """One attachment the source holds: the file cache's catalogue, and where it landed in qTest."""

    __tablename__ = "attachments"
    __table_args__ = (
        _check("state", AttachmentState),
        Index("ix_attachments_owner", "project_key", "owner_type", "owner_key"),
        Index("ix_attachments_sha", "project_key", "sha256"),
    )

    project_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    owner_type: Mapped[str] = mapped_column(String(32))
    owner_key: Mapped[str] = mapped_column(String(255))
    step_index: Mapped[int | None] = mapped_column(Integer)
    source_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(BigInteger)
    content_type: Mapped[str | None] = mapped_column(String(255))
    locator: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    target_object_type: Mapped[str | None] = mapped_column(String(32))
    target_object_id: Mapped[int | None] = mapped_column(BigInteger)
    target_id: Mapped[int | None] = mapped_column(BigInteger)
    # Plain run ids, no foreign keys, as in source_entities.
    first_seen_run_id: Mapped[int | None] = mapped_column(Integer)
    last_seen_run_id: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ValidateSeen(Base):
    """What the running validation read of qTest (revision 0006): one row per qTest entity.

    Validation reads qTest a page at a time and keeps none of it in memory: each qTest entity read
    of a kind is a row here (its id and the Zephyr key it carries), so which planned entities qTest
    does not have and which keys it holds twice or does not know are found with SQL. A kind's rows
    are replaced each time validation reads that kind again.
    """

    __tablename__ = "validate_seen"
    __table_args__ = (Index("ix_validate_seen_key", "project_key", "kind", "source_key"),)

    project_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    target_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    source_key: Mapped[str | None] = mapped_column(String(255))


class ValidateLatestLog(Base):
    """The latest planned test log of each test run, for the running validation (revision 0006).

    Planned test logs are stored in the order of their end dates, so the logs of one run are far
    apart; validation gathers here, a page of planned logs at a time, each run's latest one (the
    greatest sort key, the first of equals), then reads the runs' logs from qTest a page of runs
    at a time.
    """

    __tablename__ = "validate_latest_logs"

    project_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    run_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    sort_key: Mapped[str] = mapped_column(String(255))
    log_key: Mapped[str] = mapped_column(String(255))


class ValidateAttachmentRead(Base):
    """What a round of an overlapped run read of a file it uploaded (revision 0007).

    When validate follows load in the run, each round of attachments reads back the size (or,
    with ``migration.verify_attachment_content``, the SHA-256) of the files it uploaded, right
    after uploading them; the validation of attachments then reads only the files this run has no
    row for. A cache keyed by qTest attachment id: a file uploaded again has another id, and only
    the rows of the running ``run_id`` are used (a standalone validation reads everything).
    """

    __tablename__ = "validate_attachment_reads"

    project_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    target_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    run_id: Mapped[int] = mapped_column(Integer)
    source_key: Mapped[str] = mapped_column(String(255))
    place: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))


class LockRow(Base):
    """A named lock row: who holds it and when it last proved to be alive."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime)


def _table(model: type[Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


runs = _table(Run)
phase_runs = _table(PhaseRun)
source_entities = _table(SourceEntity)
planned_entities = _table(PlannedEntity)
mappings = _table(MappingRow)
problems = _table(Problem)
attachments = _table(AttachmentRow)
validate_seen = _table(ValidateSeen)
validate_latest_logs = _table(ValidateLatestLog)
validate_attachment_reads = _table(ValidateAttachmentRead)
locks = _table(LockRow)

#: Every store table, in an order that respects foreign keys (parents first).
ALL_TABLES: tuple[Table, ...] = (
    runs,
    phase_runs,
    source_entities,
    planned_entities,
    mappings,
    problems,
    attachments,
    validate_seen,
    validate_latest_logs,
    validate_attachment_reads,
    locks,
)


@dataclass(frozen=True)
class IndexSpec:
    """An index by name, table and columns (not attached to the metadata)."""

    name: str
    table: str
    columns: tuple[str, ...]


#: Indexes that are not part of the migrated schema but help large migrations (`ztoq db index create`):
#: problem listings by code, deletion detection (reverse lookups by qTest id are in the schema since
#: revision 0006).
OPTIONAL_INDEXES: tuple[IndexSpec, ...] = (
    IndexSpec("ix_problems_code", "problems", ("project_key", "code")),
    IndexSpec(
        "ix_source_entities_seen", "source_entities", ("project_key", "entity_type", "last_seen_run_id")
    ),
)
OPTIONAL_INDEX_NAMES: frozenset[str] = frozenset(ix.name for ix in OPTIONAL_INDEXES)
