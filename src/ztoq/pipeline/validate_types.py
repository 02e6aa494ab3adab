"""What validation compares (:class:`ExpectedProject`) and finds (:class:`ValidationResult`).

Plain data: the validate phase fills an :class:`ExpectedProject` from the store, and the pure
comparison (:func:`ztoq.pipeline.validate_compare.compare`) turns it and what qTest holds
(:class:`ztoq.pipeline.validate_snapshot.QTestSnapshot`) into a :class:`ValidationResult`.
:func:`check_found` is the check of a type that only has to exist (modules, releases).
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ztoq.plan import PlannedEntity, resolve_refs
from ztoq.store.records import ProblemItem

PHASE = "validate"


@dataclass(frozen=True)
class ExpectedProject:
    """What qTest should hold, as the store knows it: the whole project, or one batch of a type.

    The validate phase fills one per batch (the planned entities of the batch and the qTest ids
    they and their references need); the pure comparison takes either.

    Attributes:
        planned: entity type -> its planned entities (references by source key), in store order.
        target_ids: entity type -> source key -> qTest id, for the entities qTest has (of a batch:
            those the batch names).
        source_counts: planned entity type -> how many qTest entities the Zephyr data calls for
            (:func:`ztoq.pipeline.status.source_counts`: the one rule status, reports and
            validation share).
        checked_fields: test-case field id -> label, for the fields compared (Priority, Status).
        key_field_id: the id of the test-case field that holds the Zephyr key, or None.
        key_fields: qTest object type -> the id of its "Zephyr Key" field, where it has one.
        project_key: the Zephyr project (keys of this project start with it).
        attachment_places: attachment source key -> the qTest object it was uploaded to
            (``"test-cases/12"``).
    """

    planned: Mapping[str, Sequence[PlannedEntity]] = field(default_factory=dict)
    target_ids: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    source_counts: Mapping[str, int] = field(default_factory=dict)
    checked_fields: Mapping[int, str] = field(default_factory=dict)
    key_field_id: int | None = None
    key_fields: Mapping[str, int | None] = field(default_factory=dict)
    project_key: str = ""
    attachment_places: Mapping[str, str] = field(default_factory=dict)

    def planned_of(self, entity_type: str) -> Sequence[PlannedEntity]:
        """The planned entities of a type (none when it has none)."""
        return self.planned.get(entity_type, ())

    def target_id(self, entity_type: str, source_key: str) -> int | None:
        """The qTest id of a migrated entity, or None when qTest does not have it."""
        return self.target_ids.get(entity_type, {}).get(source_key)

    def resolve(self, payload: Any) -> Any:
        """A copy of ``payload`` with every reference replaced by its qTest id.

        Raises:
            KeyError: a reference to an entity qTest does not have.
        """
        return resolve_refs(payload, self.target_id)

    def source_count(self, entity_type: str) -> int:
        """How many entities of a planned type the Zephyr data calls for."""
        return self.source_counts.get(entity_type, 0)


@dataclass
class TypeCounts:
    """Source, planned and target counts of one entity type, and how many are wrong."""

    source: int = 0
    planned: int = 0
    target: int = 0
    missing: int = 0
    mismatched: int = 0


@dataclass
class ValidationResult:
    """What validation found.

    Attributes:
        counts: entity type -> its counts, in load order.
        problems: (entity type, source key, problem) in the order found.
    """

    counts: dict[str, TypeCounts] = field(default_factory=dict)
    problems: list[tuple[str, str, ProblemItem]] = field(default_factory=list)

    @property
    def missing(self) -> int:
        """Entities missing from qTest, over every type."""
        return sum(c.missing for c in self.counts.values())

    @property
    def mismatched(self) -> int:
        """Entities that differ in qTest, over every type."""
        return sum(c.mismatched for c in self.counts.values())

    @property
    def ok(self) -> bool:
        """Nothing missing, nothing mismatched."""
        return self.missing == 0 and self.mismatched == 0

    def failure(self) -> str | None:
        """Why the validate phase failed (one sentence), or None when it found nothing wrong."""
        if self.ok:
            return None
        return f"Validation found {self.missing} missing and {self.mismatched} mismatched entities in qTest."

    def merge(self, part: ValidationResult) -> None:
        """Add the counts and problems of a validation of other types."""
        self.counts.update(part.counts)
        self.problems.extend(part.problems)

    def count(self, entity_type: str) -> TypeCounts:
        """The counts of a type (new ones at first use)."""
        return self.counts.setdefault(entity_type, TypeCounts())

    def add(self, entity_type: str, key: str, severity: str, code: str, message: str, **detail: Any) -> None:
        """Record a problem of one entity; a ``missing`` one is counted as missing.

        Args:
            entity_type: the registered type the problem is filed under.
            key: the entity's source key.
            severity: "missing" or "mismatch".
            code: machine-readable ("not_in_qtest", "name_differs", ...).
            message: one sentence.
            **detail: ``field`` (the field that differs) and what else the problem carries.
        """
        field_name = detail.pop("field", None)
        self.problems.append(
            (entity_type, key, ProblemItem(severity, code, message, field_name, detail or None))
        )
        if severity == "missing":
            self.count(entity_type).missing += 1

    def not_in_qtest(self, entity_type: str, key: str, message: str) -> None:
        """Record an entity missing from qTest."""
        self.add(entity_type, key, "missing", "not_in_qtest", message)

    def mismatch(
        self,
        entity_type: str,
        key: str,
        code: str,
        message: str,
        *,
        field: str,
        expected: Any,
        actual: Any,
        **detail: Any,
    ) -> None:
        """Record an entity that differs in qTest: the field, and the expected and actual values as text."""
        self.add(
            entity_type,
            key,
            "mismatch",
            code,
            message,
            field=field,
            expected=str(expected),
            actual=str(actual),
            **detail,
        )


def check_found(
    entity_type: str,
    expected: ExpectedProject,
    found: Container[int],
    result: ValidationResult,
    missing_message: Callable[[str], str],
) -> None:
    """Count the planned entities of a type that qTest has (their ids in ``found``); the rest are missing.

    ``expected`` may hold a batch of the type: the counts add up over the batches.

    Args:
        entity_type: a registered type counted from its Zephyr source (modules, releases).
        expected: what qTest should hold.
        found: the qTest ids of that type qTest holds.
        result: where counts and problems go.
        missing_message: the message of a missing entity, from its source key.
    """
    counts = result.count(entity_type)
    counts.source = expected.source_count(entity_type)
    planned = expected.planned_of(entity_type)
    counts.planned += len(planned)
    for entity in planned:
        if expected.target_id(entity_type, entity.source_key) in found:
            counts.target += 1
        else:
            result.not_in_qtest(entity_type, entity.source_key, missing_message(entity.source_key))


# -- what qTest holds, as read back (validate_snapshot fills these; validate_compare reads them) --


@dataclass(frozen=True, slots=True)
class StepSnapshot:
    """One step of a test case as qTest holds it."""

    description: str | None = None
    expected: str | None = None
    called_test_case_id: int | None = None


@dataclass(frozen=True, slots=True)
class CaseSnapshot:
    """A test case as qTest holds it.

    Attributes:
        id: its qTest id.
        name: its name.
        parent_id: the qTest id of its module.
        description: its description (where the Zephyr key marker may be).
        steps: its steps, in their qTest order.
        properties: field id -> field value.
    """

    id: int
    name: str | None = None
    parent_id: int | None = None
    description: str | None = None
    steps: tuple[StepSnapshot, ...] = ()
    properties: Mapping[int | None, str | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """A test run as qTest holds it: where it is and which test case it runs."""

    id: int
    parent_id: int | None = None
    test_case_id: int | None = None


@dataclass(frozen=True, slots=True)
class LogSnapshot:
    """A test log as qTest holds it.

    Attributes:
        id: its qTest id (None when qTest gave none).
        status_id: the id of its execution status.
        exe_end_date: its end date as read.
        step_status_ids: the status id of each step result, in step order.
    """

    id: int | None
    status_id: int | None = None
    exe_end_date: datetime | None = None
    step_status_ids: tuple[int | None, ...] = ()


@dataclass(frozen=True, slots=True)
class SnapshotScope:
    """What to read back, from the store's mappings.

    Attributes:
        root_module_id: the qTest id of the root module everything migrated sits under, or None
            when it was never created.
        root_module_name: the root's path when qTest gives it no name.
        cycle_release_ids: the releases whose test cycle trees are read (those the plan puts test
            cycles or cycle folders under).
        key_fields: qTest object type ("test-cases", "releases", "test-runs") -> the id of its
            "Zephyr Key" field, where it has one.
        deep_attachments: download every attachment back and hash it (not only its name and size).
    """

    root_module_id: int | None
    root_module_name: str
    cycle_release_ids: frozenset[int] = frozenset()
    key_fields: Mapping[str, int | None] = field(default_factory=dict)
    deep_attachments: bool = False


@dataclass(frozen=True, slots=True)
class AttachmentSnapshot:
    """An attachment as qTest holds it.

    Attributes:
        id: its qTest id.
        name: its file name.
        size: its size in bytes, as qTest serves it.
        sha256: the SHA-256 of its content, when it was downloaded back (deep validation).
    """

    id: int
    name: str | None
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True, slots=True)
class QTestSnapshot:
    """The migrated part of the qTest project, as read back.

    Attributes:
        module_paths: module id -> path ("ROOT/Folder/Sub") over the root module's tree.
        test_cases: test case id -> test case, for every module of that tree.
        release_ids: the ids of every release (closed ones included).
        cycle_parents: test cycle id -> the id of its parent (a release or test cycle; None at
            the project's top).
        test_runs: run id -> test run, for every migrated test cycle.
        test_logs: run id -> the run's test logs, for the runs asked for.
        carried: qTest kind ("module", "test-case", "release", "test-cycle", "test-run",
            "test-log") -> Zephyr key -> the ids of every entity read that carries it.
        attachments: qTest object (``"test-cases/12"``) -> its attachments, for the objects
            ztoq uploaded to.
    """

    module_paths: Mapping[int, str] = field(default_factory=dict)
    test_cases: Mapping[int, CaseSnapshot] = field(default_factory=dict)
    release_ids: frozenset[int] = frozenset()
    cycle_parents: Mapping[int, int | None] = field(default_factory=dict)
    test_runs: Mapping[int, RunSnapshot] = field(default_factory=dict)
    test_logs: Mapping[int, tuple[LogSnapshot, ...]] = field(default_factory=dict)
    carried: Mapping[str, Mapping[str, tuple[int, ...]]] = field(default_factory=dict)
    attachments: Mapping[str, tuple[AttachmentSnapshot, ...]] = field(default_factory=dict)


#: How one entity type is validated: expected entities and the snapshot in, problems and counts out.
Validator = Callable[["ExpectedProject", QTestSnapshot, "ValidationResult"], None]
