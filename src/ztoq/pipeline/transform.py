"""Transform: the pure mapping over what extract stored, written back as planned qTest payloads.

Reads only the store (never an API): the source records extract saved, decoded by the
configured source's record reader, and the qTest target's settings. Each registered entity type
has its planner (:data:`PLANNERS`). Every planned entity keeps references to other entities by
*source* key; load resolves them. Problems found while mapping (degraded values, skipped
entities) replace those of the previous transform of the same entity, so re-running never piles
up duplicates.

Transform works in bounded memory: records are decoded, planned and stored a batch at a time
(``performance.batch_size``); between batches it keeps only compact indexes (folders, options,
keys and ids of plans and cycles, the call graph, a bit per execution, 8 bytes per planned key:
:mod:`ztoq.pipeline.transform_planning`) and reads back by key what a batch needs of the rest.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping

from ztoq.entities import LOAD_ORDER
from ztoq.errors import ConfigError
from ztoq.mapping.inline_images import OWNER_OF, rewrite_planned_images
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.source_rows import StoredCounts, StoreRows, check_source
from ztoq.pipeline.target import attachment_limit, load_target_fields
from ztoq.pipeline.transform_planning import Planning, in_batches
from ztoq.pipeline.transform_plans import (
    plan_attachment_batch,
    plan_attachment_batches,
    plan_cycle_folder_tree,
    plan_log_batches,
    plan_module_tree,
    plan_release_batches,
    plan_run_batches,
    plan_test_case_batches,
    plan_test_cycle_batches,
)
from ztoq.pipeline.transform_write import PHASE, store_plans, write_plans
from ztoq.plan import PlannedEntity, decode_planned
from ztoq.sources import source_name
from ztoq.sources.records import Attachment
from ztoq.store import AttachmentFile, Repository, content_hash

__all__ = [
    "PHASE",
    "PLANNERS",
    "Planning",
    "execution_hashes",
    "plan_batches",
    "plan_types",
    "run_transform",
    "transform_attachments",
]

#: How each registered entity type is planned, a batch at a time (keyed exactly by
#: :data:`ztoq.entities.LOAD_ORDER`, and run in that order).
PLANNERS: dict[str, Callable[[Planning], Iterator[list[PlannedEntity]]]] = {
    "module": plan_module_tree,
    "test_case": plan_test_case_batches,
    "release": plan_release_batches,
    "cycle_folder": plan_cycle_folder_tree,
    "test_cycle": plan_test_cycle_batches,
    "test_run": plan_run_batches,
    "test_log": plan_log_batches,
    "attachment": plan_attachment_batches,
}

#: The stored source type each planned type is counted from, for progress (about as many).
_EXPECTED_FROM = {
    "test_case": "test_case",
    "release": "test_plan",
    "test_cycle": "test_cycle",
    "test_log": "test_execution",
}


def execution_hashes(repo: Repository, project_key: str, keys: Iterable[str]) -> dict[str, str]:
    """Execution key -> a hash of the execution and its step results, as extracted (of these keys).

    A test log is a fact about one execution: load re-sends it only when this hash changes, not
    when its plan changes because the test case was edited since.
    """
    wanted = list(keys)
    steps = repo.source_hashes_for(project_key, "execution_steps", wanted)
    executions = repo.source_hashes_for(project_key, "test_execution", wanted)
    return {key: content_hash([digest, steps.get(key)]) for key, digest in executions.items()}


class StoredPlans:
    """What extract listed and transform planned, in the store (``AttachmentListing``, ``PlannedLookup``)."""

    def __init__(self, repo: Repository, ctx: PhaseContext) -> None:
        self.repo = repo
        self.ctx = ctx
        self.cache = ctx.attachment_cache()

    def batches(self) -> Iterator[list[Attachment]]:
        """Every attachment listed (not deleted), in key order, a batch at a time."""
        size = self.ctx.config.performance.batch_size
        for batch in in_batches(self.repo.iter_attachments(self.ctx.project_key, batch=size), size):
            yield [self._record(row) for row in batch]

    def batches_of(self, keys: Collection[str]) -> Iterator[list[Attachment]]:
        """The attachments of ``keys`` that are listed (not deleted), in key order, a batch at a time."""
        size = self.ctx.config.performance.batch_size
        for chunk in in_batches(sorted(keys), size):
            yield [self._record(row) for row in self.repo.attachments_for(self.ctx.project_key, chunk)]

    def _record(self, row: AttachmentFile) -> Attachment:
        return Attachment(
            key=row.source_key,
            owner_type=row.owner_type,
            owner_key=row.owner_key,
            step_index=row.step_index,
            name=row.name,
            size=row.size,
            content_type=row.content_type,
            sha256=row.sha256 if row.state == "cached" else None,
            cache_path=str(self.cache.path_of(row.sha256)) if row.sha256 else None,
            reason=row.reason,
        )

    def planned_keys(self, entity_type: str, keys: Iterable[str]) -> set[str]:
        """The keys among ``keys`` of the planned (not skipped) entities of ``entity_type``."""
        return self.repo.planned_keys_among(self.ctx.project_key, entity_type, keys)

    def planned(self, entity_type: str, keys: Iterable[str]) -> Mapping[str, PlannedEntity]:
        """The planned (not skipped) entities of ``entity_type`` among ``keys``."""
        stored = self.repo.planned_payloads_for(self.ctx.project_key, entity_type, keys)
        return {key: decode_planned(entity_type, key, payload) for key, payload in stored.items()}


def plan_batches(planning: Planning, entity_type: str) -> Iterator[list[PlannedEntity]]:
    """The plans of one type a batch at a time, their inline images replaced."""
    owner_type = OWNER_OF.get(entity_type)
    for batch in PLANNERS[entity_type](planning):
        if owner_type is not None:
            for planned in batch:
                rewrite_planned_images(
                    planned, planning.inline_images.get((owner_type, planned.source_key), {})
                )
        yield batch


def plan_types(
    ctx: PhaseContext, repo: Repository, planning: Planning, types: Collection[str] | None = None
) -> dict[str, int]:
    """Plan and store every type (of ``types``) in load order; returns the number of planned entities
    per type."""
    counts = planning.source_counts
    planned: dict[str, int] = {}
    for entity_type in LOAD_ORDER:
        if types is not None and entity_type not in types:
            continue
        if not ctx.migrates(entity_type):
            continue  # what earlier runs planned stays as it was (not "deleted in Zephyr")
        source = _EXPECTED_FROM.get(entity_type)
        expected = counts.get(source, 0) if source else None
        if entity_type == "test_run":
            expected = planning.run_groups.count
        planned[entity_type] = write_plans(
            ctx,
            repo,
            entity_type,
            plan_batches(planning, entity_type),
            expected=expected,
            source_hashes=(lambda r, keys: execution_hashes(r, ctx.project_key, keys))
            if entity_type == "test_log"
            else None,
        )
    return planned


def run_transform(ctx: PhaseContext, types: Collection[str] | None = None) -> dict[str, int]:
    """The transform phase (of ``types`` only, in load order, when given: a type's planner may use
    what the planners of earlier types stored); returns the number of planned entities per type."""
    with ctx.session() as repo:
        if not repo.get_source(ctx.project_key, "project", ctx.project_key):
            raise ConfigError(
                f"Nothing was extracted for Zephyr project {ctx.project_key}; run the extract phase first."
            )
        check_source(repo, ctx.project_key, source_name(ctx.config))
        return plan_types(ctx, repo, _planning(ctx, repo, StoredPlans(repo, ctx)), types)


def _planning(ctx: PhaseContext, repo: Repository, stored: StoredPlans) -> Planning:
    """What the planners share, over the stored rows of ``repo``."""
    return Planning(
        StoreRows(repo, ctx.project_key, ctx.config.performance.batch_size),
        ctx.source().reader,
        load_target_fields(repo, ctx.project_key),
        ctx.config,
        stored,
        attachments=stored if ctx.config.migration.include_attachments else None,
        attachment_limit=attachment_limit(repo, ctx.project_key, ctx.config.qtest.max_attachment_mb),
        source_counts=StoredCounts(repo, ctx.project_key),
    )


def transform_attachments(ctx: PhaseContext, keys: Collection[str]) -> list[str]:
    """Plan and store the attachments of ``keys`` as :func:`run_transform` plans them; returns the
    keys of those planned to be sent (not skipped).

    A round of the overlapped run (:mod:`ztoq.pipeline.attachment_rounds`): the keys are of files
    this run listed and downloaded, and their owners are planned. Every other plan stays as it is
    (none is dropped as stale: the transform of every attachment does that, once extract is done).
    """
    sent: list[str] = []
    with ctx.session() as repo:
        stored = StoredPlans(repo, ctx)
        planning = _planning(ctx, repo, stored)
        for batch in stored.batches_of(keys):
            plans = plan_attachment_batch(planning, batch)
            store_plans(ctx, repo, plans)
            sent += [p.source_key for p in plans if not p.skipped]
    return sent
