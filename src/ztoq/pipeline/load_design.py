"""How modules and test cases are created, updated, found again and deleted in qTest.

Finders look only under the entity's parent and recognise it by its Zephyr key (the marker line
in a description, or the "Zephyr Key" field), never by name alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re

from ztoq.errors import FatalApiError
from ztoq.mapping import find_source_key
from ztoq.pipeline.faults import fault_point
from ztoq.pipeline.load_listings import Listings
from ztoq.pipeline.load_types import KnownIds, Loaded, LoaderFactory, step_ids
from ztoq.plan import PlannedEntity
from ztoq.qtest import QTestClient
from ztoq.qtest.models import Module, TestCase
from ztoq.store import ProblemItem


class ModuleLoader:
    """qTest modules (the Zephyr TEST_CASE folder tree)."""

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        module = await client.create_module(body["name"], entity.parent, body.get("description"))
        return _loaded_module(module)

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        module = await client.update_module(target_id, body, parent_id=entity.parent)
        return _loaded_module(module, target_id)

    async def candidates(self, entity: PlannedEntity, listings: Listings) -> list[Loaded]:
        body, source_key = entity.body or {}, entity.source_key
        found: list[Loaded] = []
        for module in await listings.modules(entity.parent):
            if module.id is None:
                continue
            # The root module carries no folder key; ours is the one with our name and description.
            if find_source_key(module.description) == source_key or (
                source_key == "root"
                and (module.name, module.description) == (body.get("name"), body.get("description"))
            ):
                found.append(_loaded_module(module))
        return found

    async def adopted(self, client: QTestClient, found: Loaded, entity: PlannedEntity) -> Loaded:
        return found

    async def delete(self, client: QTestClient, target_id: int, placement: str | None = None) -> None:
        # Without force: qTest refuses to delete a module that still holds what ztoq did not create.
        await client.delete_module(target_id, force=False)


def _loaded_module(module: Module, fallback_id: int | None = None) -> Loaded:
    target = module.id if module.id is not None else fallback_id
    if target is None:
        raise FatalApiError("qTest answered a module without an id.", api="qTest")
    return Loaded(target, module.pid, wire=module.to_wire())


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
    """qTest test cases, approved after each create/update when asked (logs bind to approved versions).

    The step ids of the version logs bind to are kept (``steps``) when the answer that made that
    version carries them, so test logs and step attachments need not read the test case back.
    """

    def __init__(
        self,
        source_key_field_id: int | None,
        linker: RequirementLinker | None = None,
        steps: KnownIds | None = None,
    ) -> None:
        self.source_key_field_id = source_key_field_id
        self.linker = linker or RequirementLinker()
        self.steps = steps if steps is not None else KnownIds()

    async def _approved(self, client: QTestClient, case: TestCase, entity: PlannedEntity) -> Loaded:
        if case.id is None:
            raise FatalApiError("qTest answered a test case without an id.", api="qTest")
        case_id = int(case.id)
        if entity.approve and not (case.version or "").endswith(".0"):
            fault_point("load.before_approve")
            approved = await client.approve_test_case(case_id)
            # Approval makes a version with new step ids: only its own answer can say them.
            case = approved if approved.id is not None else case.model_copy(update={"test_steps": None})
        self.steps.remember(case_id, step_ids(case))
        problems: tuple[ProblemItem, ...] = ()
        links = [str(k) for k in entity.requirement_links or ()]
        if links:
            problems = await self.linker.link(client, int(case.id or 0), links)
        return Loaded(int(case.id or 0), case.pid, case.web_url, case.version, problems)

    async def create(self, client: QTestClient, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        return await self._approved(client, await client.create_test_case(body), entity)

    async def update(self, client: QTestClient, target_id: int, entity: PlannedEntity) -> Loaded:
        body = entity.body or {}
        case = await client.update_test_case(target_id, body)
        if case.id is None:
            case = case.model_copy(update={"id": target_id})
        return await self._approved(client, case, entity)

    async def candidates(self, entity: PlannedEntity, listings: Listings) -> list[Loaded]:
        body, source_key = entity.body or {}, entity.source_key
        parent = body.get("parent_id")
        return [
            Loaded(case.id, case.pid, case.web_url, case.version, wire=case.to_wire())
            for case in await listings.test_cases(parent if isinstance(parent, int) else None)
            if case.id is not None
            and (find_source_key(case.description) == source_key or self._key_property(case) == source_key)
        ]

    async def adopted(self, client: QTestClient, found: Loaded, entity: PlannedEntity) -> Loaded:
        case = TestCase(id=found.target_id, pid=found.pid, web_url=found.web_url, version=found.version)
        return dataclasses.replace(await self._approved(client, case, entity), wire=found.wire)

    async def delete(self, client: QTestClient, target_id: int, placement: str | None = None) -> None:
        await client.delete_test_case(target_id)

    def _key_property(self, case: TestCase) -> str | None:
        if self.source_key_field_id is None:
            return None
        for prop in case.properties or ():
            if prop.field_id == self.source_key_field_id:
                return prop.field_value
        return None


#: How the test design side's loaders are built, by entity type.
DESIGN_LOADERS: dict[str, LoaderFactory] = {
    "module": lambda _: ModuleLoader(),
    "test_case": lambda inputs: TestCaseLoader(
        inputs.key_fields.get("test-cases"), RequirementLinker(), inputs.case_steps
    ),
}
