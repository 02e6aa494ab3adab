"""Plain values going into and coming out of the repository.

Rows are returned as frozen dataclasses rather than ORM objects: they stay valid after the session
commits or closes, and bulk statements can never leave a stale identity map behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class RunStatus(StrEnum):
    """Status of a run or of one phase of a run."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    SKIPPED = "skipped"


class MappingState(StrEnum):
    """Where a source entity stands in qTest."""

    #: The create request is about to be sent (recorded durably first, for crash reconciliation).
    INTENT = "intent"
    CREATED = "created"
    UPDATED = "updated"
    #: An entity that already existed in qTest (found by its source key) was taken over.
    ADOPTED = "adopted"
    FAILED = "failed"
    SKIPPED = "skipped"
    DELETED = "deleted"


class Severity(StrEnum):
    """How bad a recorded problem is."""

    SKIPPED = "skipped"
    DEGRADED = "degraded"
    FAILED = "failed"
    MISSING = "missing"
    MISMATCH = "mismatch"
    #: A value kept whole in text because qTest has no field for it (information; revision 0005).
    KEPT_IN_TEXT = "kept_in_text"


class AttachmentState(StrEnum):
    """Where a source attachment stands in the local file cache."""

    #: Known from the source, not downloaded yet.
    LISTED = "listed"
    #: Downloaded into the file cache (its ``sha256`` names the file).
    CACHED = "cached"
    #: The download failed; ``reason`` says why.
    FAILED = "failed"


class PlannedStatus(StrEnum):
    """Whether transform planned an entity for loading or decided to skip it."""

    PLANNED = "planned"
    SKIPPED = "skipped"


#: Mapping states in which the entity exists in qTest (its target id can be referenced).
TARGET_STATES: tuple[str, ...] = (
    MappingState.CREATED,
    MappingState.UPDATED,
    MappingState.ADOPTED,
)

#: (entity_type, source_key): how an entity is named across all tables.
EntityKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class SourceItem:
    """A raw object to store, as extract received it."""

    entity_type: str
    source_key: str
    payload: Any
    source_id: int | None = None
    parent_key: str | None = None


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """A stored raw object."""

    project_key: str
    entity_type: str
    source_key: str
    source_id: int | None
    parent_key: str | None
    payload: Any
    content_hash: str
    first_seen_run_id: int | None
    last_seen_run_id: int | None
    extracted_at: datetime
    deleted_at: datetime | None


@dataclass(slots=True)
class UpsertResult:
    """What a batch upsert found, by content hash."""

    new: list[EntityKey] = field(default_factory=list)
    changed: list[EntityKey] = field(default_factory=list)
    unchanged: list[EntityKey] = field(default_factory=list)

    @property
    def written(self) -> list[EntityKey]:
        """New and changed keys: what later phases have to process again."""
        return self.new + self.changed

    def merge(self, other: UpsertResult) -> None:
        """Add another batch's result to this one."""
        self.new.extend(other.new)
        self.changed.extend(other.changed)
        self.unchanged.extend(other.unchanged)


@dataclass(frozen=True, slots=True)
class PlannedItem:
    """A qTest payload planned by transform (references use SOURCE keys)."""

    entity_type: str
    source_key: str
    payload: Any
    depends_on: Sequence[EntityKey] = ()
    level: int = 0
    sort_key: str = ""
    source_hash: str | None = None
    status: str = "planned"


@dataclass(frozen=True, slots=True)
class PlannedRecord:
    """A stored planned entity."""

    project_key: str
    entity_type: str
    source_key: str
    payload: Any
    depends_on: list[EntityKey]
    level: int
    sort_key: str
    content_hash: str
    source_hash: str | None
    transformed_at: datetime
    status: str


@dataclass(frozen=True, slots=True)
class MappingRecord:
    """Where a source entity stands in qTest."""

    project_key: str
    entity_type: str
    source_key: str
    target_id: int | None
    target_pid: str | None
    target_version: str | None
    state: str
    intent_hash: str | None
    loaded_hash: str | None
    web_url: str | None
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    loaded_source_hash: str | None = None


@dataclass(frozen=True, slots=True)
class LoadWork:
    """A planned entity load still has to send, with its mapping if it has one."""

    planned: PlannedRecord
    mapping: MappingRecord | None


@dataclass(frozen=True, slots=True)
class ProblemItem:
    """A problem to record for one entity."""

    severity: str
    code: str
    message: str
    field: str | None = None
    detail: Any = None


@dataclass(frozen=True, slots=True)
class ProblemRecord:
    """A recorded problem."""

    id: int
    run_id: int | None
    project_key: str
    phase: str
    entity_type: str
    source_key: str
    severity: str
    code: str
    message: str
    field: str | None
    detail: Any
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RunRecord:
    """A recorded run."""

    id: int
    project_key: str
    command: str
    phases: list[str]
    status: str
    started_at: datetime
    finished_at: datetime | None
    ztoq_version: str
    stats: dict[str, Any]
    error: str | None


@dataclass(frozen=True, slots=True)
class PhaseRunRecord:
    """A recorded phase of a run."""

    id: int
    run_id: int
    phase: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    counts: dict[str, Any]
    error: str | None


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """One index of the store as ``ztoq db index analyze`` reports it."""

    table: str
    name: str
    columns: tuple[str, ...]
    exists: bool
    recommended: bool
    #: Part of the migrated schema (False: optional, created by ``ztoq db index create``).
    in_schema: bool


@dataclass(frozen=True, slots=True)
class ListedAttachment:
    """An attachment extract found in the source (not downloaded yet)."""

    #: The attachment's key in ztoq, built by the source adapter (e.g. ``test_case/PROJ-T1/101``).
    source_key: str
    #: The canonical owner kind: ``test_case``, ``test_step``, ``test_plan``, ``test_cycle``,
    #: ``test_execution`` or ``execution_step``.
    owner_type: str
    owner_key: str
    #: 0-based position of the step, for step owners.
    step_index: int | None
    source_id: str
    name: str
    #: The size the source declared, when it declares one.
    size: int | None
    content_type: str | None
    #: Where the adapter downloads it from (opaque to the store).
    locator: str


@dataclass(frozen=True, slots=True)
class AttachmentFile(ListedAttachment):
    """A catalogued attachment: what the source holds (as listed), whether it is cached, where it landed."""

    #: Content hash of the cached file (None until downloaded).
    sha256: str | None
    #: An ``AttachmentState`` value.
    state: str
    reason: str | None
    target_object_type: str | None
    target_object_id: int | None
    target_id: int | None
    first_seen_run_id: int | None
    last_seen_run_id: int | None
    #: The source no longer holds it.
    deleted: bool


@dataclass(frozen=True, slots=True)
class AttachmentTotals:
    """Number and bytes of attachments of one owner kind in one state."""

    owner_type: str
    state: str
    count: int
    #: Sum of the known sizes (unknown sizes count as 0).
    bytes: int
