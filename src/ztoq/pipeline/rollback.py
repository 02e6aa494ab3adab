"""Rollback: undo a migration, phase by phase, touching only what ztoq itself created.

``load``: deletes from qTest, in reverse dependency order, exactly the entities the mapping table
says ztoq created (created, updated or adopted — adopted ones are ztoq's own creations found again
after a crash), never anything that existed before: test runs, then test cycles and cycle folders
(deepest first), releases, test cases (callers before the cases they call), modules (deepest
first). Containers are deleted without ``force``: one that holds something ztoq did not create is
kept and reported, so no user data goes with it. Each deletion is recorded at once (state
``deleted``), so an interrupted rollback resumes where it stopped. qTest has no API to delete a
test log: logs go with their test run, which the report says plainly.

Then the qTest fields and allowed values ``ztoq fields apply`` added go too, each only when no
data in qTest uses it (:mod:`ztoq.pipeline.fields_rollback`); one still in use is kept and
reported with the reason.

``transform``: forgets the planned payloads. ``extract``: forgets the extracted Zephyr records.
The mapping table is kept: it is the record of what was in qTest; so are the records of the
fields ztoq added and kept, so a later rollback can still remove them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from ztoq.config import ZtoqConfig
from ztoq.entities import DELETE_ORDER
from ztoq.errors import ConfigError, FatalApiError, InputError, NotFound
from ztoq.pipeline.context import PhaseContext, Transports
from ztoq.pipeline.fields_rollback import (
    FieldsRolledBack,
    FieldsToRemove,
    field_records,
    read_fields_to_remove,
    remove_added_fields,
)
from ztoq.pipeline.loaders import build_loaders
from ztoq.pipeline.progress import ProgressReporter, QuietProgress
from ztoq.store import TARGET_STATES, MappingRecord, open_store

ROLLBACK_PHASES = ("load", "transform", "extract")


@dataclass
class RollbackPlan:
    """What a rollback of the load phase would delete (or did), per entity type."""

    targets: dict[str, list[MappingRecord]] = field(default_factory=dict)
    logs: int = 0
    #: The qTest fields and allowed values ``fields apply`` added (removed when no data uses them).
    fields: FieldsToRemove = field(default_factory=FieldsToRemove)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.targets.values())


@dataclass
class RollbackResult:
    """What a rollback did."""

    deleted: dict[str, int] = field(default_factory=dict)
    kept: list[tuple[str, str, str]] = field(default_factory=list)  # (type, key, reason)
    logs: int = 0
    cleared: dict[str, dict[str, int]] = field(default_factory=dict)
    fields: FieldsRolledBack = field(default_factory=FieldsRolledBack)


def plan_rollback(ctx: PhaseContext) -> RollbackPlan:
    """The qTest entities ztoq created for this project, in the order they would be deleted."""
    plan = RollbackPlan()
    with ctx.session() as repo:
        for entity_type in DELETE_ORDER:
            mappings = [
                m
                for m in repo.iter_mappings(ctx.project_key, entity_type, states=TARGET_STATES)
                if m.target_id is not None
            ]
            levels = {
                r.source_key: r.level for r in repo.iter_planned(ctx.project_key, entity_type, status=None)
            }
            # Children before parents, callers before the test cases they call.
            mappings.sort(key=lambda m: (-levels.get(m.source_key, 0), m.source_key))
            plan.targets[entity_type] = mappings
        plan.logs = sum(1 for _ in repo.iter_mappings(ctx.project_key, "test_log", states=TARGET_STATES))
        plan.fields = read_fields_to_remove(repo, ctx.project_key)
    return plan


async def rollback_load(ctx: PhaseContext, plan: RollbackPlan, result: RollbackResult) -> None:
    """Delete what ztoq created in qTest, recording each deletion as it happens."""
    client = ctx.qtest()
    loaders = build_loaders()
    for entity_type in DELETE_ORDER:
        targets = plan.targets.get(entity_type, [])
        ctx.reporter.start("rollback", entity_type, total=len(targets))
        loader = loaders[entity_type]
        for mapping in targets:
            ctx.check_cancelled()
            assert mapping.target_id is not None
            try:
                await loader.delete(client, mapping.target_id, mapping.target_pid)
            except NotFound:
                pass  # already gone (deleted with its parent, or by someone else)
            except FatalApiError as exc:
                result.kept.append((entity_type, mapping.source_key, str(exc)))
                ctx.reporter.advance("rollback", entity_type, failed=1)
                continue
            with ctx.session() as repo:
                repo.mark_deleted(ctx.project_key, entity_type, mapping.source_key)
            result.deleted[entity_type] = result.deleted.get(entity_type, 0) + 1
            ctx.reporter.advance("rollback", entity_type)
        ctx.reporter.finish("rollback", entity_type)
    # Their runs are gone, so the logs are too: record it, so a later load creates them again.
    with ctx.session() as repo:
        for mapping in list(repo.iter_mappings(ctx.project_key, "test_log", states=TARGET_STATES)):
            repo.mark_deleted(ctx.project_key, "test_log", mapping.source_key)
    result.logs = plan.logs
    # Last, once ztoq's entities are gone: the fields and values it added that nothing uses now.
    if plan.fields.total:
        result.fields = await remove_added_fields(ctx, plan.fields)


def clear_store_phase(ctx: PhaseContext, phase: str, result: RollbackResult) -> None:
    """Forget what transform or extract stored for the project (not the record of fields ztoq added)."""
    with ctx.session() as repo:
        kept = field_records(repo, ctx.project_key) if phase == "extract" else []
        result.cleared[phase] = repo.clear_phase(ctx.project_key, phase)
        if kept:
            repo.upsert_source(ctx.project_key, kept, run_id=ctx.run_id)


def run_rollback(
    config: ZtoqConfig,
    phases: list[str],
    *,
    dry_run: bool,
    confirm: Callable[[RollbackPlan], bool],
    reporter: ProgressReporter | None = None,
    transports: Transports | None = None,
) -> tuple[RollbackPlan, RollbackResult | None]:
    """Roll back ``phases`` (load, transform, extract) under the store lock, as one recorded run.

    Args:
        config: The configuration (its project and store).
        phases: Which phases to undo; they are undone in the order load, transform, extract.
        dry_run: Only work out what would be deleted.
        confirm: Asked with the plan before anything is deleted; False cancels.
        reporter: Progress.
        transports: Test transports for the qTest client.

    Returns:
        The plan, and what was done (None for a dry run or when not confirmed).
    """
    if config.migration.no_rollback:
        raise ConfigError(
            "Rollback is disabled for this configuration (migration.no_rollback: true); set it to false "
            "to roll back."
        )
    unknown = [p for p in phases if p not in ROLLBACK_PHASES]
    if unknown:
        raise InputError(
            f"Cannot roll back {', '.join(unknown)}; --phases takes load, transform and extract."
        )
    wanted = [p for p in ROLLBACK_PHASES if p in phases]
    if "load" in wanted:
        config.require_target()
    reporter = reporter or QuietProgress()
    with (
        open_store(config.database, create_if_empty=False) as store,
        store.acquire_lock(project=config.zephyr.project_key),
    ):
        with store.session() as repo:
            repo.interrupt_abandoned_runs(config.zephyr.project_key)
            run_id = repo.start_run(config.zephyr.project_key, "workflow rollback", wanted)
        ctx = PhaseContext(config, store, run_id, reporter, transports or Transports())
        status, error = "succeeded", None
        try:
            plan = plan_rollback(ctx)
            if dry_run or not confirm(plan):
                status = "skipped" if dry_run else "interrupted"
                return plan, None
            result = RollbackResult()

            async def undo() -> None:
                ctx.cancelled = asyncio.Event()
                try:
                    if "load" in wanted:
                        await rollback_load(ctx, plan, result)
                finally:
                    await ctx.aclose()

            asyncio.run(undo())
            for phase in ("transform", "extract"):
                if phase in wanted:
                    clear_store_phase(ctx, phase, result)
            return plan, result
        except BaseException as exc:
            status, error = "failed", str(exc)
            raise
        finally:
            with store.session() as repo:
                repo.finish_run(run_id, status, error=error, stats={"api": ctx.api_stats()})
            reporter.close()
