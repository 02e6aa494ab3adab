"""Load: send planned payloads to qTest in dependency order, recording every step durably.

Entities go in batches of ``performance.batch_size``, each batch within one dependency level.
For a batch the order is: record the *intent* (payload hash) of every entity about to be created,
and commit; send the creates; record the qTest ids, each in the same statement as its state
change, and commit. A crash in between leaves intents without an id: the next run *reconciles*
them first — it looks each entity up in qTest by its Zephyr key (the source-key field or the
marker line in the description, found by listing its parent) and adopts it if it is there, so
nothing is created twice. An entity qTest already holds with other content is updated in place
(a new version, never a duplicate); one holding the same content is not sent at all.

Within a batch entities are sent concurrently (``performance.max_workers``); batches, levels and
entity types go strictly in order, parents first, called test cases before callers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Iterator, Mapping

from ztoq.entities import BY_NAME, ENTITY_TYPES, LOAD_ORDER
from ztoq.errors import FatalApiError, PayloadTooLarge, RetriableApiError
from ztoq.mapping.steps import find_step_refs
from ztoq.pipeline.context import PhaseContext, run_bounded
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load_attachments import step_log_owners
from ztoq.pipeline.load_decision import LoadAction, decide_load, matches_plan, parent_of, placement_of
from ztoq.pipeline.load_listings import IndexedListings, Listings, LiveListings
from ztoq.pipeline.load_results import PHASE, LoadResults
from ztoq.pipeline.load_types import EntityLoader, IdSet, KeySet, KnownIds, Loaded, LoaderInputs
from ztoq.pipeline.loaders import StoredAttachmentPlaces, build_loaders
from ztoq.pipeline.target import load_target_fields, source_key_field_ids
from ztoq.plan import PlannedEntity, decode_planned, parse_ref
from ztoq.qtest import QTestClient
from ztoq.store import TARGET_STATES, EntityKey, LoadWork, PlannedRecord

log = logging.getLogger(__name__)

__all__ = ["PHASE", "Loader", "decoded_plan", "run_load"]

#: How often a create that failed in a way that may have created the entity is looked up and retried.
CREATE_ATTEMPTS = 3

#: The kinds of qTest object other entities are placed under (what ``Loader.fresh`` keeps).
PARENT_KINDS = frozenset(BY_NAME[parent].kind for registered in ENTITY_TYPES for parent in registered.parents)


class Loader:
    """The load phase over one context."""

    def __init__(self, ctx: PhaseContext, loaders: Mapping[str, EntityLoader]) -> None:
        self.ctx = ctx
        self.loaders = loaders
        #: Source key -> qTest id per type, of what the batch being loaded refers to (reconcile:
        #: of everything, see :meth:`refresh_ids`). Updated in place: loaders hold on to them
        #: (test logs read the test case ids of their step results).
        self.ids: dict[str, dict[str, int]] = {entity_type: {} for entity_type in LOAD_ORDER}
        #: (qTest kind, id) of every container this run created: nothing else is under them
        #: (8 bytes a container: a run creates as many test runs as the project has).
        self.fresh = IdSet()
        self.results = LoadResults(ctx)
        #: The step ids and step log ids learned from qTest's answers (test case and test log
        #: loaders keep them; the attachment loader uses them), over every :meth:`run`.
        self.known_steps = (KnownIds(), KnownIds())
        #: How many entities were sent per type, over every :meth:`run` of this loader.
        self.sent: dict[str, int] = {}
        self._index: IndexedListings | None = None

    def refresh_ids(self) -> None:
        """Re-read source key -> qTest id for every type (reconcile, after a level completes)."""
        with self.ctx.session() as repo:
            for entity_type in LOAD_ORDER:
                current = self.ids.setdefault(entity_type, {})
                current.clear()
                current.update(repo.mappings_for(self.ctx.project_key, entity_type))

    def read_refs(self, batch: list[LoadWork]) -> None:
        """Read the qTest ids ``batch`` refers to (references, test cases of step results): one query."""
        wanted: set[EntityKey] = set()
        for work in batch:
            wanted.update(work.planned.depends_on)
            if work.planned.entity_type == "test_log":
                wanted.update(("test_case", key) for key, _order in find_step_refs(work.planned.payload))
        with self.ctx.session() as repo:
            found = repo.target_ids(self.ctx.project_key, wanted) if wanted else {}
        for ids in self.ids.values():
            ids.clear()
        for (entity_type, key), target in found.items():
            self.ids.setdefault(entity_type, {})[key] = target

    def resolve(self, entity_type: str, source_key: str) -> int | None:
        return self.ids.get(entity_type, {}).get(source_key)

    def batches(self, entity_type: str, level: int) -> Iterator[list[LoadWork]]:
        """The work of one level, a batch at a time in load order, each batch read when it is due."""
        size = self.ctx.config.performance.batch_size
        after: tuple[str, str] | None = None
        while True:
            with self.ctx.session() as repo:
                batch = repo.load_work_page(self.ctx.project_key, entity_type, level, after=after, limit=size)
            if batch:
                yield batch
            if len(batch) < size:
                return
            after = (batch[-1].planned.sort_key, batch[-1].planned.source_key)

    async def run(self, types: Collection[str] | None = None) -> dict[str, int]:
        """Load every type (of ``types``), level by level, batch by batch; returns how many entities
        were sent per type (also added to :attr:`sent`, over every call)."""
        sent: dict[str, int] = {}
        for entity_type in LOAD_ORDER:
            if (types is not None and entity_type not in types) or not self.ctx.migrates(entity_type):
                continue
            loader = self.loaders[entity_type]
            with self.ctx.session() as repo:
                total = repo.count_load_work(self.ctx.project_key, entity_type)
                levels = repo.planned_levels(self.ctx.project_key, entity_type) if total else []
            self.ctx.reporter.start(PHASE, entity_type, total=total)
            sent[entity_type] = 0
            for level in levels:
                for batch in self.batches(entity_type, level):
                    sent[entity_type] += len(batch)
                    await self.load_batch(loader, batch)
            self.ctx.reporter.finish(PHASE, entity_type)
            self.sent[entity_type] = self.sent.get(entity_type, 0) + sent[entity_type]
            if self._index is not None:
                self._index.forget()
        return sent

    def summarize(self) -> None:
        """Say how many listings adoption took, or that nothing needed sending (after the last run)."""
        if self._index is not None:
            self.ctx.reporter.message(
                f"load: looked for entities qTest already holds with {self._index.listed} listing(s) "
                "(adopt before create)."
            )
        if not any(self.sent.values()):
            with self.ctx.session() as repo:
                counts = repo.state_counts(self.ctx.project_key)
            present = sum(
                n for by_state in counts.values() for state, n in by_state.items() if state in TARGET_STATES
            )
            self.ctx.reporter.message(
                f"load: nothing to send; all {present} planned entities are already in qTest, unchanged."
            )

    async def load_batch(self, loader: EntityLoader, batch: list[LoadWork]) -> None:
        """Load one batch: settle what needs no create, record every intent in one commit, create
        the rest concurrently, record every result in one commit (also when the batch fails).

        The store's work runs in worker threads, in that order: while a commit waits on the disk,
        the event loop goes on with the phases overlapping load (extract's lists and downloads,
        validate's reads)."""
        await asyncio.to_thread(self.read_refs, batch)
        workers = self.ctx.config.performance.max_workers
        creates: list[Creating] = []

        async def settle(item: tuple[int, LoadWork]) -> None:
            entity = await self.load_one(loader, item[1])
            if entity is not None:
                creates.append((item[0], item[1], entity))

        try:
            await run_bounded(enumerate(batch), settle, workers, self.ctx)
            if not creates:
                return
            creates.sort(key=lambda c: c[0])
            intents = [(work.planned.source_key, work.planned.content_hash) for _, work, _ in creates]
            await asyncio.to_thread(self._record_intents, batch[0].planned.entity_type, intents)
            if batch[0].planned.entity_type == "test_log":
                # A run's logs go strictly oldest first (so its latest log is the latest execution);
                # different runs' logs go concurrently.
                async def in_order(group: list[Creating]) -> None:
                    for _, work, entity in group:
                        self.ctx.check_cancelled()
                        await self.create_one(loader, work, entity)

                await run_bounded(_group_by_run(creates), in_order, workers, self.ctx)
            else:

                async def one(item: Creating) -> None:
                    await self.create_one(loader, item[1], item[2])

                await run_bounded(creates, one, workers, self.ctx)
        finally:
            # Recorded even when the batch failed or was cancelled: the thread runs to its end
            # (and the event loop waits for its worker threads before it closes).
            await asyncio.to_thread(self.results.record, self.results.take())

    def _record_intents(self, entity_type: str, intents: list[tuple[str, str]]) -> None:
        with self.ctx.session() as repo:
            repo.record_intents(self.ctx.project_key, entity_type, intents)

    async def load_one(self, loader: EntityLoader, work: LoadWork) -> PlannedEntity | None:
        """Update, adopt, keep or skip one entity; returns it (resolved) when it must be created."""
        ctx, planned, mapping = self.ctx, work.planned, work.mapping
        entity_type, key = planned.entity_type, planned.source_key
        action = decide_load(planned, mapping)
        if action is LoadAction.UNCHANGED:
            ctx.reporter.advance(PHASE, entity_type, skipped=1)
            return None
        try:
            entity = decoded_plan(planned).resolved(self.resolve)
        except KeyError as missing:
            self.results.problem(
                work, "skipped", "dependency_not_loaded", _dependency_message(key, str(missing))
            )
            ctx.reporter.advance(PHASE, entity_type, skipped=1)
            return None
        if action is LoadAction.KEEP:
            assert mapping is not None
            assert mapping.target_id is not None
            # A log whose update failed is kept too: what qTest holds is what its execution was.
            kept = mapping.state if mapping.state in TARGET_STATES else "updated"
            self.results.loaded(work, Loaded(mapping.target_id), kept, sent=False)
            ctx.reporter.advance(PHASE, entity_type, skipped=1)
            return None
        client = ctx.qtest()
        try:
            if action is LoadAction.UPDATE:
                assert mapping is not None
                assert mapping.target_id is not None
                result = await loader.update(client, mapping.target_id, entity)
                self.results.loaded(work, result, "updated")
            else:
                found = await self._existing(loader, client, work, entity, action)
                if found is None:
                    return entity
                result = found
        except PayloadTooLarge:
            self.results.too_large(work, entity)
            ctx.reporter.advance(PHASE, entity_type, skipped=1)
            return None
        except FatalApiError as exc:
            self.results.problem(work, "failed", "rejected_by_qtest", f"qTest rejected {key}: {exc}")
            ctx.reporter.advance(PHASE, entity_type, failed=1)
            return None
        ctx.reporter.advance(PHASE, entity_type)
        log.debug("loaded %s %s -> %s", entity_type, key, result.target_id)
        return None

    async def create_one(self, loader: EntityLoader, work: LoadWork, entity: PlannedEntity) -> None:
        """Create one entity whose intent is recorded; its result is recorded with the batch's."""
        ctx, entity_type, key = self.ctx, work.planned.entity_type, work.planned.source_key
        try:
            result = await self._create(loader, ctx.qtest(), work, entity)
        except PayloadTooLarge:
            self.results.too_large(work, entity)
            ctx.reporter.advance(PHASE, entity_type, skipped=1)
            return
        except FatalApiError as exc:
            self.results.problem(work, "failed", "rejected_by_qtest", f"qTest rejected {key}: {exc}")
            ctx.reporter.advance(PHASE, entity_type, failed=1)
            return
        ctx.reporter.advance(PHASE, entity_type)
        log.debug("loaded %s %s -> %s", entity_type, key, result.target_id)

    async def _existing(
        self,
        loader: EntityLoader,
        client: QTestClient,
        work: LoadWork,
        entity: PlannedEntity,
        action: LoadAction,
    ) -> Loaded | None:
        """The entity adopted when qTest already holds it; None when it must be created."""
        planned, mapping = work.planned, work.mapping
        if action is LoadAction.RECONCILE and mapping is not None:
            # A previous run may have created it before it could record the answer.
            found = await self._find(loader, client, entity, LiveListings(client))
            if found is not None:
                return await self._adopt(loader, client, work, found, entity, mapping.intent_hash)
        elif self._may_exist(entity):
            # Adopt before create: qTest may hold it already (a lost or rebuilt store, another
            # machine's migration). Its parent's children are listed once per run, and only for
            # parents this run did not create itself (those hold nothing ztoq has not sent).
            found = await self._find(loader, client, entity, self.index)
            if found is not None:
                same = matches_plan(found.wire, entity.body or {})
                return await self._adopt(
                    loader, client, work, found, entity, planned.content_hash if same else None
                )
        return None

    async def _create(
        self, loader: EntityLoader, client: QTestClient, work: LoadWork, entity: PlannedEntity
    ) -> Loaded:
        planned = work.planned
        entity_type, key = planned.entity_type, planned.source_key
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            if attempt > 1:
                # The batch recorded the first attempt's intent; each further one is recorded too.
                with self.ctx.session() as repo:
                    repo.record_intent(self.ctx.project_key, entity_type, key, planned.content_hash)
            fault_point("load.after_intent")
            try:
                result = await loader.create(client, entity)
            except RetriableApiError:
                # The create may or may not have happened (a dropped connection, a 5xx after
                # processing, a timeout while the server is still working on it): give the server
                # time to finish, then look before sending it again.
                await asyncio.sleep(self.ctx.config.network.retry_delay * 2 ** (attempt - 1))
                found = await self._find(loader, client, entity, LiveListings(client))
                if found is not None:
                    # What qTest holds is what was just sent.
                    return await self._adopt(loader, client, work, found, entity, planned.content_hash)
                if attempt == CREATE_ATTEMPTS:
                    raise
                continue
            fault_point("load.after_create")
            placed = placement_of(entity_type, result.target_id)
            if placed[0] in PARENT_KINDS:
                self.fresh.add(placed)
            self.results.loaded(work, result, "created")
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _find(
        self, loader: EntityLoader, client: QTestClient, entity: PlannedEntity, listings: Listings
    ) -> Loaded | None:
        """The entity qTest holds with this Zephyr key under its parent (the first, if duplicated)."""
        found = await loader.candidates(entity, listings)
        return await loader.adopted(client, found[0], entity) if found else None

    def _may_exist(self, entity: PlannedEntity) -> bool:
        """Whether qTest may already hold ``entity``: its parent was not created by this run."""
        parent = parent_of(entity)
        return parent is None or parent not in self.fresh

    @property
    def index(self) -> IndexedListings:
        """The adoption index: each parent's children listed at most once per run."""
        if self._index is None:
            self._index = IndexedListings(self.ctx.qtest())
        return self._index

    async def _adopt(
        self,
        loader: EntityLoader,
        client: QTestClient,
        work: LoadWork,
        found: Loaded,
        entity: PlannedEntity,
        sent_hash: str | None,
    ) -> Loaded:
        """Take over an entity qTest already holds (created by a request whose answer was lost, or
        before the store knew of it).

        ``sent_hash`` is the hash of the content qTest holds (of the payload that request carried;
        the plan's own hash when the found entity matches the plan; None when it does not): when
        the plan differs (a crash, then an edit in Zephyr), the entity is updated in place.
        """
        if sent_hash != work.planned.content_hash:
            found = await loader.update(client, found.target_id, entity)
        self.results.loaded(work, found, "adopted")
        return found


def _dependency_message(key: str, missing: str) -> str:
    target = parse_ref({"$ref": missing.strip("'\"")})
    what = f"{target[0].replace('_', ' ')} {target[1]}" if target else missing
    return f"{key} was not sent because {what} is not in qTest (see its own problem)."


Creating = tuple[int, LoadWork, PlannedEntity]
"""An entity of a batch to create: its position in the batch, its work and its resolved plan."""


def _group_by_run(creates: list[Creating]) -> list[list[Creating]]:
    """Test logs grouped by their (resolved) run, each group in load order (oldest first)."""
    groups: dict[object, list[Creating]] = {}
    for item in creates:
        groups.setdefault(item[2].parent, []).append(item)
    return list(groups.values())


def decoded_plan(planned: PlannedRecord) -> PlannedEntity:
    """The typed plan of a stored planned entity."""
    return decode_planned(planned.entity_type, planned.source_key, planned.payload, level=planned.level)


def prepared_loader(ctx: PhaseContext, loader: Loader | None = None) -> Loader:
    """A loader (``loader``, or a new one) with every type's loader built from what is planned now."""
    attachments = ctx.migrates("attachment")
    with ctx.session() as repo:
        fields = load_target_fields(repo, ctx.project_key)
        owners = step_log_owners(repo, ctx.project_key) if attachments else KeySet()
    loader = loader or Loader(ctx, {})
    inputs = LoaderInputs(
        key_fields=source_key_field_ids(fields, ctx.config.qtest.source_key_field),
        case_ids=loader.ids["test_case"],
        attachment_cache=ctx.attachment_cache(),
        attachment_places=StoredAttachmentPlaces(ctx.session, ctx.project_key),
        step_log_owners=owners,
    )
    # The step ids learned so far (from create and approve answers) are kept: never asked again.
    inputs.case_steps, inputs.step_logs = loader.known_steps
    loader.loaders = build_loaders(inputs)
    return loader


async def run_load(
    ctx: PhaseContext,
    types: Collection[str] | None = None,
    *,
    loader: Loader | None = None,
    last: bool = True,
) -> dict[str, int]:
    """The load phase (of ``types`` only, when given); returns how many entities were sent per type.

    Args:
        ctx: the phase context.
        types: the entity types to load, in load order (default: all).
        loader: the loader of an earlier part of the same phase (it knows what this run created).
        last: this is the phase's last part: deletions are propagated and the summary said.
    """
    loader = prepared_loader(ctx, loader)
    sent = await loader.run(types)
    if not last:
        return sent
    loader.summarize()
    if ctx.config.migration.propagate_deletions:
        from ztoq.pipeline.deletions import propagate_deletions

        removed = await propagate_deletions(ctx)
        if removed:
            ctx.reporter.message(
                "load: deleted in qTest what was deleted in Zephyr: "
                + ", ".join(f"{n} {t}" for t, n in sorted(removed.items()))
            )
    return sent
