"""Entities deleted in Zephyr: reported always; removed from qTest only when asked.

Transform drops the plan of a Zephyr entity that no longer exists and records a
``deleted_in_source`` problem, so a deletion is always visible in the report. Only with
``migration.propagate_deletions: true`` does load also delete, in qTest, the entity ztoq created
for it, in the registry's reverse dependency order; containers without force, so a module or a
cycle goes only when it holds nothing else. Test logs cannot be deleted through the qTest API: a
deleted execution's log stays and the report says so.
"""

from __future__ import annotations

from ztoq.entities import DELETE_ORDER
from ztoq.errors import FatalApiError, NotFound
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.loaders import build_loaders
from ztoq.store import TARGET_STATES, ProblemItem

PHASE = "load"


async def propagate_deletions(ctx: PhaseContext) -> dict[str, int]:
    """Delete from qTest what ztoq created for Zephyr entities that are gone; returns counts per type."""
    client, key = ctx.qtest(), ctx.project_key
    deleted: dict[str, int] = {}
    loaders = build_loaders()
    for entity_type in DELETE_ORDER:
        if not ctx.migrates(entity_type):
            continue
        with ctx.session() as repo:
            planned = repo.planned_keys(key, entity_type)
            gone = [
                m
                for m in repo.iter_mappings(key, entity_type, states=TARGET_STATES)
                if m.target_id is not None and m.source_key not in planned
            ]
        for mapping in gone:
            assert mapping.target_id is not None
            problem: ProblemItem
            try:
                await loaders[entity_type].delete(client, mapping.target_id, mapping.target_pid)
            except NotFound:
                pass  # already gone from qTest
            except FatalApiError as exc:
                problem = ProblemItem(
                    "failed",
                    "deletion_refused",
                    f"{mapping.source_key} was deleted in Zephyr, but qTest refused to delete it ({exc}).",
                )
                with ctx.session() as repo:
                    repo.replace_problems(
                        key, PHASE, entity_type, mapping.source_key, [problem], run_id=ctx.run_id
                    )
                continue
            problem = ProblemItem(
                "skipped",
                "deleted_in_qtest",
                f"{mapping.source_key} was deleted in Zephyr, so ztoq deleted it in qTest "
                "(migration.propagate_deletions).",
            )
            with ctx.session() as repo:
                repo.mark_deleted(key, entity_type, mapping.source_key)
                repo.replace_problems(
                    key, PHASE, entity_type, mapping.source_key, [problem], run_id=ctx.run_id
                )
            deleted[entity_type] = deleted.get(entity_type, 0) + 1
    with ctx.session() as repo:
        planned_logs = repo.planned_keys(key, "test_log")
        logs = [
            m
            for m in repo.iter_mappings(key, "test_log", states=TARGET_STATES)
            if m.source_key not in planned_logs
        ]
        for mapping in logs:
            repo.replace_problems(
                key,
                PHASE,
                "test_log",
                mapping.source_key,
                [
                    ProblemItem(
                        "skipped",
                        "log_not_deletable",
                        f"Execution {mapping.source_key} was deleted in Zephyr; qTest has no API to delete "
                        "a test log, so its log stays in qTest (deleting its test run removes it).",
                    )
                ],
                run_id=ctx.run_id,
            )
    return deleted
