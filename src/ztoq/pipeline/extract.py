"""Extract: read the Zephyr project (and the qTest target's settings) into the store, as received.

Every object is stored as the API returned it, keyed and content-hashed, so a re-run only
rewrites what changed and transform never needs the network. Test cases and executions come
from the cursor (NextGen) endpoints when the server has them; each case's steps (all pages) or
its plain/BDD script, and each execution's step results (all pages), follow, fetched
concurrently within ``performance.max_workers``. Every execution is read, not only the last
one of each test case: the history is the point. The qTest project's field
settings, execution statuses and users are stored too (entity types ``qtest_*``), because the
transform is a pure function of the store.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from ztoq.errors import FatalApiError, InputError, NotFound
from ztoq.pipeline.context import PhaseContext, run_bounded
from ztoq.pipeline.faults import fault_point
from ztoq.store import SourceItem, UpsertResult

log = logging.getLogger(__name__)

PHASE = "extract"

#: qTest object types whose field settings transform needs.
TARGET_OBJECT_TYPES = ("test-cases", "test-runs", "releases", "test-suites")


def _id(obj: dict[str, Any]) -> int | None:
    value = obj.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class _Batcher:
    """Collects SourceItems and writes them in batches of ``performance.batch_size``."""

    def __init__(self, ctx: PhaseContext) -> None:
        self.ctx = ctx
        self.items: list[SourceItem] = []
        self.size = ctx.config.performance.batch_size
        #: What the batches written so far found new, changed and unchanged.
        self.result = UpsertResult()

    def add(self, item: SourceItem) -> None:
        self.items.append(item)
        if len(self.items) >= self.size:
            self.flush()

    def flush(self) -> None:
        if not self.items:
            return
        with self.ctx.session() as repo:
            self.result.merge(repo.upsert_source(self.ctx.project_key, self.items, run_id=self.ctx.run_id))
        self.items = []
        fault_point("extract.batch")


async def _collect(
    ctx: PhaseContext, entity_type: str, rows: AsyncIterator[dict[str, Any]], key: str = "id"
) -> list[dict[str, Any]]:
    """Store every row of a listing as ``entity_type`` and return them."""
    batch = _Batcher(ctx)
    out: list[dict[str, Any]] = []
    ctx.reporter.start(PHASE, entity_type)
    async for row in rows:
        parent = row.get("parentId")
        batch.add(
            SourceItem(
                entity_type,
                str(row.get(key)),
                row,
                source_id=_id(row),
                parent_key=None if parent is None else str(parent),
            )
        )
        out.append(row)
        ctx.reporter.advance(PHASE, entity_type)
    batch.flush()
    ctx.reporter.finish(PHASE, entity_type)
    with ctx.session() as repo:
        repo.mark_unseen_deleted(ctx.project_key, entity_type, since_run_id=ctx.run_id)
    return out


async def extract_project(ctx: PhaseContext) -> dict[str, Any]:
    """Check the Zephyr project exists and store it."""
    key = ctx.project_key
    try:
        project = await ctx.zephyr().project(key)
    except NotFound:
        raise InputError(
            f"Zephyr project {key} was not found at {ctx.config.zephyr.base_url}; check zephyr.project_key, "
            "and that zephyr.base_url is the Zephyr Scale Cloud API v2 "
            "(https://api.zephyrscale.smartbear.com/v2, or eu.api.zephyrscale.smartbear.com/v2 in the EU)."
        ) from None
    with ctx.session() as repo:
        repo.upsert_source(
            key, [SourceItem("project", key, project, source_id=_id(project))], run_id=ctx.run_id
        )
    return project


async def extract_reference_data(ctx: PhaseContext) -> None:
    """Folders (every type), statuses, priorities and environments."""
    client, key = ctx.zephyr(), ctx.project_key
    await _collect(ctx, "folder", client.folders(key))
    await _collect(ctx, "status", client.statuses(key))
    await _collect(ctx, "priority", client.priorities(key))
    await _collect(ctx, "environment", client.environments(key))


async def extract_test_cases(ctx: PhaseContext) -> list[str]:
    """Every test case, then each one's steps or script; returns the keys seen."""
    client, key = ctx.zephyr(), ctx.project_key
    cases = await _collect(ctx, "test_case", client.test_cases(key), key="key")
    keys = [str(c["key"]) for c in cases if c.get("key")]
    batch = _Batcher(ctx)
    ctx.reporter.start(PHASE, "test_steps", total=len(keys))

    async def fetch(case_key: str) -> None:
        steps = await client.test_steps(case_key)
        batch.add(SourceItem("test_steps", case_key, steps, parent_key=case_key))
        # A step-by-step case has no plain/BDD script worth a request; others may have one.
        script = None if steps else await client.test_script(case_key)
        if script is not None:
            batch.add(SourceItem("test_script", case_key, script, source_id=_id(script), parent_key=case_key))
        ctx.reporter.advance(PHASE, "test_steps")

    try:
        await run_bounded(keys, fetch, ctx.config.performance.max_workers, ctx)
    finally:
        batch.flush()
    ctx.reporter.finish(PHASE, "test_steps")
    with ctx.session() as repo:
        repo.mark_unseen_deleted(key, "test_steps", since_run_id=ctx.run_id)
        repo.mark_unseen_deleted(key, "test_script", since_run_id=ctx.run_id)
    return keys


def execution_key(execution: dict[str, Any]) -> str:
    """How an execution is keyed in the store: its key (``PROJ-E12``), or its id when it has none."""
    return str(execution.get("key") or execution.get("id"))


async def extract_executions(ctx: PhaseContext) -> None:
    """Test plans, test cycles, every test execution (not only the last ones), and their step results."""
    client, key = ctx.zephyr(), ctx.project_key
    await _collect(ctx, "test_plan", client.test_plans(key), key="key")
    await _collect(ctx, "test_cycle", client.test_cycles(key), key="key")
    batch = _Batcher(ctx)
    executions: list[dict[str, Any]] = []
    ctx.reporter.start(PHASE, "test_execution")
    async for execution in client.test_executions(key):
        executions.append(execution)
        batch.add(SourceItem("test_execution", execution_key(execution), execution, source_id=_id(execution)))
        ctx.reporter.advance(PHASE, "test_execution")
    batch.flush()
    ctx.reporter.finish(PHASE, "test_execution")
    incremental = ctx.config.migration.incremental
    with ctx.session() as repo:
        repo.mark_unseen_deleted(key, "test_execution", since_run_id=ctx.run_id)
        if incremental:
            # Step results only change with their execution: read them again only for executions
            # that are new or changed, or whose results were never stored (an interrupted run).
            stored = repo.source_keys(key, "execution_steps")
            written = {k for t, k in batch.result.written if t == "test_execution"}
            executions = [
                e for e in executions if execution_key(e) in written or execution_key(e) not in stored
            ]
    ctx.reporter.start(PHASE, "execution_steps", total=len(executions))

    async def fetch(execution: dict[str, Any]) -> None:
        ident = execution.get("id") or execution.get("key")
        steps = await client.execution_steps(str(ident))
        source_key = execution_key(execution)
        batch.add(SourceItem("execution_steps", source_key, steps, parent_key=source_key))
        ctx.reporter.advance(PHASE, "execution_steps")

    try:
        await run_bounded(executions, fetch, ctx.config.performance.max_workers, ctx)
    finally:
        batch.flush()
    ctx.reporter.finish(PHASE, "execution_steps")
    with ctx.session() as repo:
        if incremental:
            # Unread results were kept on purpose; only those of deleted executions go.
            gone = set(repo.deleted_source_keys(key, "test_execution"))
            for source_key in gone & repo.source_keys(key, "execution_steps"):
                repo.mark_unseen_deleted(
                    key, "execution_steps", since_run_id=ctx.run_id, parent_key=source_key
                )
        else:
            repo.mark_unseen_deleted(key, "execution_steps", since_run_id=ctx.run_id)


async def extract_target_settings(ctx: PhaseContext) -> None:
    """The qTest project's field settings, execution statuses and users (what transform maps onto)."""
    if not ctx.has_target:
        ctx.reporter.message(
            "qTest is not configured: its field settings are not extracted; transform will need them."
        )
        return
    client = ctx.qtest()
    project = await client.project()
    items = [SourceItem("qtest_project", str(ctx.config.qtest.project_id), project.to_wire())]
    for object_type in TARGET_OBJECT_TYPES:
        try:
            fields = await client.fields(object_type)
        except FatalApiError as exc:
            # Some qTest versions have no field settings for an object type; nothing to map onto.
            log.info("qTest has no field settings for %s (%s)", object_type, exc)
            fields = []
        items.append(SourceItem("qtest_fields", object_type, [f.to_wire() for f in fields]))
    statuses = await client.execution_statuses()
    items.append(SourceItem("qtest_statuses", "execution", [s.to_wire() for s in statuses]))
    users = await client.users()
    items.append(SourceItem("qtest_users", "project", [u.to_wire() for u in users]))
    with ctx.session() as repo:
        repo.upsert_source(ctx.project_key, items, run_id=ctx.run_id)


async def run_extract(ctx: PhaseContext) -> None:
    """The extract phase."""
    await extract_project(ctx)
    await extract_target_settings(ctx)
    await extract_reference_data(ctx)
    ctx.check_cancelled()
    await extract_test_cases(ctx)
    ctx.check_cancelled()
    await extract_executions(ctx)
