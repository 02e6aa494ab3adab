"""Extract: read the source project (and the qTest target's settings) into the store, as received.

The configured source's adapter (:func:`ztoq.sources.source_for`) reads; this phase stores.
Every object is stored as the source returned it, keyed and content-hashed, so a re-run only
rewrites what changed and transform never needs the network. The order: the project, the
reference data (folders, statuses, ...), the test cases and their parts (Cloud: each case's
steps or its plain/BDD script), the plans and cycles, every execution (not only the last one of
each test case: the history is the point) and its parts (Cloud: its step results). Parts are
fetched concurrently within ``performance.max_workers``. The qTest project's field settings,
execution statuses and users are stored too (entity types ``qtest_*``), because the transform
is a pure function of the store.

Incremental runs (``migration.incremental``) read an execution's parts again only when the
execution is new or changed, or its parts were never stored.

Last, the attachments of everything read (:mod:`ztoq.pipeline.extract_attachments`): listed per
object, downloaded to the local cache.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from ztoq.pipeline.context import PhaseContext, run_bounded
from ztoq.pipeline.extract_attachments import extract_attachments
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.source_rows import claim_source
from ztoq.qtest.settings import read_target_settings
from ztoq.sources import source_name
from ztoq.sources.base import Parts
from ztoq.store import SourceItem, UpsertResult

log = logging.getLogger(__name__)

PHASE = "extract"


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
    ctx: PhaseContext, entity_type: str, items: AsyncIterator[SourceItem]
) -> tuple[list[SourceItem], UpsertResult]:
    """Store every object of a listing as ``entity_type``; return them and what the store found."""
    batch = _Batcher(ctx)
    out: list[SourceItem] = []
    ctx.reporter.start(PHASE, entity_type)
    async for item in items:
        batch.add(item)
        out.append(item)
        ctx.reporter.advance(PHASE, entity_type)
    batch.flush()
    ctx.reporter.finish(PHASE, entity_type)
    with ctx.session() as repo:
        repo.mark_unseen_deleted(ctx.project_key, entity_type, since_run_id=ctx.run_id)
    return out, batch.result


async def _collect_type(ctx: PhaseContext, entity_type: str) -> tuple[list[SourceItem], UpsertResult]:
    return await _collect(ctx, entity_type, ctx.source().read_all(entity_type))


async def _read_parts(ctx: PhaseContext, parts: Parts, parents: list[SourceItem]) -> None:
    """Store the parts of each parent, read concurrently within ``performance.max_workers``."""
    batch = _Batcher(ctx)
    ctx.reporter.start(PHASE, parts.progress_name, total=len(parents))

    async def fetch(parent: SourceItem) -> None:
        for item in await parts.read(parent):
            batch.add(item)
        ctx.reporter.advance(PHASE, parts.progress_name)

    try:
        await run_bounded(parents, fetch, ctx.config.performance.max_workers, ctx)
    finally:
        batch.flush()
    ctx.reporter.finish(PHASE, parts.progress_name)


async def extract_project(ctx: PhaseContext) -> None:
    """Check the project exists in the source and store it."""
    name = source_name(ctx.config)
    with ctx.session() as repo:
        claim_source(repo, ctx.project_key, name, run_id=ctx.run_id)
    project = await ctx.source().read_project()
    with ctx.session() as repo:
        repo.upsert_source(ctx.project_key, [project], run_id=ctx.run_id)


async def extract_reference_data(ctx: PhaseContext) -> None:
    """What other objects refer to: folders (every type), statuses, priorities, environments."""
    for entity_type in ctx.source().reference_types:
        await _collect_type(ctx, entity_type)


async def extract_test_cases(ctx: PhaseContext) -> None:
    """Every test case, then each one's parts (Cloud: its steps or its script)."""
    cases, _ = await _collect_type(ctx, "test_case")
    parts = ctx.source().test_case_parts
    if parts is None:
        return
    await _read_parts(ctx, parts, [case for case in cases if parts.applies_to(case)])
    with ctx.session() as repo:
        for entity_type in parts.entity_types:
            repo.mark_unseen_deleted(ctx.project_key, entity_type, since_run_id=ctx.run_id)


async def extract_executions(ctx: PhaseContext) -> None:
    """Test plans, test cycles, every test execution (not only the last ones), and their parts."""
    key, source = ctx.project_key, ctx.source()
    for entity_type in source.plan_types:
        await _collect_type(ctx, entity_type)
    executions, found = await _collect_type(ctx, "test_execution")
    parts = source.execution_parts
    if parts is None:
        return
    incremental = ctx.config.migration.incremental
    if incremental:
        # Step results only change with their execution: read them again only for executions
        # that are new or changed, or whose results were never stored (an interrupted run).
        with ctx.session() as repo:
            stored = repo.source_keys(key, parts.entity_types[0])
        written = {k for t, k in found.written if t == "test_execution"}
        executions = [e for e in executions if e.source_key in written or e.source_key not in stored]
    await _read_parts(ctx, parts, [e for e in executions if parts.applies_to(e)])
    with ctx.session() as repo:
        # Incremental: unread results were kept on purpose; only those of deleted executions go.
        gone = set(repo.deleted_source_keys(key, "test_execution")) if incremental else set()
        for entity_type in parts.entity_types:
            if not incremental:
                repo.mark_unseen_deleted(key, entity_type, since_run_id=ctx.run_id)
                continue
            for source_key in gone & repo.source_keys(key, entity_type):
                repo.mark_unseen_deleted(key, entity_type, since_run_id=ctx.run_id, parent_key=source_key)


async def extract_target_settings(ctx: PhaseContext) -> None:
    """The qTest project's field settings, execution statuses and users (what transform maps onto)."""
    if not ctx.has_target:
        ctx.reporter.message(
            "qTest is not configured: its field settings are not extracted; transform will need them."
        )
        return
    settings = await read_target_settings(ctx.qtest())
    items = [SourceItem("qtest_project", str(ctx.config.qtest.project_id), settings.project.to_wire())]
    items += [
        SourceItem("qtest_fields", object_type, payload)
        for object_type, payload in settings.field_payloads().items()
    ]
    items.append(SourceItem("qtest_statuses", "execution", settings.status_payloads()))
    items.append(SourceItem("qtest_users", "project", settings.user_payloads()))
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
    ctx.check_cancelled()
    await extract_attachments(ctx)
