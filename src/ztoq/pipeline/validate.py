"""Validate: read qTest back (never the local store's idea of it) and compare with the source.

The phase reads what to expect from the store (:func:`read_expected`: planned entities, their
qTest ids, source counts, the compared fields), reads the migrated part of qTest back
(:func:`~ztoq.pipeline.validate_snapshot.read_snapshot`), compares the two
(:func:`~ztoq.pipeline.validate_compare.compare`, pure) and records what differs. For the test
design side it checks every module and, for every test case: it exists, its name, its module
path, its steps in order (description, expected result, called test case), its priority and
status, and that its Zephyr key is visible. For the execution side: every release and test cycle
exists under the right parent, every run under its cycle with its test case, and every execution
that ran is a log on its run with its status, end date and step results, the run's latest log
being the latest execution. Differences become ``missing`` and ``mismatch`` problems (replacing
those of the previous validation) and make the run fail.
"""

from __future__ import annotations

from ztoq.entities import BY_NAME, LOAD_ORDER
from ztoq.mapping.modules import ROOT_KEY
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.progress import ProgressReporter
from ztoq.pipeline.status import source_counts
from ztoq.pipeline.target import load_target_fields, source_key_field_ids
from ztoq.pipeline.validate_compare import VALIDATORS, compare
from ztoq.pipeline.validate_compare_execution import logs_by_run
from ztoq.pipeline.validate_snapshot import read_snapshot
from ztoq.pipeline.validate_types import PHASE, ExpectedProject, SnapshotScope, TypeCounts, ValidationResult
from ztoq.plan import decode_planned
from ztoq.store import TARGET_STATES, ProblemItem, Repository

__all__ = ["PHASE", "VALIDATORS", "TypeCounts", "ValidationResult", "read_expected", "run_validate"]

#: The test-case fields whose values are compared, by label.
CHECKED_CASE_FIELDS = ("Priority", "Status")


def read_expected(repo: Repository, project_key: str, key_field_label: str | None) -> ExpectedProject:
    """What qTest should hold, from the store.

    Args:
        repo: the store.
        project_key: the Zephyr project.
        key_field_label: the label of the test-case field that holds the Zephyr key.

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
    planned = {
        entity_type: [
            decode_planned(r.entity_type, r.source_key, r.payload, level=r.level, sort_key=r.sort_key)
            for r in repo.iter_planned(project_key, entity_type)
        ]
        for entity_type in LOAD_ORDER
    }
    return ExpectedProject(
        planned=planned,
        target_ids={entity_type: repo.mappings_for(project_key, entity_type) for entity_type in LOAD_ORDER},
        source_counts=source_counts(repo, project_key, repo.planned_counts(project_key)),
        checked_fields=checked,
        key_field_id=None if key_field is None else key_field.id,
        key_fields=source_key_field_ids(fields, key_field_label) if key_field_label else {},
        project_key=project_key,
        attachment_places={
            m.source_key: m.target_pid
            for m in repo.iter_mappings(project_key, "attachment", states=TARGET_STATES)
            if m.target_pid
        },
    )


def snapshot_scope(expected: ExpectedProject, root_module_name: str, *, deep: bool = False) -> SnapshotScope:
    """What to read back: the root module's tree, the migrated cycles, the runs with planned logs."""
    run_ids = (
        expected.target_id("test_run", run_key) for run_key in logs_by_run(expected.planned_of("test_log"))
    )
    return SnapshotScope(
        root_module_id=expected.target_id("module", ROOT_KEY),
        root_module_name=root_module_name,
        cycle_ids=frozenset(expected.target_ids.get("test_cycle", {}).values()),
        log_run_ids=tuple(run_id for run_id in run_ids if run_id is not None),
        key_fields=expected.key_fields,
        attachment_places=frozenset(expected.attachment_places.values()),
        deep_attachments=deep,
    )


def _report_compared(reporter: ProgressReporter, result: ValidationResult) -> None:
    """Progress of the comparison: test cases and runs compared, logs found and compared.

    The comparison is pure and takes a moment; reading qTest back is what the live progress
    follows (modules read). These counts are what the phase record keeps.
    """
    for entity_type, compared in (
        ("test_case", result.count("test_case").planned),
        ("test_run", result.count("test_run").planned),
        ("test_log", result.count("test_log").target),
    ):
        reporter.start(PHASE, entity_type, total=result.count(entity_type).planned)
        reporter.advance(PHASE, entity_type, compared)
        reporter.finish(PHASE, entity_type)


async def run_validate(ctx: PhaseContext) -> ValidationResult:
    """The validate phase: compare, then replace the previous validation's problems."""
    client = ctx.qtest()
    with ctx.session() as repo:
        expected = read_expected(repo, ctx.project_key, ctx.config.qtest.source_key_field)
    scope = snapshot_scope(
        expected, ctx.config.root_module_name, deep=ctx.config.migration.verify_attachment_content
    )
    snapshot = await read_snapshot(client, scope, ctx.reporter)
    result = compare(expected, snapshot)
    _report_compared(ctx.reporter, result)
    with ctx.session() as repo:
        repo.clear_problems(ctx.project_key, PHASE)
        by_entity: dict[tuple[str, str], list[ProblemItem]] = {}
        for entity_type, key, problem in result.problems:
            by_entity.setdefault((entity_type, key), []).append(problem)
        repo.replace_problems_bulk(
            ctx.project_key, PHASE, [(t, k, p) for (t, k), p in by_entity.items()], run_id=ctx.run_id
        )
    return result
