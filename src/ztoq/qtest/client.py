"""QTestClient: the qTest Manager API v3 calls the load and validate phases make.

Paths and query parameter names are exactly those of the qTest v3 API (see
``qtest-manager-v3-operations.derived.json``): ``parentId``/``parentType``/``expand``/``force``,
``page``/``size`` for test case and requirement lists, ``page``/``pageSize`` for test runs, test
logs and search. Answers are returned as the models of :mod:`ztoq.qtest.models` (unknown fields
kept); bodies may be given as models or plain mappings.

Creates (POST) are sent with ``retry_unsafe=False``: if one fails in a way that may have created
the object, the error reaches the caller, which looks the object up before creating it again.
Searches and links are reads or idempotent, so they are retried freely. Test execution calls
live in :mod:`ztoq.qtest.execution`, attachment calls in :mod:`ztoq.qtest.attachments`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from ztoq.config import NetworkConfig, PerformanceConfig, QTestConfig
from ztoq.errors import FatalApiError
from ztoq.http import ApiSession, EventCallback
from ztoq.qtest.attachments import AttachmentCalls
from ztoq.qtest.auth import QTestAuth
from ztoq.qtest.execution import ExecutionCalls
from ztoq.qtest.models import (
    AllowedValue,
    Field,
    Module,
    Project,
    QTestModel,
    Requirement,
    Status,
    TestCase,
    TestStep,
    User,
    parse,
    parse_list,
)

Json = dict[str, Any]
Body = QTestModel | Mapping[str, Any]

#: The object types ``fields()`` accepts (a closed list, so a typo such as "testcases" fails clearly).
OBJECT_TYPES = (
    "test-cases",
    "test-runs",
    "releases",
    "test-suites",
    "test-cycles",
    "requirements",
    "builds",
    "defects",
    "test-steps",
    "test-logs",
)


def wire(body: Body) -> Any:
    """A request body in wire form: a model's :meth:`~QTestModel.to_wire`, or the mapping as is."""
    return body.to_wire() if isinstance(body, BaseModel) else dict(body)


class QTestClient(ExecutionCalls, AttachmentCalls):
    """Async client of one qTest project over an :class:`ApiSession`."""

    def __init__(self, session: ApiSession, project_id: int, *, auth: QTestAuth | None = None) -> None:
        """Wrap ``session`` for project ``project_id``; ``auth`` is kept for re-login and reporting."""
        self.session = session
        self.project_id = project_id
        self.auth = auth
        self.base = f"/api/v3/projects/{project_id}"

    @classmethod
    def from_config(
        cls,
        config: QTestConfig,
        *,
        network: NetworkConfig | None = None,
        performance: PerformanceConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_event: EventCallback | None = None,
        site_name: str | None = None,
    ) -> QTestClient:
        """Build a client, its session and credentials from the qtest, network and performance sections.

        ``qtest.retry_count``, when set, overrides ``network.retry_count``; ``site_name`` (for the
        password grant's Basic header) defaults to the base URL's subdomain, "" for an IP address.
        """
        network = network or NetworkConfig()
        performance = performance or PerformanceConfig()
        retry_count = config.retry_count if "retry_count" in config.model_fields_set else network.retry_count
        session = ApiSession.create(
            api_name="qTest",
            base_url=config.base_url,
            network=network,
            retry_count=retry_count,
            max_workers=performance.max_workers,
            requests_per_second=config.requests_per_second,
            transport=transport,
            on_event=on_event,
        )
        auth = QTestAuth(
            session,
            bearer_token=config.bearer_token,
            username=config.username,
            password=config.password,
            site_name=site_name,
        )
        auth.install()
        return cls(session, config.project_id, auth=auth)

    def __repr__(self) -> str:
        return f"QTestClient(project_id={self.project_id}, {self.session!r})"

    async def aclose(self) -> None:
        """Close the session (and its httpx client if the session owns it)."""
        await self.session.aclose()

    # -- project, users, fields ----------------------------------------------------------------

    async def project(self) -> Project:
        """The configured project."""
        return parse(Project, await self.session.get_json(self.base))

    async def projects(self) -> list[Project]:
        """Every project the token's user can see."""
        return parse_list(Project, await self.session.get_json("/api/v3/projects"))

    async def users(self, *, inactive: bool = False) -> list[User]:
        """Users of the project (``inactive=True`` adds deactivated ones)."""
        params = {"inactive": True} if inactive else None
        return parse_list(User, await self.session.get_json(f"{self.base}/users", params))

    async def current_permissions(self) -> Json:
        """The token user's permissions in the project (``UserProfile``: test_case.create, ...)."""
        result = await self.session.get_json(f"{self.base}/user-profiles/current")
        return result if isinstance(result, dict) else {}

    async def fields(self, object_type: str, *, include_inactive: bool = False) -> list[Field]:
        """Fields of an object type (one of :data:`OBJECT_TYPES`), with their allowed values."""
        if object_type not in OBJECT_TYPES:
            raise ValueError(f"object_type must be one of {', '.join(OBJECT_TYPES)}, not {object_type!r}")
        params = {"includeInactive": True} if include_inactive else None
        path = f"{self.base}/settings/{object_type}/fields"
        return parse_list(Field, await self.session.get_json(path, params))

    async def create_field(self, object_type: str, body: Body) -> Field:
        """Create a custom field of ``object_type`` (``FieldResource``: label, data_type, allowed_values...).

        Needs the project-admin permission: qTest answers 403 (:class:`~ztoq.errors.PermissionDenied`).
        """
        path = f"{self.base}/settings/{object_type}/fields"
        return parse(Field, await self.session.post_json(path, wire(body)))

    async def add_allowed_values(
        self, object_type: str, field_id: int, labels: Sequence[str]
    ) -> list[AllowedValue]:
        """Add allowed values (at most 100 per call, as qTest takes them) to a pick list field.

        qTest answers the created values (``AllowedValueResponseResource``) or nothing; both are read.
        """
        path = f"{self.base}/settings/{object_type}/fields/{field_id}/allowed-values"
        answer = await self.session.post_json(path, [{"label": label} for label in labels])
        items = answer.get("items") if isinstance(answer, dict) else answer
        return parse_list(AllowedValue, items if isinstance(items, list) else [])

    async def delete_field(self, object_type: str, field_id: int) -> None:
        """Delete a custom field (``deleteCustomField``; qTest refuses system fields)."""
        await self.session.delete(f"{self.base}/settings/{object_type}/fields/{field_id}")

    async def delete_allowed_value(self, object_type: str, field_id: int, value: int) -> None:
        """Delete one allowed value (by its ``value`` id) of a pick list (``deleteProjectFieldValue``)."""
        await self.session.delete(
            f"{self.base}/settings/{object_type}/fields/{field_id}/allowed-values/{value}"
        )

    async def execution_statuses(self) -> list[Status]:
        """Test run execution statuses (Passed, Failed, ... and custom ones)."""
        return parse_list(Status, await self.session.get_json(f"{self.base}/test-runs/execution-statuses"))

    # -- modules --------------------------------------------------------------------------------

    async def create_module(
        self, name: str, parent_id: int | None = None, description: str | None = None
    ) -> Module:
        """Create a module under ``parent_id`` (None: at the root)."""
        body = Module(name=name, description=description).to_wire()
        path = f"{self.base}/modules"
        return parse(Module, await self.session.post_json(path, body, {"parentId": parent_id}))

    async def get_module(self, module_id: int, expand_descendants: bool = False) -> Module:
        """One module, with its whole subtree when ``expand_descendants``."""
        params = {"expand": "descendants"} if expand_descendants else None
        return parse(Module, await self.session.get_json(f"{self.base}/modules/{module_id}", params))

    async def list_modules(
        self, parent_id: int | None = None, expand_descendants: bool = False, search: str | None = None
    ) -> list[Module]:
        """Modules under ``parent_id`` (None: the root modules), optionally filtered by name."""
        params = {
            "parentId": parent_id,
            "search": search,
            "expand": "descendants" if expand_descendants else None,
        }
        return parse_list(Module, await self.session.get_json(f"{self.base}/modules", params))

    async def update_module(self, module_id: int, body: Body, *, parent_id: int | None = None) -> Module:
        """Update a module (``parent_id`` moves it)."""
        path = f"{self.base}/modules/{module_id}"
        return parse(Module, await self.session.put_json(path, wire(body), {"parentId": parent_id}))

    async def delete_module(self, module_id: int, force: bool = False) -> None:
        """Delete a module (``force`` deletes its content too)."""
        await self.session.delete(f"{self.base}/modules/{module_id}", {"force": force})

    # -- test cases -----------------------------------------------------------------------------

    async def create_test_case(self, body: Body) -> TestCase:
        """Create a test case (``parent_id`` in the body is its module)."""
        return parse(TestCase, await self.session.post_json(f"{self.base}/test-cases", wire(body)))

    async def get_test_case(
        self, test_case_id: int | str, expand_steps: bool = False, version_id: int | None = None
    ) -> TestCase:
        """One test case by id or PID (``TC-12``), with its steps when ``expand_steps``."""
        params = {"expand": "teststep" if expand_steps else None, "versionId": version_id}
        path = f"{self.base}/test-cases/{quote(str(test_case_id), safe='')}"
        return parse(TestCase, await self.session.get_json(path, params))

    async def list_test_cases(
        self,
        parent_id: int | None = None,
        page: int = 1,
        size: int = 100,
        expand_steps: bool = False,
        expand_props: bool = False,
    ) -> list[TestCase]:
        """One page (1-based) of the test cases of a module (None: the whole project)."""
        params = {
            "parentId": parent_id,
            "page": page,
            "size": size,
            "expandSteps": expand_steps or None,
            "expandProps": expand_props or None,
        }
        return parse_list(TestCase, await self.session.get_json(f"{self.base}/test-cases", params))

    async def iter_test_cases(
        self,
        parent_id: int | None = None,
        size: int = 100,
        expand_steps: bool = False,
        expand_props: bool = False,
    ) -> AsyncIterator[TestCase]:
        """Every test case of a module (None: the whole project), all pages."""
        page = 1
        previous_first: int | None = None
        while True:
            items = await self.list_test_cases(
                parent_id, page=page, size=size, expand_steps=expand_steps, expand_props=expand_props
            )
            if items and previous_first is not None and items[0].id == previous_first:
                raise FatalApiError(
                    f"qTest answered page {page} of test cases with page {page - 1} again; stopping.",
                    api="qTest",
                )
            for item in items:
                yield item
            if len(items) < size:
                return
            previous_first = items[0].id
            page += 1

    async def update_test_case(self, test_case_id: int, body: Body) -> TestCase:
        """Update a test case (a new version unless only properties change)."""
        path = f"{self.base}/test-cases/{test_case_id}"
        return parse(TestCase, await self.session.put_json(path, wire(body)))

    async def approve_test_case(self, test_case_id: int) -> TestCase:
        """Approve the latest version of a test case (test runs bind to approved versions)."""
        return parse(TestCase, await self.session.put_json(f"{self.base}/test-cases/{test_case_id}/approve"))

    async def delete_test_case(self, test_case_id: int) -> None:
        """Delete a test case."""
        await self.session.delete(f"{self.base}/test-cases/{test_case_id}")

    async def test_steps(self, test_case_id: int) -> list[TestStep]:
        """The steps of the latest version of a test case."""
        path = f"{self.base}/test-cases/{test_case_id}/test-steps"
        return parse_list(TestStep, await self.session.get_json(path))

    async def add_test_step(self, test_case_id: int, body: Body) -> TestStep:
        """Append one step to a test case."""
        path = f"{self.base}/test-cases/{test_case_id}/test-steps"
        return parse(TestStep, await self.session.post_json(path, wire(body)))

    async def versions(self, test_case_id: int) -> list[TestCase]:
        """Every version of a test case."""
        path = f"{self.base}/test-cases/{test_case_id}/versions"
        return parse_list(TestCase, await self.session.get_json(path))

    # -- requirements, search --------------------------------------------------------------------

    async def list_requirements(self, parent_id: int | None = None, *, size: int = 100) -> list[Requirement]:
        """Every requirement (of one module when ``parent_id`` is given), all pages."""
        found: list[Requirement] = []
        page = 1
        while True:
            params = {"parentId": parent_id, "page": page, "size": size}
            items = parse_list(Requirement, await self.session.get_json(f"{self.base}/requirements", params))
            found.extend(items)
            if len(items) < size:
                return found
            page += 1

    async def link_requirement_to_test_cases(
        self, requirement_id: int, test_case_ids: Sequence[int]
    ) -> list[Json]:
        """Link test cases to a requirement (linking twice is harmless, so it is retried freely)."""
        path = f"{self.base}/requirements/{requirement_id}/link"
        result = await self.session.post_json(
            path, [int(i) for i in test_case_ids], {"type": "test-cases"}, retry_unsafe=True
        )
        return [item for item in result if isinstance(item, dict)] if isinstance(result, list) else []

    async def search(
        self, object_type: str, query: str, fields: Sequence[str] = ("*",), *, page_size: int = 100
    ) -> AsyncIterator[Json]:
        """Every object matching a qTest query (e.g. ``"'name' = 'Login'"``), all pages, as raw JSON."""
        body = {"object_type": object_type, "fields": list(fields), "query": query}
        async for item in self._envelope("POST", f"{self.base}/search", {}, page_size, body=body):
            yield item

    async def finds_any(self, object_type: str, query: str) -> bool:
        """Whether a qTest query matches at least one object (one search request of one item)."""
        body = {"object_type": object_type, "fields": ["id"], "query": query}
        answer = await self.session.post_json(
            f"{self.base}/search", body, {"page": 1, "pageSize": 1}, retry_unsafe=True
        )
        items = answer.get("items") if isinstance(answer, dict) else answer
        return bool(items) if isinstance(items, list) else False
