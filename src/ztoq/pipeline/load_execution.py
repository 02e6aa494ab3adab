"""How releases, test cycles, test runs and test logs are created, updated and found again in qTest.

Every finder looks only where the entity must be (its parent) and recognises it by its Zephyr
key: the marker line in a description or note, or the "Zephyr Key" field — never by name alone,
so a pre-existing qTest entity with the same name is never adopted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Container
from functools import partial
from typing import Any

from ztoq.errors import FatalApiError
from ztoq.mapping import find_source_key
from ztoq.mapping.steps import find_step_refs, resolve_step_refs
from ztoq.pipeline.load_listings import Listings
from ztoq.pipeline.load_types import KnownIds, Loaded, LoaderFactory, read_step_ids, step_log_ids
from ztoq.plan import PlannedEntity
from ztoq.qtest import QTestClient
from ztoq.qtest.models import Property, Release, TestCycle, TestLog, TestRun

#: Entities whose key is not a Zephyr key: found by name and description instead.
_FIXED_KEYS = ("root", "adhoc")


def _key_in(properties: list[Property] | None, field_id: int | None) -> str | None:
    if field_id is None:
        return None
    return next((p.field_value for p in properties or () if p.field_id == field_id), None)


def _require_id(entity: Any, what: str, fallback: int | None = None) -> int:
    ident = getattr(entity, "id", None)
    if ident is None:
        ident = fallback
    if ident is None:
        raise FatalApiError(f"qTest answered a {what} without an id.", api="qTest")
    return int(ident)


class ReleaseLoader:
    """Zephyr test plans as qTest releases."""

    def __init__(self, source_key_field_id: int | None = None) -> None:
        self.source_key_field_id = source_key_field_id

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        return _loaded_release(await client.create_release(body))

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        return _loaded_release(await client.update_release(target_id, body), target_id)

    async def candidates(self, entity: PlannedEntity, listings: Listings) -> list[Loaded]:
        # The key is in the description's marker line, or in the "Zephyr Key" field instead.
        return [
            _loaded_release(release)
            for release in await listings.releases()
            if release.id is not None
            and entity.source_key
            in (find_source_key(release.description), _key_in(release.properties, self.source_key_field_id))
        ]

    async def adopted(self, client: QTestClient, found: Loaded, entity: PlannedEntity) -> Loaded:
        return found

    async def delete(self, client: QTestClient, target_id: int, placement: str | None = None) -> None:
        await client.delete_release(target_id)


def _loaded_release(release: Release, fallback: int | None = None) -> Loaded:
    return Loaded(
        _require_id(release, "release", fallback), release.pid, release.web_url, wire=release.to_wire()
    )


class CycleLoader:
    """Zephyr test cycles, TEST_CYCLE folders and the ad hoc cycle as qTest test cycles."""

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        cycle = await client.create_test_cycle(body, entity.parent, _parent_type(entity))
        return _loaded_cycle(cycle)

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        cycle = await client.update_test_cycle(target_id, body, entity.parent, _parent_type(entity))
        return _loaded_cycle(cycle, target_id)

    async def candidates(self, entity: PlannedEntity, listings: Listings) -> list[Loaded]:
        body, source_key = entity.body or {}, entity.source_key
        return [
            _loaded_cycle(cycle)
            for cycle in await listings.test_cycles(entity.parent, _parent_type(entity))
            if cycle.id is not None
            and (
                find_source_key(cycle.description) == source_key
                or (
                    source_key in _FIXED_KEYS
                    and (cycle.name, cycle.description) == (body.get("name"), body.get("description"))
                )
            )
        ]

    async def adopted(self, client: QTestClient, found: Loaded, entity: PlannedEntity) -> Loaded:
        return found

    async def delete(self, client: QTestClient, target_id: int, placement: str | None = None) -> None:
        # Without force: a cycle that still holds what ztoq did not create stays (and is reported).
        await client.delete_test_cycle(target_id, force=False)


def _parent_type(entity: PlannedEntity) -> str | None:
    parent_type = entity.parent_type
    if entity.parent is None:
        return "root" if parent_type in (None, "root") else parent_type
    return str(parent_type) if parent_type else None


def _loaded_cycle(cycle: TestCycle, fallback: int | None = None) -> Loaded:
    return Loaded(_require_id(cycle, "test cycle", fallback), cycle.pid, cycle.web_url, wire=cycle.to_wire())


class RunLoader:
    """One qTest test run per (Zephyr cycle, test case) pair."""

    def __init__(self, source_key_field_id: int | None) -> None:
        self.source_key_field_id = source_key_field_id

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        run = await client.create_test_run(body, entity.parent, entity.parent_type)
        return _loaded_run(run)

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        run = await client.update_test_run(target_id, body, entity.parent, entity.parent_type)
        return _loaded_run(run, target_id)

    async def candidates(self, entity: PlannedEntity, listings: Listings) -> list[Loaded]:
        body, source_key = entity.body or {}, entity.source_key
        case_id = (body.get("test_case") or {}).get("id")
        found: list[Loaded] = []
        for run in await listings.test_runs(entity.parent, entity.parent_type):
            if run.id is None:
                continue
            key = _key_in(run.properties, self.source_key_field_id)
            # One run per (cycle, test case): under its cycle, the run of this case is ours only
            # when nothing says otherwise (no Zephyr key field to compare).
            run_case = run.test_case_id if run.test_case_id is not None else (run.test_case or _NoCase).id
            if key == source_key or (
                key is None and self.source_key_field_id is None and run_case == case_id
            ):
                found.append(_loaded_run(run))
        return found

    async def adopted(self, client: QTestClient, found: Loaded, entity: PlannedEntity) -> Loaded:
        return found

    async def delete(self, client: QTestClient, target_id: int, placement: str | None = None) -> None:
        await client.delete_test_run(target_id)


class _NoCase:
    id: int | None = None


def _loaded_run(run: TestRun, fallback: int | None = None) -> Loaded:
    return Loaded(_require_id(run, "test run", fallback), run.pid, wire=run.to_wire())


class LogLoader:
    """One qTest test log per Zephyr execution; step results bound to the approved version's steps.

    The step ids come from the shared ``case_steps`` (kept from the test cases' create or approve
    answers, else read once per test case). The step log ids of the logs named in
    ``step_log_owners`` are kept from their create answers, for the attachments of their steps.
    """

    def __init__(
        self,
        case_ids: dict[str, int],
        case_steps: KnownIds | None = None,
        step_logs: KnownIds | None = None,
        step_log_owners: Container[str] = frozenset(),
    ) -> None:
        self.case_ids = case_ids
        self.case_steps = case_steps if case_steps is not None else KnownIds()
        self.step_logs = step_logs if step_logs is not None else KnownIds()
        self.step_log_owners = step_log_owners

    async def _resolve_steps(self, client: QTestClient, body: dict[str, Any]) -> dict[str, Any]:
        cases = {key: self.case_ids[key] for key, _order in find_step_refs(body) if key in self.case_ids}
        # After approval qTest gives the version new step ids: those of the version logs bind to.
        found = dict(
            zip(
                cases,
                await asyncio.gather(
                    *(
                        self.case_steps.get(case_id, partial(read_step_ids, client, case_id))
                        for case_id in cases.values()
                    )
                ),
                strict=True,
            )
        )

        def resolve(case_key: str, order: int) -> int | None:
            ids = found.get(case_key) or ()
            return ids[order - 1] if 0 < order <= len(ids) else None

        return dict(resolve_step_refs(body, resolve))

    def _loaded(self, log: TestLog, entity: PlannedEntity, fallback: int | None = None) -> Loaded:
        loaded = _loaded_log(log, fallback)
        if entity.source_key in self.step_log_owners:
            self.step_logs.remember(loaded.target_id, step_log_ids(log))
        return loaded

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        log = await client.create_test_log(int(entity.parent), await self._resolve_steps(client, body))
        return self._loaded(log, entity)

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        resolved = await self._resolve_steps(client, body)
        log = await client.update_test_log(int(entity.parent), target_id, resolved)
        return self._loaded(log, entity, target_id)

    async def candidates(self, entity: PlannedEntity, listings: Listings) -> list[Loaded]:
        return [
            _loaded_log(log)
            for log in await listings.test_logs(int(entity.parent))
            if log.id is not None and find_source_key(log.note) == entity.source_key
        ]

    async def adopted(self, client: QTestClient, found: Loaded, entity: PlannedEntity) -> Loaded:
        return found

    async def delete(self, client: QTestClient, target_id: int, placement: str | None = None) -> None:
        raise FatalApiError(
            "qTest has no API to delete one test log; it is deleted with its test run.", api="qTest"
        )


def _loaded_log(log: TestLog, fallback: int | None = None) -> Loaded:
    return Loaded(_require_id(log, "test log", fallback), wire=log.to_wire())


#: How the execution side's loaders are built, by entity type.
EXECUTION_LOADERS: dict[str, LoaderFactory] = {
    "release": lambda inputs: ReleaseLoader(inputs.key_fields.get("releases")),
    "cycle_folder": lambda _: CycleLoader(),
    "test_cycle": lambda _: CycleLoader(),
    "test_run": lambda inputs: RunLoader(inputs.key_fields.get("test-runs")),
    "test_log": lambda inputs: LogLoader(
        inputs.case_ids, inputs.case_steps, inputs.step_logs, inputs.step_log_owners
    ),
}
