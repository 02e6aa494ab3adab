"""Extract: read the source project (and the qTest target's settings) into the store, as received.

The configured source's adapter (:func:`ztoq.sources.source_for`) reads; this phase stores.
Every object is stored as the source returned it, keyed and content-hashed, so a re-run only
rewrites what changed and transform never needs the network. The order: the project, the
reference data (folders, statuses, ...), the test cases and their parts (Cloud: each case's
steps or its plain/BDD script), the plans and cycles, every execution (not only the last one of
each test case: the history is the point) and its parts (Cloud: its step results). The qTest
project's field settings, execution statuses and users are stored too (entity types
``qtest_*``), because the transform is a pure function of the store.

Each extract is a *sync* (:mod:`ztoq.pipeline.extract_sync`): full, or (``migration.incremental``)
a delta that lists only what the source can filter by time and reads parts only for what is new
or changed. Listings are stored page by page with their parts and a checkpoint
(:mod:`ztoq.pipeline.extract_listing`), so a killed extract resumes where it stopped.

Last, the attachments of everything read (:mod:`ztoq.pipeline.extract_attachments`): listed per
object (in a delta sync, only those of the objects that changed), each batch's files downloaded
to the local cache while the next objects are listed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.extract_attachments import FileCached, extract_attachments, extract_inline_images
from ztoq.pipeline.extract_listing import Listing, extract_listing
from ztoq.pipeline.extract_sync import FULL, Sync, begin_sync, finish_sync
from ztoq.pipeline.source_rows import claim_source
from ztoq.qtest.settings import read_target_settings
from ztoq.sources import source_name
from ztoq.store import EntityKey, SourceItem

log = logging.getLogger(__name__)

PHASE = "extract"


async def extract_project(ctx: PhaseContext) -> None:
    """Check the project exists in the source and store it."""
    name = source_name(ctx.config)
    with ctx.session() as repo:
        claim_source(repo, ctx.project_key, name, run_id=ctx.run_id)
    project = await ctx.source().read_project()
    with ctx.session() as repo:
        repo.upsert_source(ctx.project_key, [project], run_id=ctx.run_id)


async def extract_reference_data(ctx: PhaseContext, sync: Sync, written: set[EntityKey] | None) -> None:
    """What other objects refer to: folders (every type), statuses, priorities, environments."""
    for entity_type in ctx.source().reference_types:
        await extract_listing(ctx, sync, Listing(entity_type), written)


async def extract_test_cases(ctx: PhaseContext, sync: Sync, written: set[EntityKey] | None) -> None:
    """Every test case, and its parts (Cloud: its steps or its script): every one's in a full sync."""
    listing = Listing("test_case", ctx.source().test_case_parts, reread_parts=sync.mode == FULL)
    await extract_listing(ctx, sync, listing, written)


async def extract_executions(ctx: PhaseContext, sync: Sync, written: set[EntityKey] | None) -> None:
    """Test plans, test cycles, every test execution (not only the last ones), and their parts.

    Step results are facts of a past execution: with ``migration.incremental`` they are read
    only for executions that are new or changed, or whose results were never stored, even in a
    full sync; without it, every one's is read again.
    """
    source = ctx.source()
    for entity_type in source.plan_types:
        await extract_listing(ctx, sync, Listing(entity_type), written)
    reread = not ctx.config.migration.incremental
    await extract_listing(ctx, sync, Listing("test_execution", source.execution_parts, reread), written)


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


#: What :func:`run_extract` tells as it goes (:mod:`ztoq.pipeline.overlap` starts loading then).
TEST_CASES_STORED = "test_cases_stored"
"""The reference data, the test cases with their parts and their embedded images are stored."""
EXECUTIONS_READ = "executions_read"
"""Also the plans, cycles and executions with their step results, and the images they embed."""
EXECUTIONS_STORED = "executions_stored"
"""Also the executions' file lists (those of the executions and of their steps)."""


async def run_extract(
    ctx: PhaseContext, reached: Callable[[str], None] | None = None, cached: FileCached | None = None
) -> None:
    """The extract phase: one sync, resumed when an earlier run left it unfinished.

    Args:
        ctx: the phase context.
        reached: called with :data:`TEST_CASES_STORED`, :data:`EXECUTIONS_READ`, then
            :data:`EXECUTIONS_STORED`, as extract gets there (the rest of the attachments are
            listed and downloaded after).
        cached: called with the key of each attachment this run listed, once its file is in the
            cache (the files are downloaded as the lists that name them are stored).
    """
    tell = reached or (lambda _milestone: None)
    await extract_project(ctx)
    await extract_target_settings(ctx)
    with ctx.session() as repo:
        sync, why = begin_sync(
            repo, ctx.project_key, ctx.config.migration, run_id=ctx.run_id, now=datetime.now(UTC)
        )
    ctx.reporter.message(f"extract: {why}")
    # A delta sync lists the attachments of what changed: known only when this run did it all.
    written: set[EntityKey] | None = None if sync.mode == FULL or sync.resumed else set()
    await extract_reference_data(ctx, sync, written)
    ctx.check_cancelled()
    await extract_test_cases(ctx, sync, written)
    ctx.check_cancelled()
    # What test cases embed is planned with them: downloaded before anything else is read.
    await extract_inline_images(ctx, ("test_case",), cached)
    tell(TEST_CASES_STORED)
    await extract_executions(ctx, sync, written)
    ctx.check_cancelled()
    await extract_inline_images(ctx, ("test_plan", "test_cycle", "test_execution"), cached)
    tell(EXECUTIONS_READ)
    await extract_attachments(
        ctx, changed=written, executions_listed=lambda: tell(EXECUTIONS_STORED), cached=cached
    )
    with ctx.session() as repo:
        finish_sync(repo, ctx.project_key, sync, run_id=ctx.run_id, now=datetime.now(UTC))
