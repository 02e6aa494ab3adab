"""Reconcile: rebuild the store's mappings from qTest alone (``ztoq db reconcile``).

After a lost or corrupted store, or to take over a project another machine migrated, the store
knows what Zephyr holds (extract and transform run first) but not what qTest holds. This phase
finds, for every planned entity without a qTest id, the qTest entity carrying its Zephyr key
under its parent (the adoption index: each parent listed once, level by level so children are
looked for under their adopted parents), and records it as adopted: with the plan's hash when
it already says what the plan says, without one when it differs, so the next load updates it in
place. It never creates, updates or deletes anything in qTest (a test case left unapproved by a
crash is approved, as load would). Each adoption is recorded at once: a killed reconcile resumes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ztoq.entities import LOAD_ORDER
from ztoq.pipeline.context import PhaseContext, run_bounded
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load import Loader, decoded_plan
from ztoq.pipeline.load_decision import LoadAction, decide_load, matches_plan
from ztoq.pipeline.load_types import EntityLoader, LoaderInputs
from ztoq.pipeline.loaders import build_loaders
from ztoq.pipeline.target import load_target_fields, source_key_field_ids
from ztoq.store import LoadWork

PHASE = "reconcile"

#: How many examples of unmatched entities a type keeps for the summary.
EXAMPLES = 10


@dataclass
class TypeReconciled:
    """What reconcile found for one entity type.

    Attributes:
        adopted: planned entities found in qTest by their Zephyr key and recorded as adopted.
        differ: of those, how many hold other content than the plan (the next load updates them).
        unmatched: planned entities qTest does not hold (the next load creates them); examples.
        duplicated: Zephyr key -> every qTest id carrying it (the first one was adopted).
    """

    adopted: int = 0
    differ: int = 0
    unmatched: int = 0
    unmatched_examples: list[str] = field(default_factory=list)
    duplicated: dict[str, list[int]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "adopted": self.adopted,
            "differ": self.differ,
            "unmatched": self.unmatched,
            "unmatched_examples": self.unmatched_examples,
            "duplicated": self.duplicated,
        }


@dataclass
class ReconcileResult:
    """What reconcile found, per entity type in load order, and what the index cost."""

    types: dict[str, TypeReconciled] = field(default_factory=dict)
    listings: int = 0

    @property
    def adopted(self) -> int:
        return sum(t.adopted for t in self.types.values())

    @property
    def unmatched(self) -> int:
        return sum(t.unmatched for t in self.types.values())

    @property
    def duplicated(self) -> int:
        return sum(len(t.duplicated) for t in self.types.values())

    def to_json(self) -> dict[str, Any]:
        return {"types": {k: v.to_json() for k, v in self.types.items()}, "listings": self.listings}


def _unmapped(work: Sequence[LoadWork]) -> list[LoadWork]:
    """The work items load would create (the ones qTest may hold without the store knowing)."""
    creating = (LoadAction.CREATE, LoadAction.RECONCILE)
    return [item for item in work if decide_load(item.planned, item.mapping) in creating]


class Reconciler:
    """Adopts, type by type and level by level, what qTest already holds."""

    def __init__(self, ctx: PhaseContext, loader: Loader) -> None:
        self.ctx = ctx
        self.loader = loader
        self.result = ReconcileResult()

    async def run(self) -> ReconcileResult:
        for entity_type in LOAD_ORDER:
            found = self.result.types.setdefault(entity_type, TypeReconciled())
            entity_loader = self.loader.loaders[entity_type]
            with self.ctx.session() as repo:
                by_level = [
                    _unmapped(list(repo.iter_load_work(self.ctx.project_key, entity_type, level=level)))
                    for level in repo.planned_levels(self.ctx.project_key, entity_type)
                ]
            self.ctx.reporter.start(PHASE, entity_type, total=sum(len(w) for w in by_level))
            for work in by_level:
                self.loader.refresh_ids()

                async def one(
                    item: LoadWork, loader: EntityLoader = entity_loader, found: TypeReconciled = found
                ) -> None:
                    await self.reconcile_one(loader, item, found)

                await run_bounded(work, one, self.ctx.config.performance.max_workers, self.ctx)
            self.ctx.reporter.finish(PHASE, entity_type)
            self.loader.index.forget()
        self.loader.refresh_ids()
        self.result.listings = self.loader.index.listed
        return self.result

    async def reconcile_one(self, loader: EntityLoader, work: LoadWork, found: TypeReconciled) -> None:
        planned = work.planned
        entity_type, key = planned.entity_type, planned.source_key
        try:
            entity = decoded_plan(planned).resolved(self.loader.resolve)
        except KeyError:
            # Its parent is not in qTest: neither is it.
            self._unmatched(found, entity_type, key)
            return
        client = self.ctx.qtest()
        candidates = await loader.candidates(entity, self.loader.index)
        if not candidates:
            self._unmatched(found, entity_type, key)
            return
        if len(candidates) > 1:
            found.duplicated[key] = sorted(c.target_id for c in candidates)
        adopted = await loader.adopted(client, candidates[0], entity)
        same = matches_plan(candidates[0].wire, entity.body or {})
        with self.ctx.session() as repo:
            repo.record_created(
                self.ctx.project_key,
                entity_type,
                key,
                adopted.target_id,
                planned.content_hash if same else None,
                pid=adopted.pid,
                web_url=adopted.web_url,
                version=adopted.version,
                state="adopted",
                source_hash=planned.source_hash if same else None,
            )
        fault_point("reconcile.after_adopt")
        found.adopted += 1
        found.differ += 0 if same else 1
        self.ctx.reporter.advance(PHASE, entity_type)

    def _unmatched(self, found: TypeReconciled, entity_type: str, key: str) -> None:
        found.unmatched += 1
        if len(found.unmatched_examples) < EXAMPLES:
            found.unmatched_examples.append(key)
        self.ctx.reporter.advance(PHASE, entity_type, skipped=1)


async def run_reconcile(ctx: PhaseContext) -> ReconcileResult:
    """The reconcile phase: adopt every planned entity qTest already holds; returns what it found."""
    with ctx.session() as repo:
        fields = load_target_fields(repo, ctx.project_key)
    loader = Loader(ctx, {})
    loader.loaders = build_loaders(
        LoaderInputs(
            key_fields=source_key_field_ids(fields, ctx.config.qtest.source_key_field),
            case_ids=loader.ids.setdefault("test_case", {}),
        )
    )
    return await Reconciler(ctx, loader).run()
