"""Validate: read qTest back (never the local store's idea of it) and compare with the source.

The phase validates one entity type after another (:func:`validate_types`, in load order; the
whole phase is :func:`run_validate`), reading qTest with the fewest requests its API allows
(:func:`ztoq.bench_minimum.qtest_minimum`, the "read back" terms) and holding at most a page of
it. The trees qTest answers whole (modules, releases, test cycles) are read once and kept while a
type needs them (:class:`~ztoq.pipeline.validate_snapshot.ReadBack`), and those types' planned
entities are compared a batch of ``performance.batch_size`` at a time from the store
(:func:`~ztoq.pipeline.validate_setup.read_batch`). Test cases, runs, logs and attachments are
compared from qTest's pages instead (:class:`~ztoq.pipeline.validate_pages.PagedValidation`,
:class:`~ztoq.pipeline.validate_attachments.AttachmentValidation`), what each page holds recorded
in the store, so the planned entities qTest does not hold and the Zephyr keys carried twice or
unknown to the store are found with SQL. The comparison is pure
(:mod:`ztoq.pipeline.validate_compare`); what each batch finds is written to the store as it is
found, so neither the project's planned entities, nor what qTest holds, nor its problems are ever
held whole. For the test design side it checks every module and, for every test case: it exists,
its name, its module path, its steps in order (description, expected result, called test case),
its priority and status, and that its Zephyr key is visible. For the execution side: every release
and test cycle exists under the right parent, every run under its cycle with its test case, and
every execution that ran is a log on its run with its status, end date and step results, the
run's latest log being the latest execution. Differences become ``missing`` and ``mismatch``
problems (replacing those of the previous validation of the type) and make the run fail.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from datetime import UTC, datetime

from ztoq.entities import BY_NAME, LOAD_ORDER
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.progress import ProgressReporter
from ztoq.pipeline.validate_attachments import AttachmentValidation
from ztoq.pipeline.validate_compare import BATCH_VALIDATORS, VALIDATORS, finish_type, start_type
from ztoq.pipeline.validate_compare_execution import LATEST_LOG_DIFFERS
from ztoq.pipeline.validate_keys import report_duplicate, report_duplicated_keys, report_unknown_keys
from ztoq.pipeline.validate_pages import PagedValidation
from ztoq.pipeline.validate_scope import FULL_SCOPE, ValidationScope, record_validated
from ztoq.pipeline.validate_setup import ValidationSetup, flush, read_batch, read_setup, store_known
from ztoq.pipeline.validate_snapshot import PARTS, Carried, ReadBack
from ztoq.pipeline.validate_types import PHASE, ExpectedProject, TypeCounts, ValidationResult

__all__ = [
    "PHASE",
    "VALIDATORS",
    "TypeCounts",
    "ValidationResult",
    "read_batch",
    "read_setup",
    "run_validate",
    "validate_types",
]

#: Entity type -> the tree of qTest kept to validate it (None: none, or read a page at a time).
READ_FOR: dict[str, str | None] = {
    "module": "module_paths",
    "test_case": "module_paths",
    "release": "release_ids",
    "cycle_folder": "cycle_parents",
    "test_cycle": "cycle_parents",
    "test_run": None,
    "test_log": None,
    "attachment": None,
}

#: Part -> the parts reading it reads too (what else a type's validation looks at).
_READ_WITH: dict[str, tuple[str, ...]] = {"cycle_parents": ("release_ids",)}

#: The types validated from qTest's pages (:class:`~ztoq.pipeline.validate_pages.PagedValidation`).
PAGED = ("test_case", "test_run", "test_log")


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


class _TypeValidation:
    """One :func:`validate_types` call: its setup, the trees read back, and the result so far."""

    def __init__(
        self, ctx: PhaseContext, setup: ValidationSetup, types: list[str], scope: ValidationScope
    ) -> None:
        self.ctx = ctx
        self.setup = setup
        self.types = types
        self.validation_scope = scope
        #: The qTest kinds read by this call (their keys are checked once their last type is done).
        self.kinds_read: set[str] = set()
        self.read_back = ReadBack(ctx.qtest(), setup.scope, ctx.reporter, self.record)
        self.result = ValidationResult(counts={entity_type: TypeCounts() for entity_type in types})
        self.paged = PagedValidation(ctx, setup, self.read_back, self.result, scope)

    def record(self, kind: str, carried: Carried) -> None:
        """Keep in the store what was read of a kind (instead of what was read of it before)."""
        with self.ctx.session() as repo:
            repo.clear_seen(self.ctx.project_key, kind)
            repo.add_seen(self.ctx.project_key, kind, carried)
        self.kinds_read.add(kind)

    async def run(self) -> ValidationResult:
        for position, entity_type in enumerate(self.types):
            started = datetime.now(UTC)
            await self.validate(entity_type)
            record_validated(self.ctx, entity_type, started)
            later = self.types[position + 1 :]
            self.check_keys(entity_type, later)
            self.forget_unneeded(later)
            self.ctx.check_cancelled()
        return self.result

    async def validate(self, entity_type: str) -> None:
        """Validate one type, replacing its previous validation's problems."""
        ctx, result = self.ctx, self.result
        part = READ_FOR[entity_type]
        if part is not None:
            await self.read_back.read(part)
        logs_limited = self.validation_scope.limits("test_log") is not None
        with ctx.session() as repo:
            # A delta validation replaces the problems of what it compares, as it compares them.
            if self.validation_scope.limits(entity_type) is None:
                # The latest log of each run is checked with the logs (filed under the run).
                kept = LATEST_LOG_DIFFERS if logs_limited and entity_type == "test_run" else None
                repo.clear_problems(ctx.project_key, PHASE, entity_type=entity_type, except_code=kept)
            if entity_type == "test_log" and not logs_limited:
                repo.clear_problems(ctx.project_key, PHASE, entity_type="test_run", code=LATEST_LOG_DIFFERS)
        snapshot = self.read_back.snapshot()
        start_type(entity_type, self.setup.base, snapshot, result)
        flush(ctx, result)
        if entity_type in PAGED:
            await self.validate_paged(entity_type)
        elif entity_type == "attachment":
            attachments = AttachmentValidation(
                ctx,
                self.setup,
                self.read_back,
                result,
                self.paged.unseen,
                self.validation_scope.limits(entity_type),
            )
            await attachments.run()
        else:
            for expected in _batches(ctx, self.setup, entity_type):
                BATCH_VALIDATORS[entity_type](expected, snapshot, result)
                flush(ctx, result)
                ctx.check_cancelled()
        finish_type(entity_type, snapshot, result)
        flush(ctx, result)

    async def validate_paged(self, entity_type: str) -> None:
        """Validate test cases, runs or logs from qTest's pages (what was read kept in the store)."""
        kind = BY_NAME[entity_type].kind
        if entity_type == "test_case":
            await self.paged.test_cases()
        elif entity_type == "test_run":
            await self.paged.test_runs()
        else:
            await self.paged.test_logs(runs_read="test-run" in self.kinds_read)
            self.kinds_read.add("test-run")
        self.kinds_read.add(kind)

    def check_keys(self, entity_type: str, later: list[str]) -> None:
        """Once the last type of a qTest kind is validated: its keys carried twice, or unknown.

        Asked of the store a page of keys at a time, over what this call read of the kind.
        """
        kind = BY_NAME[entity_type].kind
        if kind not in self.kinds_read or any(BY_NAME[t].kind == kind for t in later):
            return
        ctx, project_key = self.ctx, self.setup.project_key
        of_kind = [t for t in LOAD_ORDER if BY_NAME[t].kind == kind]
        known = store_known(ctx)
        after: str | None = None
        while True:
            with ctx.session() as repo:
                twice, after = repo.seen_duplicates(project_key, kind, after=after)
            if kind == "test-case":
                for key, ids in twice.items():
                    report_duplicate(self.result, "test_case", key, ids)
            else:
                report_duplicated_keys({kind: twice}, known, self.result, self.types)
            flush(ctx, self.result)
            if after is None:
                break
        while project_key:
            with ctx.session() as repo:
                unknown, after = repo.seen_unknown(project_key, kind, of_kind, f"{project_key}-", after=after)
            report_unknown_keys(project_key, {kind: unknown}, known, self.result, self.types)
            flush(ctx, self.result)
            if after is None:
                break

    def forget_unneeded(self, later: list[str]) -> None:
        """Let go of the trees of qTest that no type left to validate looks at."""
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


async def validate_types(
    ctx: PhaseContext, types: Collection[str], scope: ValidationScope = FULL_SCOPE
) -> ValidationResult:
    """Validate some entity types, in load order, each a batch at a time.

    The previous validation's problems of each type are replaced by what this one finds, written
    to the store batch by batch (the result keeps the counts; its ``problems`` end empty). A type
    may be validated on its own once it is loaded (e.g. while load works on later types).

    Args:
        ctx: the phase context.
        types: the registered types to validate (others are left alone).
        scope: all of what they hold in qTest, or on a delta sync the logs and files in
            question (:mod:`ztoq.pipeline.validate_scope`).

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
    validation = _TypeValidation(ctx, setup, [t for t in LOAD_ORDER if t in types], scope)
    result = await validation.run()
    _report_compared(ctx.reporter, result)
    return result


async def run_validate(ctx: PhaseContext, scope: ValidationScope = FULL_SCOPE) -> ValidationResult:
    """The validate phase: every registered type, replacing the previous validation's problems
    (a delta ``scope``: those of what it compares)."""
    if not scope.delta:
        with ctx.session() as repo:
            repo.clear_problems(ctx.project_key, PHASE)
    return await validate_types(ctx, LOAD_ORDER, scope)
