"""Validate: read qTest back (never the local store's idea of it) and compare with the source.

The phase validates one entity type after another (:func:`validate_types`, in load order; the
whole phase is :func:`run_validate`), each a batch of ``performance.batch_size`` planned entities
at a time: a keyset page of the store, the qTest ids that page names (:func:`read_batch`), and
the part of qTest the type needs, read back once for it and let go when no type left needs it
(:class:`~ztoq.pipeline.validate_snapshot.ReadBack`). The comparison is pure
(:mod:`ztoq.pipeline.validate_compare`); what each batch finds is written to the store as it is
found, so neither the project's planned entities nor its problems are ever held whole. For the
test design side it checks every module and, for every test case: it exists, its name, its module
path, its steps in order (description, expected result, called test case), its priority and
status, and that its Zephyr key is visible. For the execution side: every release and test cycle
exists under the right parent, every run under its cycle with its test case, and every execution
that ran is a log on its run with its status, end date and step results, the run's latest log
being the latest execution. Differences become ``missing`` and ``mismatch`` problems (replacing
those of the previous validation of the type) and make the run fail.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace

from ztoq.entities import BY_NAME, LOAD_ORDER
from ztoq.mapping.modules import ROOT_KEY
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.progress import ProgressReporter
from ztoq.pipeline.status import source_counts
from ztoq.pipeline.target import load_target_fields, source_key_field_ids
from ztoq.pipeline.validate_attachments import read_attachments
from ztoq.pipeline.validate_compare import (
    BATCH_VALIDATORS,
    VALIDATORS,
    carried_case_keys,
    finish_type,
    start_type,
)
from ztoq.pipeline.validate_compare_execution import LatestLogs
from ztoq.pipeline.validate_keys import Carried, KnownKeys, report_duplicated_keys, report_unknown_keys
from ztoq.pipeline.validate_snapshot import PARTS, ReadBack
from ztoq.pipeline.validate_types import PHASE, ExpectedProject, SnapshotScope, TypeCounts, ValidationResult
from ztoq.plan import decode_planned, find_refs
from ztoq.store import TARGET_STATES, EntityKey, PlannedRecord, ProblemItem, Repository

__all__ = ["PHASE", "VALIDATORS", "TypeCounts", "ValidationResult", "run_validate", "validate_types"]

#: The test-case fields whose values are compared, by label.
CHECKED_CASE_FIELDS = ("Priority", "Status")

#: Entity type -> the part of qTest read back to validate it (attachments: read per batch).
READ_FOR: dict[str, str | None] = {
    "module": "module_paths",
    "test_case": "test_cases",
    "release": "release_ids",
    "cycle_folder": "cycle_parents",
    "test_cycle": "cycle_parents",
    "test_run": "test_runs",
    "test_log": "test_logs",
    "attachment": None,
}

#: Part -> the parts reading it reads too (what else a type's validation looks at).
_READ_WITH: dict[str, tuple[str, ...]] = {
    "test_cases": ("module_paths",),
    "cycle_parents": ("release_ids",),
    "test_logs": ("test_runs",),
}


@dataclass(frozen=True)
class ValidationSetup:
    """What every batch of a validation shares, read from the store once (a few rows).

    Attributes:
        project_key: the Zephyr project.
        base: an :class:`ExpectedProject` with no planned entity: the source counts and the
            compared fields, which every batch's expectations copy.
        scope: what to read back from qTest.
    """

    project_key: str
    base: ExpectedProject
    scope: SnapshotScope


def read_setup(
    repo: Repository, project_key: str, key_field_label: str | None, root_module_name: str, *, deep: bool
) -> ValidationSetup:
    """The source counts, compared fields and read-back scope of a validation.

    Raises:
        ConfigError: the store has no qTest field settings (extract has not read them).
    """
    fields = load_target_fields(repo, project_key)
    case_object_type = str(BY_NAME["test_case"].object_type)
    checked = {
        found.id: found.label
        for label in CHECKED_CASE_FIELDS
        if (found := fields.field(case_object_type, label)) is not None
    }
    key_field = fields.field(case_object_type, key_field_label)
    key_fields = source_key_field_ids(fields, key_field_label) if key_field_label else {}
    base = ExpectedProject(
        source_counts=source_counts(repo, project_key, repo.planned_counts(project_key)),
        checked_fields=checked,
        key_field_id=None if key_field is None else key_field.id,
        key_fields=key_fields,
        project_key=project_key,
    )
    root = repo.target_ids(project_key, [("module", ROOT_KEY)])
    scope = SnapshotScope(
        root_module_id=root.get(("module", ROOT_KEY)),
        root_module_name=root_module_name,
        cycle_ids=frozenset(repo.mappings_for(project_key, "test_cycle").values()),
        key_fields=key_fields,
        deep_attachments=deep,
    )
    return ValidationSetup(project_key, base, scope)


def read_batch(repo: Repository, setup: ValidationSetup, page: list[PlannedRecord]) -> ExpectedProject:
    """The expectations of one page of planned entities of a type: the page decoded, and the qTest
    ids of its entities and of everything they refer to (for attachments: where each went)."""
    wanted: set[EntityKey] = set()
    for record in page:
        wanted.add((record.entity_type, record.source_key))
        wanted.update(find_refs(record.payload))
        wanted.update(record.depends_on)
        if record.entity_type == "test_run":
            cycle_key, _, case_key = record.source_key.partition("|")
            wanted.update((("test_cycle", cycle_key), ("test_case", case_key)))
    target_ids: dict[str, dict[str, int]] = {}
    for (entity_type, key), target in repo.target_ids(setup.project_key, wanted).items():
        target_ids.setdefault(entity_type, {})[key] = target
    entity_type = page[0].entity_type if page else ""
    places = (
        repo.target_places_for(setup.project_key, entity_type, [r.source_key for r in page], TARGET_STATES)
        if entity_type == "attachment"
        else {}
    )
    planned = [
        decode_planned(r.entity_type, r.source_key, r.payload, level=r.level, sort_key=r.sort_key)
        for r in page
    ]
    return replace(
        setup.base, planned={entity_type: planned}, target_ids=target_ids, attachment_places=places
    )


def _batches(ctx: PhaseContext, setup: ValidationSetup, entity_type: str) -> Iterator[ExpectedProject]:
    """The expectations of a type, a batch at a time in store order, each read when it is due.

    A page and what it names are read in one session; none stays open while a batch is validated.
    """
    size = ctx.config.performance.batch_size
    after: tuple[int, str, str] | None = None
    while True:
        with ctx.session() as repo:
            page = repo.planned_page(ctx.project_key, entity_type, after=after, limit=size)
            expected = read_batch(repo, setup, page) if page else None
        if expected is not None:
            yield expected
        if len(page) < size:
            return
        after = (page[-1].level, page[-1].sort_key, page[-1].source_key)


def _flush(ctx: PhaseContext, result: ValidationResult) -> None:
    """Write what was found since the last flush (grouped by entity, in the order found) and let it go."""
    if not result.problems:
        return
    by_entity: dict[tuple[str, str], list[ProblemItem]] = {}
    for entity_type, key, problem in result.problems:
        by_entity.setdefault((entity_type, key), []).append(problem)
    with ctx.session() as repo:
        repo.add_problems(
            ctx.project_key, PHASE, [(t, k, p) for (t, k), p in by_entity.items()], run_id=ctx.run_id
        )
    result.problems.clear()


def _store_known(ctx: PhaseContext) -> KnownKeys:
    """Which keys the store knows, asked of the store a few keys at a time."""

    def known(entity_type: str, keys: Collection[str]) -> set[str]:
        if not keys:
            return set()
        with ctx.session() as repo:
            return repo.known_keys_among(ctx.project_key, entity_type, keys)

    return known


class _TypeValidation:
    """One :func:`validate_types` call: its setup, what was read back, and the result so far."""

    def __init__(self, ctx: PhaseContext, setup: ValidationSetup, types: list[str]) -> None:
        self.ctx = ctx
        self.setup = setup
        self.types = types
        self.read_back = ReadBack(ctx.qtest(), setup.scope, ctx.reporter)
        self.result = ValidationResult(counts={entity_type: TypeCounts() for entity_type in types})

    async def run(self) -> ValidationResult:
        for position, entity_type in enumerate(self.types):
            await self.validate(entity_type)
            later = self.types[position + 1 :]
            self.check_keys(entity_type, later)
            self.forget_unneeded(later)
            self.ctx.check_cancelled()
        return self.result

    async def validate(self, entity_type: str) -> None:
        """Validate one type, a batch at a time, replacing its previous validation's problems."""
        ctx, result = self.ctx, self.result
        latest: LatestLogs | None = None
        part = READ_FOR[entity_type]
        if entity_type == "test_log":
            latest = LatestLogs()
            for expected in _batches(ctx, self.setup, entity_type):
                latest.add_all(expected.planned_of(entity_type), expected.target_id)
            await self.read_back.read("test_logs", log_run_ids=latest.run_ids())
        elif part is not None:
            await self.read_back.read(part)
        with ctx.session() as repo:
            repo.clear_problems(ctx.project_key, PHASE, entity_type=entity_type)
            if entity_type == "test_log":  # filed under the run, found with the logs
                repo.clear_problems(ctx.project_key, PHASE, entity_type="test_run", code="latest_log_differs")
        snapshot = self.read_back.snapshot()
        start_type(entity_type, self.setup.base, snapshot, result)
        _flush(ctx, result)
        for expected in _batches(ctx, self.setup, entity_type):
            if entity_type == "attachment":
                places = frozenset(expected.attachment_places.values())
                held = await read_attachments(
                    self.read_back.client, places, deep=self.setup.scope.deep_attachments
                )
                snapshot = self.read_back.snapshot(held)
            BATCH_VALIDATORS[entity_type](expected, snapshot, result)
            _flush(ctx, result)
            ctx.check_cancelled()
        finish_type(entity_type, snapshot, result, latest)
        _flush(ctx, result)

    def check_keys(self, entity_type: str, later: list[str]) -> None:
        """Once the last type of a qTest kind is validated: its keys carried twice, or unknown."""
        kind = BY_NAME[entity_type].kind
        if any(BY_NAME[t].kind == kind for t in later):
            return
        snapshot = self.read_back.snapshot()
        carried: Carried
        if kind == "test-case":
            carried = (
                {kind: carried_case_keys(self.setup.base, snapshot)} if self.read_back.test_cases else {}
            )
        else:
            carried = {kind: snapshot.carried[kind]} if kind in snapshot.carried else {}
        known = _store_known(self.ctx)
        report_duplicated_keys(carried, known, self.result, self.types)
        report_unknown_keys(self.setup.project_key, carried, known, self.result, self.types)
        _flush(self.ctx, self.result)

    def forget_unneeded(self, later: list[str]) -> None:
        """Let go of what qTest holds that no type left to validate looks at."""
        needed: set[str] = set()
        for entity_type in later:
            part = READ_FOR[entity_type]
            if part is not None:
                needed.update((part, *_READ_WITH.get(part, ())))
        for part in PARTS:
            if part not in needed and getattr(self.read_back, part) is not None:
                self.read_back.forget(part)


def _report_compared(reporter: ProgressReporter, result: ValidationResult) -> None:
    """Progress of the comparison: test cases and runs compared, logs found and compared.

    Reading qTest back is what the live progress follows (modules read). These counts are what
    the phase record keeps.
    """
    for entity_type, compared_of in (
        ("test_case", "planned"),
        ("test_run", "planned"),
        ("test_log", "target"),
    ):
        counts = result.counts.get(entity_type)  # only the types this call validated
        if counts is None:
            continue
        reporter.start(PHASE, entity_type, total=counts.planned)
        reporter.advance(PHASE, entity_type, getattr(counts, compared_of))
        reporter.finish(PHASE, entity_type)


async def validate_types(ctx: PhaseContext, types: Collection[str]) -> ValidationResult:
    """Validate some entity types, in load order, each a batch at a time.

    The previous validation's problems of each type are replaced by what this one finds, written
    to the store batch by batch (the result keeps the counts; its ``problems`` end empty). A type
    may be validated on its own once it is loaded (e.g. while load works on later types).

    Args:
        ctx: the phase context.
        types: the registered types to validate (others are left alone).

    Returns:
        The counts of the types validated, in load order.

    Raises:
        ConfigError: the store has no qTest field settings (extract has not read them).
        ApiError: reading qTest back failed.
        KeyError: a planned reference to an entity qTest does not have (see
            :func:`~ztoq.pipeline.validate_compare.compare`).
    """
    config = ctx.config
    with ctx.session() as repo:
        setup = read_setup(
            repo,
            ctx.project_key,
            config.qtest.source_key_field,
            config.root_module_name,
            deep=config.migration.verify_attachment_content,
        )
    validation = _TypeValidation(ctx, setup, [t for t in LOAD_ORDER if t in types])
    result = await validation.run()
    _report_compared(ctx.reporter, result)
    return result


async def run_validate(ctx: PhaseContext) -> ValidationResult:
    """The validate phase: every registered type, replacing the previous validation's problems."""
    with ctx.session() as repo:
        repo.clear_problems(ctx.project_key, PHASE)
    return await validate_types(ctx, LOAD_ORDER)
