"""Transform: the pure mapping over what extract stored, written back as planned qTest payloads.

Reads only the store (never an API): the Zephyr records and the qTest target's settings that
extract saved. Every planned entity keeps references to other entities by *source* key; load
resolves them. Problems found while mapping (degraded values, skipped entities) replace those
of the previous transform of the same entity, so re-running never piles up duplicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
from ztoq.pipeline.target import load_target_fields
from ztoq.plan import PlannedEntity
from ztoq.store import PlannedItem, ProblemItem, Repository, content_hash

PHASE = "transform"


def _payloads(repo: Repository, project_key: str, entity_type: str) -> list[Any]:
    return [r.payload for r in repo.iter_source(project_key, entity_type)]


def _by_key(repo: Repository, project_key: str, entity_type: str) -> dict[str, Any]:
    return {r.source_key: r.payload for r in repo.iter_source(project_key, entity_type)}


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


def plan_all(repo: Repository, ctx: PhaseContext, fields: TargetFields) -> dict[str, list[PlannedEntity]]:
    """Every planned entity, by type, from the stored Zephyr records."""
    key, config = ctx.project_key, ctx.config
    folders = _payloads(repo, key, "folder")
    test_cases = _payloads(repo, key, "test_case")
    cycles = _payloads(repo, key, "test_cycle")
    plans = _payloads(repo, key, "test_plan")
    statuses = _payloads(repo, key, "status")
    priorities = _payloads(repo, key, "priority")
    environments = _payloads(repo, key, "environment")

    def lookups_with(counts: dict[str, int] | None = None) -> SourceLookups:
        return SourceLookups.build(
            folders=folders,
            statuses=statuses,
            priorities=priorities,
            environments=environments,
            test_cases=test_cases,
            test_cycles=cycles,
            test_plans=plans,
            test_case_step_counts=counts,
        )

    planned_cases = plan_test_cases(
        test_cases,
        _by_key(repo, key, "test_steps"),
        _by_key(repo, key, "test_script"),
        lookups_with(),
        fields,
        config,
    )
    # Step results are matched to the migrated steps by order, so the logs need the step counts.
    lookups = lookups_with(step_counts(planned_cases))
    executions = plan_executions(
        _payloads(repo, key, "test_execution"), _by_key(repo, key, "execution_steps"), lookups, fields, config
    )
    by_type: dict[str, list[PlannedEntity]] = {
        "module": plan_modules(folders, config),
        "test_case": planned_cases,
        "release": plan_releases(plans, lookups, fields, config),
        "cycle_folder": plan_cycle_folders(folders, config),
        "test_cycle": plan_test_cycles(cycles, lookups, fields, config),
        "test_run": [],
        "test_log": [],
    }
    for planned in executions:
        by_type[planned.entity_type].append(planned)
    return by_type


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
