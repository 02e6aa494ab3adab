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
import re
from collections.abc import Mapping
from typing import Any

from ztoq.errors import FatalApiError, RetriableApiError
from ztoq.mapping import find_source_key, resolve_refs
from ztoq.mapping.base import REF_KEY, parse_ref
from ztoq.pipeline.context import PhaseContext, run_bounded
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load_execution import CycleLoader, LogLoader, ReleaseLoader, RunLoader
from ztoq.pipeline.load_types import EntityLoader, Loaded
from ztoq.pipeline.transform import LOAD_ORDER, load_target_fields, unwrap
from ztoq.qtest import QTestClient
from ztoq.qtest.models import Module, TestCase
from ztoq.store import LoadWork, ProblemItem

log = logging.getLogger(__name__)

PHASE = "load"

#: How often a create that failed in a way that may have created the entity is looked up and retried.
CREATE_ATTEMPTS = 3


class ModuleLoader:
    """qTest modules (the Zephyr TEST_CASE folder tree)."""

    async def create(self, client: QTestClient, body: dict[str, Any], extra: dict[str, Any]) -> Loaded:
        module = await client.create_module(body["name"], extra.get("parent_id"), body.get("description"))
        return _loaded_module(module)

    async def update(
        self, client: QTestClient, target_id: int, body: dict[str, Any], extra: dict[str, Any]
    ) -> Loaded:
        module = await client.update_module(target_id, body, parent_id=extra.get("parent_id"))
        return _loaded_module(module, target_id)

    async def find(
        self, client: QTestClient, source_key: str, body: dict[str, Any], extra: dict[str, Any]
    ) -> Loaded | None:
        for module in await client.list_modules(parent_id=extra.get("parent_id")):
            if module.id is None:
                continue
            if find_source_key(module.description) == source_key:
                return _loaded_module(module)
            # The root module carries no folder key; ours is the one with our name and description.
            if source_key == "root" and (module.name, module.description) == (
                body.get("name"),
                body.get("description"),
            ):
                return _loaded_module(module)
        return None


def _loaded_module(module: Module, fallback_id: int | None = None) -> Loaded:
    target = module.id if module.id is not None else fallback_id
    if target is None:
        raise FatalApiError("qTest answered a module without an id.", api="qTest")
    return Loaded(target, module.pid)


class RequirementLinker:
    """Links test cases to the qTest requirements named after the Jira issues they cover."""

    def __init__(self) -> None:
        self._found: dict[str, int | None] = {}
        self._lock = asyncio.Lock()

    async def requirement_for(self, client: QTestClient, issue_key: str) -> int | None:
        """The qTest requirement whose name begins with the Jira key (searched once per key)."""
        async with self._lock:
            if issue_key not in self._found:
                pattern = re.compile(rf"^\s*{re.escape(issue_key)}(?![A-Za-z0-9-])", re.IGNORECASE)
                quoted = issue_key.replace("'", "\\'")
                match: int | None = None
                async for item in client.search("requirements", f"'Name' ~ '{quoted}'"):
                    if isinstance(item.get("id"), int) and pattern.match(str(item.get("name") or "")):
                        match = int(item["id"])
                        break
                self._found[issue_key] = match
            return self._found[issue_key]

    async def link(self, client: QTestClient, case_id: int, issue_keys: list[str]) -> tuple[ProblemItem, ...]:
        problems: list[ProblemItem] = []
        for issue_key in issue_keys:
            requirement = await self.requirement_for(client, issue_key)
            if requirement is None:
                problems.append(
                    ProblemItem(
                        "degraded",
                        "requirement_not_found",
                        f"The test case covers Jira issue {issue_key}, but qTest has no requirement named "
                        "after it; the key is kept in the description.",
                        detail={"issue": issue_key},
                    )
                )
            else:
                await client.link_requirement_to_test_cases(requirement, [case_id])
        return tuple(problems)


class TestCaseLoader:
    """qTest test cases, approved after each create/update when asked (logs bind to approved versions)."""

    def __init__(self, source_key_field_id: int | None, linker: RequirementLinker | None = None) -> None:
        self.source_key_field_id = source_key_field_id
        self.linker = linker or RequirementLinker()

    async def _approved(self, client: QTestClient, case: TestCase, extra: dict[str, Any]) -> Loaded:
        if case.id is None:
            raise FatalApiError("qTest answered a test case without an id.", api="qTest")
        if extra.get("approve") and not (case.version or "").endswith(".0"):
            fault_point("load.before_approve")
            approved = await client.approve_test_case(case.id)
            case = approved if approved.id is not None else case
        problems: tuple[ProblemItem, ...] = ()
        links = [str(k) for k in extra.get("requirement_links") or ()]
        if links:
            problems = await self.linker.link(client, int(case.id or 0), links)
        return Loaded(int(case.id or 0), case.pid, case.web_url, case.version, problems)

    async def create(self, client: QTestClient, body: dict[str, Any], extra: dict[str, Any]) -> Loaded:
        return await self._approved(client, await client.create_test_case(body), extra)

    async def update(
        self, client: QTestClient, target_id: int, body: dict[str, Any], extra: dict[str, Any]
    ) -> Loaded:
        case = await client.update_test_case(target_id, body)
        if case.id is None:
            case = case.model_copy(update={"id": target_id})
        return await self._approved(client, case, extra)

    async def find(
        self, client: QTestClient, source_key: str, body: dict[str, Any], extra: dict[str, Any]
    ) -> Loaded | None:
        parent = body.get("parent_id")
        async for case in client.iter_test_cases(parent_id=parent if isinstance(parent, int) else None):
            if case.id is None:
                continue
            if find_source_key(case.description) == source_key or self._key_property(case) == source_key:
                return await self._approved(client, case, extra)
        return None

    def _key_property(self, case: TestCase) -> str | None:
        if self.source_key_field_id is None:
            return None
        for prop in case.properties or ():
            if prop.field_id == self.source_key_field_id:
                return prop.field_value
        return None


class Loader:
    """The load phase over one context."""

    def __init__(self, ctx: PhaseContext, loaders: Mapping[str, EntityLoader]) -> None:
        self.ctx = ctx
        self.loaders = loaders
        self.ids: dict[str, dict[str, int]] = {}

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
        self.refresh_ids()
        if not any(sent.values()):
            present = sum(len(ids) for ids in self.ids.values())
            self.ctx.reporter.message(
                f"load: nothing to send; all {present} planned entities are already in qTest, unchanged."
            )
        return sent

    async def load_one(self, loader: EntityLoader, work: LoadWork) -> None:
        """Create, update or adopt one entity, recording each step durably."""
        ctx, planned, mapping = self.ctx, work.planned, work.mapping
        if mapping is not None and mapping.state == "deleted":
            mapping = None  # rolled back (or deleted) in qTest: created anew
        entity_type, key = planned.entity_type, planned.source_key
        body_raw, extra_raw = unwrap(planned.payload)
        try:
            body = resolve_refs(body_raw or {}, self.resolve)
            extra = resolve_refs(extra_raw, self.resolve)
        except KeyError as missing:
            self._problem(work, "skipped", "dependency_not_loaded", _dependency_message(key, str(missing)))
            ctx.reporter.advance(PHASE, entity_type, skipped=1)
            return
        client = ctx.qtest()
        if (
            entity_type == "test_log"
            and mapping is not None
            and mapping.target_id is not None
            and mapping.loaded_source_hash is not None
            and mapping.loaded_source_hash == planned.source_hash
        ):
            # The execution is unchanged; only its plan moved (its test case was edited since).
            # The log stays as it is: it is bound to the test case version that was executed.
            self._recorded(work, Loaded(mapping.target_id), mapping.state)
            ctx.reporter.advance(PHASE, entity_type, skipped=1)
            return
        try:
            if mapping is not None and mapping.target_id is not None:
                result = await loader.update(client, mapping.target_id, body, extra)
                self._recorded(work, result, "updated")
            else:
                result = await self._create(loader, client, work, body, extra)
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
        body: dict[str, Any],
        extra: dict[str, Any],
    ) -> Loaded:
        planned, mapping = work.planned, work.mapping
        entity_type, key = planned.entity_type, planned.source_key
        if mapping is not None and mapping.state == "intent":
            # A previous run may have created it before it could record the answer.
            found = await loader.find(client, key, body, extra)
            if found is not None:
                return await self._adopt(loader, client, work, found, body, extra, mapping.intent_hash)
        for attempt in range(1, CREATE_ATTEMPTS + 1):
            with self.ctx.session() as repo:
                repo.record_intent(self.ctx.project_key, entity_type, key, planned.content_hash)
            fault_point("load.after_intent")
            try:
                result = await loader.create(client, body, extra)
            except RetriableApiError:
                # The create may or may not have happened (a dropped connection, a 5xx after
                # processing, a timeout while the server is still working on it): give the server
                # time to finish, then look before sending it again.
                await asyncio.sleep(self.ctx.config.network.retry_delay * 2 ** (attempt - 1))
                found = await loader.find(client, key, body, extra)
                if found is not None:
                    # What qTest holds is what was just sent.
                    return await self._adopt(loader, client, work, found, body, extra, planned.content_hash)
                if attempt == CREATE_ATTEMPTS:
                    raise
                continue
            fault_point("load.after_create")
            self._recorded(work, result, "created")
            fault_point("load.after_record")
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _adopt(
        self,
        loader: EntityLoader,
        client: QTestClient,
        work: LoadWork,
        found: Loaded,
        body: dict[str, Any],
        extra: dict[str, Any],
        sent_hash: str | None,
    ) -> Loaded:
        """Take over an entity created by a request whose answer was lost.

        ``sent_hash`` is the hash of the payload that request carried; when the plan has changed
        since (a crash, then an edit in Zephyr), the entity is brought up to date.
        """
        if sent_hash != work.planned.content_hash:
            found = await loader.update(client, found.target_id, body, extra)
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
            if work.mapping is not None and work.mapping.state in ("failed", "skipped"):
                repo.replace_problems(
                    self.ctx.project_key, PHASE, planned.entity_type, planned.source_key, []
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
        _, extra = unwrap(item.planned.payload)
        run = extra.get("run")
        key = str(run.get(REF_KEY)) if isinstance(run, dict) else str(run)
        groups.setdefault(key, []).append(item)
    return list(groups.values())


def source_key_field_ids(ctx: PhaseContext) -> dict[str, int | None]:
    """Per qTest object type, the id of the field that holds Zephyr keys (None when there is none)."""
    with ctx.session() as repo:
        fields = load_target_fields(repo, ctx.project_key)
    found: dict[str, int | None] = {}
    for object_type in ("test-cases", "test-runs", "releases"):
        target = fields.field(object_type, ctx.config.qtest.source_key_field)
        found[object_type] = None if target is None else target.id
    return found


async def run_load(ctx: PhaseContext) -> dict[str, int]:
    """The load phase; returns how many entities were sent per type."""
    key_fields = source_key_field_ids(ctx)
    loader = Loader(ctx, {})
    cycles = CycleLoader()
    loader.loaders = {
        "module": ModuleLoader(),
        "test_case": TestCaseLoader(key_fields["test-cases"]),
        "release": ReleaseLoader(key_fields["releases"]),
        "cycle_folder": cycles,
        "test_cycle": cycles,
        "test_run": RunLoader(key_fields["test-runs"]),
        "test_log": LogLoader(loader.ids.setdefault("test_case", {})),
    }
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
