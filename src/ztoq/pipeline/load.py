"""Load: send planned payloads to qTest in dependency order, recording every step durably.

For each entity the order is: record the *intent* (payload hash) and commit; send the create;
record the qTest id in the same statement as the state change, and commit. A crash between the
two leaves an intent without an id: the next run *reconciles* it first — it looks the entity up
in qTest by its Zephyr key (the source-key field or the marker line in the description, found by
listing its parent) and adopts it if it is there, so nothing is created twice. An entity qTest
already holds with other content is updated in place (a new version, never a duplicate); one
holding the same content is not sent at all.

Within one dependency level entities are sent concurrently (``performance.max_workers``);
levels and entity types go strictly in order, parents first, called test cases before callers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from ztoq.entities import LOAD_ORDER
from ztoq.errors import FatalApiError, PayloadTooLarge, RetriableApiError
from ztoq.pipeline.context import PhaseContext, run_bounded
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load_attachments import parse_placement
from ztoq.pipeline.load_decision import LoadAction, decide_load, matches_plan, parent_of, placement_of
from ztoq.pipeline.load_listings import IndexedListings, Listings, LiveListings
from ztoq.pipeline.load_types import EntityLoader, Loaded, LoaderInputs
from ztoq.pipeline.loaders import attachment_places, build_loaders
from ztoq.pipeline.target import load_target_fields, remember_refused_attachment, source_key_field_ids
from ztoq.plan import REF_KEY, PlannedEntity, decode_planned, parse_ref
from ztoq.qtest import QTestClient
from ztoq.store import LoadWork, PlannedItem, PlannedRecord, ProblemItem

log = logging.getLogger(__name__)

PHASE = "load"

#: How often a create that failed in a way that may have created the entity is looked up and retried.
CREATE_ATTEMPTS = 3


class Loader:
    """The load phase over one context."""

    def __init__(self, ctx: PhaseContext, loaders: Mapping[str, EntityLoader]) -> None:
        self.ctx = ctx
        self.loaders = loaders
        self.ids: dict[str, dict[str, int]] = {}
        #: (qTest kind, id) of every container this run created: nothing else is under them.
        self.fresh: set[tuple[str, int]] = set()
        self._index: IndexedListings | None = None

    def refresh_ids(self) -> None:
        """Re-read source key -> qTest id for every type (after a level completes).

        The dicts are updated in place: loaders may hold on to them (test logs read test case ids).
        """
        with self.ctx.session() as repo:
            for entity_type in LOAD_ORDER:
                current = self.ids.setdefault(entity_type, {})
                current.clear()
                current.update(repo.mappings_for(self.ctx.project_key, entity_type))

    def resolve(self, entity_type: str, source_key: str) -> int | None:
        return self.ids.get(entity_type, {}).get(source_key)

    async def run(self) -> dict[str, int]:
        """Load every type, level by level; returns how many entities were sent per type."""
        sent: dict[str, int] = {}
        for entity_type in LOAD_ORDER:
            if not self.ctx.migrates(entity_type):
                continue
            loader = self.loaders[entity_type]
            # Loading a level never changes what a deeper level has to send, so each level's work
            # is listed once, up front (which also gives the total for the progress bar).
            with self.ctx.session() as repo:
                by_level = [
                    list(repo.iter_load_work(self.ctx.project_key, entity_type, level=level))
                    for level in repo.planned_levels(self.ctx.project_key, entity_type)
                ]
            self.ctx.reporter.start(PHASE, entity_type, total=sum(len(w) for w in by_level))
            sent[entity_type] = 0
            for work in by_level:
                self.refresh_ids()
                if not work:
                    continue
                sent[entity_type] += len(work)
                if entity_type == "test_log":
                    # A run's logs go strictly oldest first (so its latest log is the latest
                    # execution); different runs' logs go concurrently.
                    groups = _group_by_run(work)

                    async def in_order(group: list[LoadWork], loader: EntityLoader = loader) -> None:
                        for item in group:
                            self.ctx.check_cancelled()
                            await self.load_one(loader, item)

                    await run_bounded(groups, in_order, self.ctx.config.performance.max_workers, self.ctx)
                    continue

                async def one(item: LoadWork, loader: EntityLoader = loader) -> None:
                    await self.load_one(loader, item)

                await run_bounded(work, one, self.ctx.config.performance.max_workers, self.ctx)
            self.ctx.reporter.finish(PHASE, entity_type)
            if self._index is not None:
                self._index.forget()
        self.refresh_ids()
        if self._index is not None:
            self.ctx.reporter.message(
                f"load: looked for entities qTest already holds with {self._index.listed} listing(s) "
                "(adopt before create)."
            )
        if not any(sent.values()):
            present = sum(len(ids) for ids in self.ids.values())
            self.ctx.reporter.message(
                f"load: nothing to send; all {present} planned entities are already in qTest, unchanged."
            )
        return sent

    async def load_one(self, loader: EntityLoader, work: LoadWork) -> None:
        """Create, update or adopt one entity, recording each step durably."""
        ctx, planned, mapping = self.ctx, work.planned, work.mapping
        entity_type, key = planned.entity_type, planned.source_key
        action = decide_load(planned, mapping)
        if action is LoadAction.UNCHANGED:
            ctx.reporter.advance(PHASE, entity_type, skipped=1)
            return
        try:
            entity = decoded_plan(planned).resolved(self.resolve)
        except KeyError as missing:
            self._problem(work, "skipped", "dependency_not_loaded", _dependency_message(key, str(missing)))
            ctx.reporter.advance(PHASE, entity_type, skipped=1)
            return
        client = ctx.qtest()
        if action is LoadAction.KEEP:
            assert mapping is not None
            assert mapping.target_id is not None
            self._recorded(work, Loaded(mapping.target_id), mapping.state)
            ctx.reporter.advance(PHASE, entity_type, skipped=1)
            return
        try:
            if action is LoadAction.UPDATE:
                assert mapping is not None
                assert mapping.target_id is not None
                result = await loader.update(client, mapping.target_id, entity)
                self._recorded(work, result, "updated")
            else:
                result = await self._create(loader, client, work, entity, action)
        except PayloadTooLarge:
            self._refused_as_too_large(work, entity)
            ctx.reporter.advance(PHASE, entity_type, skipped=1)
            return
        except FatalApiError as exc:
            self._problem(work, "failed", "rejected_by_qtest", f"qTest rejected {key}: {exc}")
            ctx.reporter.advance(PHASE, entity_type, failed=1)
            return
        ctx.reporter.advance(PHASE, entity_type)
        log.debug("loaded %s %s -> %s", entity_type, key, result.target_id)

    async def _create(
        self,
        loader: EntityLoader,
        client: QTestClient,
        work: LoadWork,
        entity: PlannedEntity,
        action: LoadAction,
    ) -> Loaded:
        planned, mapping = work.planned, work.mapping
        entity_type, key = planned.entity_type, planned.source_key
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
        for attempt in range(1, CREATE_ATTEMPTS + 1):
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
            self.fresh.add(placement_of(entity_type, result.target_id))
            self._recorded(work, result, "created")
            fault_point("load.after_record")
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
        self._recorded(work, found, "adopted")
        return found

    def _recorded(self, work: LoadWork, result: Loaded, state: str) -> None:
        planned = work.planned
        with self.ctx.session() as repo:
            repo.record_created(
                self.ctx.project_key,
                planned.entity_type,
                planned.source_key,
                result.target_id,
                planned.content_hash,
                pid=result.pid,
                web_url=result.web_url,
                version=result.version,
                state=state,
                source_hash=planned.source_hash,
            )
            if planned.entity_type == "attachment":
                where = parse_placement(result.pid)
                if where is not None:
                    repo.record_attachment_target(
                        self.ctx.project_key,
                        planned.source_key,
                        object_type=where[0],
                        object_id=where[1],
                        target_id=result.target_id,
                    )
            if work.mapping is not None and work.mapping.state in ("failed", "skipped"):
                repo.replace_problems(
                    self.ctx.project_key, PHASE, planned.entity_type, planned.source_key, []
                )

    def _refused_as_too_large(self, work: LoadWork, entity: PlannedEntity) -> None:
        """A 413: never retried. The file is planned as not sent (as transform plans a file over
        ``qtest.max_attachment_mb``), and no file as large is sent again while that setting stays."""
        planned, ctx = work.planned, self.ctx
        size = int((entity.body or {}).get("size") or 0)
        message = (
            f"qTest refused the attachment {(entity.body or {}).get('name')!r} ({size / 1048576:,.1f} MB) "
            "as too large (413): the site accepts less than qtest.max_attachment_mb says. It was not sent "
            "and stays in the attachment cache."
        )
        skipped = PlannedItem(
            planned.entity_type,
            planned.source_key,
            {"body": None, "extra": {}},
            level=planned.level,
            sort_key=planned.sort_key,
            status="skipped",
        )
        with ctx.session() as repo:
            remember_refused_attachment(
                repo, ctx.project_key, size, ctx.config.qtest.max_attachment_mb, ctx.run_id
            )
            repo.upsert_planned(ctx.project_key, [skipped])
            repo.record_skipped(ctx.project_key, planned.entity_type, planned.source_key, message)
            problem = ProblemItem("degraded", "attachment_too_large", message, detail={"size": size})
            # Filed as transform's finding: the next transform plans it the same way and replaces it.
            repo.replace_problems(
                ctx.project_key,
                "transform",
                planned.entity_type,
                planned.source_key,
                [problem],
                run_id=ctx.run_id,
            )

    def _problem(self, work: LoadWork, severity: str, code: str, message: str) -> None:
        planned = work.planned
        with self.ctx.session() as repo:
            if severity == "failed":
                repo.record_failed(self.ctx.project_key, planned.entity_type, planned.source_key, message)
            else:
                repo.record_skipped(self.ctx.project_key, planned.entity_type, planned.source_key, message)
            repo.replace_problems(
                self.ctx.project_key,
                PHASE,
                planned.entity_type,
                planned.source_key,
                [ProblemItem(severity, code, message)],
                run_id=self.ctx.run_id,
            )


def _dependency_message(key: str, missing: str) -> str:
    target = parse_ref({"$ref": missing.strip("'\"")})
    what = f"{target[0].replace('_', ' ')} {target[1]}" if target else missing
    return f"{key} was not sent because {what} is not in qTest (see its own problem)."


def _group_by_run(work: list[LoadWork]) -> list[list[LoadWork]]:
    """Test logs grouped by their run, each group in load order (oldest first)."""
    groups: dict[str, list[LoadWork]] = {}
    for item in work:
        run = decoded_plan(item.planned).parent
        key = str(run.get(REF_KEY)) if isinstance(run, dict) else str(run)
        groups.setdefault(key, []).append(item)
    return list(groups.values())


def decoded_plan(planned: PlannedRecord) -> PlannedEntity:
    """The typed plan of a stored planned entity."""
    return decode_planned(planned.entity_type, planned.source_key, planned.payload, level=planned.level)


async def run_load(ctx: PhaseContext) -> dict[str, int]:
    """The load phase; returns how many entities were sent per type."""
    with ctx.session() as repo:
        fields = load_target_fields(repo, ctx.project_key)
        places = attachment_places(repo, ctx.project_key)
    loader = Loader(ctx, {})
    inputs = LoaderInputs(
        key_fields=source_key_field_ids(fields, ctx.config.qtest.source_key_field),
        case_ids=loader.ids.setdefault("test_case", {}),
        attachment_cache=ctx.attachment_cache(),
        attachment_places=places,
    )
    loader.loaders = build_loaders(inputs)
    sent = await loader.run()
    if ctx.config.migration.propagate_deletions:
        from ztoq.pipeline.deletions import propagate_deletions

        removed = await propagate_deletions(ctx)
        if removed:
            ctx.reporter.message(
                "load: deleted in qTest what was deleted in Zephyr: "
                + ", ".join(f"{n} {t}" for t, n in sorted(removed.items()))
            )
    return sent
