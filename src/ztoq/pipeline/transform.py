"""Transform: the pure mapping over what extract stored, written back as planned qTest payloads.

Reads only the store (never an API): the source records extract saved, decoded by the
configured source's record reader, and the qTest target's settings. Each registered entity type
has its planner (:data:`PLANNERS`). Every planned entity keeps references to other entities by
*source* key; load resolves them. Problems found while mapping (degraded values, skipped
entities) replace those of the previous transform of the same entity, so re-running never piles
up duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from ztoq.config import ZtoqConfig
from ztoq.entities import LOAD_ORDER
from ztoq.errors import ConfigError
from ztoq.mapping import (
    SourceLookups,
    TargetFields,
    plan_cycle_folders,
    plan_executions,
    plan_modules,
    plan_releases,
    plan_test_cases,
    plan_test_cycles,
    step_counts,
)
from ztoq.mapping.attachments import AttachmentOwners, plan_attachments
from ztoq.mapping.inline_images import OWNER_OF, rewrite_planned_images
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.source_rows import StoreRows, check_source
from ztoq.pipeline.target import attachment_limit, load_target_fields
from ztoq.plan import PlannedEntity
from ztoq.sources import source_name
from ztoq.sources.base import read_records
from ztoq.sources.records import Attachment, SourceRecords
from ztoq.store import PlannedItem, ProblemItem, Repository, content_hash

PHASE = "transform"


def to_item(planned: PlannedEntity, source_hash: str | None = None) -> PlannedItem:
    """A mapping result as the store keeps it (skipped entities keep their reason, not a payload)."""
    return PlannedItem(
        entity_type=planned.entity_type,
        source_key=planned.source_key,
        payload=planned.to_payload(),
        depends_on=planned.depends_on,
        level=planned.level,
        sort_key=planned.sort_key,
        source_hash=source_hash,
        status="skipped" if planned.skipped else "planned",
    )


def execution_hashes(repo: Repository, project_key: str) -> dict[str, str]:
    """Execution key -> a hash of the execution and its step results, as extracted.

    A test log is a fact about one execution: load re-sends it only when this hash changes, not
    when its plan changes because the test case was edited since.
    """
    steps = {r.source_key: r.content_hash for r in repo.iter_source(project_key, "execution_steps")}
    return {
        r.source_key: content_hash([r.content_hash, steps.get(r.source_key)])
        for r in repo.iter_source(project_key, "test_execution")
    }


def _problem_items(planned: PlannedEntity) -> list[ProblemItem]:
    return [ProblemItem(p.severity, p.code, p.message, p.field, p.detail) for p in planned.problems]


def _write(
    ctx: PhaseContext,
    entity_type: str,
    plans: Sequence[PlannedEntity],
    source_hashes: dict[str, str] | None = None,
) -> None:
    """Store plans and their problems in batches; drop plans whose source disappeared."""
    size = ctx.config.performance.batch_size
    ctx.reporter.start(PHASE, entity_type, total=len(plans))
    keys = {p.source_key for p in plans}
    with ctx.session() as repo:
        stale = sorted(repo.planned_keys(ctx.project_key, entity_type) - keys)
        if stale:
            repo.delete_planned(ctx.project_key, entity_type, stale)
            repo.replace_problems_bulk(
                ctx.project_key,
                PHASE,
                [
                    (
                        entity_type,
                        key,
                        [
                            ProblemItem(
                                "skipped",
                                "deleted_in_source",
                                f"{key} no longer exists in Zephyr; it is not sent to qTest again "
                                "(what was migrated before stays in qTest).",
                            )
                        ],
                    )
                    for key in stale
                ],
                run_id=ctx.run_id,
            )
    for start in range(0, len(plans), size):
        chunk = plans[start : start + size]
        with ctx.session() as repo:
            hashes = source_hashes or {}
            repo.upsert_planned(ctx.project_key, [to_item(p, hashes.get(p.source_key)) for p in chunk])
            repo.replace_problems_bulk(
                ctx.project_key,
                PHASE,
                [(p.entity_type, p.source_key, _problem_items(p)) for p in chunk],
                run_id=ctx.run_id,
            )
        ctx.reporter.advance(PHASE, entity_type, len(chunk), skipped=sum(1 for p in chunk if p.skipped))
        fault_point("transform.batch")
    ctx.reporter.finish(PHASE, entity_type)


@dataclass
class Planning:
    """What the planners share: the source's records, the target's fields, the config, and the plans so far.

    Planners run in load order, so a planner may read what an earlier one planned (test logs
    match step results to the steps of the planned test cases).
    """

    records: SourceRecords
    fields: TargetFields
    config: ZtoqConfig
    planned: dict[str, list[PlannedEntity]] = field(default_factory=dict)
    #: The attachments extract listed (and downloaded), when they are migrated.
    attachments: list[Attachment] = field(default_factory=list)
    #: The largest attachment to send (``qtest.max_attachment_mb``, or less after a 413).
    attachment_limit: int = 0

    @cached_property
    def source_lookups(self) -> SourceLookups:
        """What the records refer to, without the planned step counts."""
        records = self.records
        return SourceLookups.build(
            folders=records.folders,
            statuses=records.statuses,
            priorities=records.priorities,
            environments=records.environments,
            test_cases=records.test_cases,
            test_cycles=records.test_cycles,
            test_plans=records.test_plans,
        )

    @cached_property
    def lookups(self) -> SourceLookups:
        """:attr:`source_lookups` with the step count of every planned test case."""
        return replace(self.source_lookups, test_case_step_counts=step_counts(self.planned["test_case"]))

    @cached_property
    def executions(self) -> list[PlannedEntity]:
        """The runs, the logs and (when needed) the ad hoc test cycle the executions call for."""
        return plan_executions(self.records.test_executions, self.lookups, self.fields, self.config)

    def executions_of(self, entity_type: str) -> list[PlannedEntity]:
        """The planned entities of one type among :attr:`executions`."""
        return [p for p in self.executions if p.entity_type == entity_type]


def _test_cycles(planning: Planning) -> list[PlannedEntity]:
    cycles = plan_test_cycles(
        planning.records.test_cycles, planning.lookups, planning.fields, planning.config
    )
    return cycles + planning.executions_of("test_cycle")


#: How each registered entity type is planned (keyed exactly by :data:`ztoq.entities.LOAD_ORDER`).
PLANNERS: dict[str, Callable[[Planning], list[PlannedEntity]]] = {
    "module": lambda p: plan_modules(p.records.folders, p.config),
    "test_case": lambda p: plan_test_cases(p.records.test_cases, p.source_lookups, p.fields, p.config),
    "release": lambda p: plan_releases(p.records.test_plans, p.lookups, p.fields, p.config),
    "cycle_folder": lambda p: plan_cycle_folders(p.records.folders, p.config),
    "test_cycle": _test_cycles,
    "test_run": lambda p: p.executions_of("test_run"),
    "test_log": lambda p: p.executions_of("test_log"),
    "attachment": lambda p: plan_attachments(
        p.attachments, AttachmentOwners.from_plans(p.planned), p.attachment_limit
    ),
}


def stored_attachments(repo: Repository, ctx: PhaseContext) -> list[Attachment]:
    """The attachments extract found, as canonical records (none when attachments are not migrated)."""
    if not ctx.config.migration.include_attachments:
        return []
    cache = ctx.attachment_cache()
    return [
        Attachment(
            key=row.source_key,
            owner_type=row.owner_type,
            owner_key=row.owner_key,
            step_index=row.step_index,
            name=row.name,
            size=row.size,
            content_type=row.content_type,
            sha256=row.sha256 if row.state == "cached" else None,
            cache_path=str(cache.path_of(row.sha256)) if row.sha256 else None,
            reason=row.reason,
        )
        for row in repo.iter_attachments(ctx.project_key)
    ]


def plan_all(repo: Repository, ctx: PhaseContext, fields: TargetFields) -> dict[str, list[PlannedEntity]]:
    """Every planned entity, by type in load order, from the stored source records.

    The stored rows are decoded by the configured source's record reader, then each type's
    planner runs in load order.
    """
    records = read_records(ctx.source().reader, StoreRows(repo, ctx.project_key))
    planning = Planning(
        records,
        fields,
        ctx.config,
        attachments=stored_attachments(repo, ctx),
        attachment_limit=attachment_limit(repo, ctx.project_key, ctx.config.qtest.max_attachment_mb),
    )
    attached = inline_attachments(planning.attachments)
    for entity_type in LOAD_ORDER:
        planning.planned[entity_type] = PLANNERS[entity_type](planning)
        owner_type = OWNER_OF.get(entity_type)
        if owner_type is not None:
            for planned in planning.planned[entity_type]:
                rewrite_planned_images(planned, attached.get((owner_type, planned.source_key), {}))
    return planning.planned


def inline_attachments(attachments: list[Attachment]) -> dict[tuple[str, str], dict[str, str]]:
    """(owner kind, owner key) -> inline image id -> file name, of the embedded images downloaded."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    for attachment in attachments:
        ident = attachment.key.rpartition("/")[2]
        if ident.startswith("inline-") and attachment.sha256 is not None:
            found.setdefault((attachment.owner_type, attachment.owner_key), {})[ident] = attachment.name
    return found


def run_transform(ctx: PhaseContext) -> dict[str, int]:
    """The transform phase; returns the number of planned entities per type."""
    with ctx.session() as repo:
        if not repo.get_source(ctx.project_key, "project", ctx.project_key):
            raise ConfigError(
                f"Nothing was extracted for Zephyr project {ctx.project_key}; run the extract phase first."
            )
        check_source(repo, ctx.project_key, source_name(ctx.config))
        fields = load_target_fields(repo, ctx.project_key)
        plans = plan_all(repo, ctx, fields)
        log_sources = execution_hashes(repo, ctx.project_key)
    for entity_type in LOAD_ORDER:
        if not ctx.migrates(entity_type):
            continue  # what earlier runs planned stays as it was (not "deleted in Zephyr")
        _write(
            ctx, entity_type, plans.get(entity_type, []), log_sources if entity_type == "test_log" else None
        )
    return {entity_type: len(p) for entity_type, p in plans.items()}
