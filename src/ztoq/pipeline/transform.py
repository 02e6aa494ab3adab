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
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.source_rows import StoreRows
from ztoq.pipeline.target import load_target_fields
from ztoq.plan import PlannedEntity
from ztoq.sources.base import read_records
from ztoq.sources.records import SourceRecords
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
}


def plan_all(repo: Repository, ctx: PhaseContext, fields: TargetFields) -> dict[str, list[PlannedEntity]]:
    """Every planned entity, by type in load order, from the stored source records.

    The stored rows are decoded by the configured source's record reader, then each type's
    planner runs in load order.
    """
    records = read_records(ctx.source().reader, StoreRows(repo, ctx.project_key))
    planning = Planning(records, fields, ctx.config)
    for entity_type in LOAD_ORDER:
        planning.planned[entity_type] = PLANNERS[entity_type](planning)
    return planning.planned


def run_transform(ctx: PhaseContext) -> dict[str, int]:
    """The transform phase; returns the number of planned entities per type."""
    with ctx.session() as repo:
        if not repo.get_source(ctx.project_key, "project", ctx.project_key):
            raise ConfigError(
                f"Nothing was extracted for Zephyr project {ctx.project_key}; run the extract phase first."
            )
        fields = load_target_fields(repo, ctx.project_key)
        plans = plan_all(repo, ctx, fields)
        log_sources = execution_hashes(repo, ctx.project_key)
    for entity_type in LOAD_ORDER:
        _write(
            ctx, entity_type, plans.get(entity_type, []), log_sources if entity_type == "test_log" else None
        )
    return {entity_type: len(p) for entity_type, p in plans.items()}
