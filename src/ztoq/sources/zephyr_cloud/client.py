"""ZephyrClient: everything extract reads from Zephyr Scale Cloud v2, plus the writes tests need.

Read methods return (or yield) the JSON dicts exactly as Zephyr sent them, because extract
stores raw JSON; :mod:`ztoq.sources.zephyr_cloud.decode` turns a stored one into a canonical
record. List methods are async iterators that walk every page; ``test_steps`` and ``execution_steps``
return complete lists because a step list is only meaningful whole.

Test cases and executions are read from the cursor-paged NextGen endpoints when the server has
them; a 400/404/405 answer to the first NextGen request switches this client to the classic
offset endpoint for the rest of its life, so the probe costs one request per kind.

Every listing asks for pages of :data:`MAX_PAGE_SIZE` items (unless ``zephyr.page_size`` is set):
the NextGen maximum, and what offset endpoints grant up to their own cap (they echo it). The
``*_pages`` methods yield a listing page by page with the :data:`Position` to resume it from
after each page, so extract can record how far it got and continue there after a crash.

Error answers become exceptions in the session (:mod:`ztoq.http.answers`); a refused token's
reason is read from either 401 body Zephyr Scale Cloud sends, ``{"errorCode", "message"}`` or
the current ``{"error": "<reason>"}``, into one sentence that never carries the token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from ztoq.config import NetworkConfig, PerformanceConfig, ZephyrConfig
from ztoq.errors import ApiError, FatalApiError, NotFound
from ztoq.http import ApiSession, AuthProvider, EventCallback
from ztoq.sources.zephyr_cloud.pagination import CursorPaginator, OffsetPaginator

Json = dict[str, Any]

#: Statuses meaning "this server has no NextGen endpoint" (rather than "your filter is wrong").
_NEXTGEN_MISSING = frozenset({400, 404, 405})
#: Zephyr accepts at most 100 test steps per POST /testcases/{key}/teststeps.
MAX_STEPS_PER_REQUEST = 100
#: The largest page a listing asks for: the NextGen ``limit`` maximum (the addendum's 1000). Offset
#: endpoints state no maximum and echo the ``maxResults`` they grant, so they are asked the same.
MAX_PAGE_SIZE = 1000

#: Where a listing resumes: ``{"startAt": n}`` (offset pages) or ``{"startAtId": n, "exact": True}``
#: (NextGen cursor pages; ``exact``: resuming by id cannot skip an object that still exists, while
#: an offset shifts when objects before it are deleted).
Position = dict[str, Any]


def _seg(value: str | int) -> str:
    """One path segment, percent-encoded (keys are user data)."""
    return quote(str(value), safe="")


def _zephyr_datetime(value: datetime | str) -> str:
    """Zephyr's ``yyyy-MM-dd'T'HH:mm:ss'Z'``; naive datetimes are taken as UTC."""
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ZephyrClient:
    """Async client of the Zephyr Scale Cloud REST API v2 over an :class:`ApiSession`."""

    def __init__(self, session: ApiSession, *, page_size: int = MAX_PAGE_SIZE) -> None:
        """Wrap ``session``; ``page_size`` is the ``maxResults``/``limit`` asked for (servers may cap it)."""
        self.session = session
        self.page_size = page_size
        #: Per kind ("testcases", "testexecutions"): True/False once known, absent before the probe.
        self.nextgen_supported: dict[str, bool] = {}

    @classmethod
    def from_config(
        cls,
        config: ZephyrConfig,
        *,
        network: NetworkConfig | None = None,
        performance: PerformanceConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_event: EventCallback | None = None,
    ) -> ZephyrClient:
        """Build a client and its session from the ``zephyr``, ``network`` and ``performance`` sections.

        ``zephyr.rate_limit_delay`` (seconds between requests) applies when
        ``zephyr.requests_per_second`` is 0; ``zephyr.auto_retry: false`` turns retries off;
        ``zephyr.retry_count``, when set, overrides ``network.retry_count``; ``zephyr.page_size``,
        when set, is the page size asked for (otherwise :data:`MAX_PAGE_SIZE`).
        """
        network = network or NetworkConfig()
        performance = performance or PerformanceConfig()
        rate = config.requests_per_second
        if rate <= 0 and config.rate_limit_delay > 0:
            rate = 1.0 / config.rate_limit_delay
        retry_count = config.retry_count if "retry_count" in config.model_fields_set else network.retry_count
        session = ApiSession.create(
            api_name="Zephyr",
            base_url=config.base_url,
            network=network,
            retry_count=retry_count if config.auto_retry else 0,
            max_workers=performance.max_workers,
            requests_per_second=rate,
            transport=transport,
            auth=_bearer(config.api_token),
            on_event=on_event,
        )
        page_size = config.page_size if "page_size" in config.model_fields_set else MAX_PAGE_SIZE
        return cls(session, page_size=page_size)

    def __repr__(self) -> str:
        return f"ZephyrClient({self.session!r})"

    async def aclose(self) -> None:
        """Close the session (and its httpx client if the session owns it)."""
        await self.session.aclose()

    # -- paging -------------------------------------------------------------------------------

    async def _page(self, path: str, params: Mapping[str, Any]) -> Json:
        page = await self.session.get_json(path, params)
        if not isinstance(page, dict):
            raise ApiError(
                f"Zephyr answered GET {path} with {type(page).__name__} instead of a page of results.",
                api="Zephyr",
            )
        return page

    async def offset_pages(
        self, path: str, filters: Mapping[str, Any] | None = None, *, start_at: int = 0
    ) -> AsyncIterator[tuple[list[Json], Position | None]]:
        """Each page of an offset listing, with the position after it (None after the last page)."""
        pager = OffsetPaginator(self.page_size, start_at, what=path)
        while not pager.finished:
            values = pager.advance(await self._page(path, {**(filters or {}), **pager.params()}))
            yield values, None if pager.finished else {"startAt": pager.start_at}

    async def _offset(self, path: str, filters: Mapping[str, Any] | None = None) -> AsyncIterator[Json]:
        async for values, _ in self.offset_pages(path, filters):
            for value in values:
                yield value

    async def _all(self, path: str) -> list[Json]:
        return [value async for value in self._offset(path)]

    async def nextgen_pages(
        self, kind: str, filters: Mapping[str, Any], resume: Position | None = None
    ) -> AsyncIterator[tuple[list[Json], Position | None]]:
        """Each page of ``/{kind}/nextgen`` (``/{kind}`` where it is missing), with the position after it.

        ``resume`` continues a listing from a position this method yielded before: a cursor
        position on the NextGen endpoint, an offset position on the offset endpoint (a cursor
        position on a server that lost its NextGen endpoint starts the offset listing over).
        """
        resume = resume or {}
        if "startAt" not in resume and self.nextgen_supported.get(kind, True):
            path = f"/{kind}/nextgen"
            pager = CursorPaginator(self.page_size, int(resume.get("startAtId", 0)), what=path)
            first: Json | None
            try:
                first = await self._page(path, {**filters, **pager.params()})
            except FatalApiError as exc:
                if exc.status not in _NEXTGEN_MISSING:
                    raise
                first = None
            # A page without the cursor fields is not a NextGen answer (a proxy or an older
            # server answering the path some other way): reading it as one could stop early.
            if first is not None and ("nextStartAtId" in first or "limit" in first):
                self.nextgen_supported[kind] = True
                page: Json | None = first
                while page is not None:
                    values = pager.advance(page)
                    yield values, None if pager.finished else {"startAtId": pager.start_at_id, "exact": True}
                    page = None if pager.finished else await self._page(path, {**filters, **pager.params()})
                return
            self.nextgen_supported[kind] = False
        async for values, position in self.offset_pages(
            f"/{kind}", filters, start_at=int(resume.get("startAt", 0))
        ):
            yield values, position

    async def _prefer_nextgen(self, kind: str, filters: Mapping[str, Any]) -> AsyncIterator[Json]:
        async for values, _ in self.nextgen_pages(kind, filters):
            for value in values:
                yield value

    # -- projects and project settings ----------------------------------------------------------

    def projects(self) -> AsyncIterator[Json]:
        """Every project with Zephyr Scale enabled."""
        return self._offset("/projects")

    async def project(self, key: str) -> Json:
        """One project by key or id."""
        return await self._get(f"/projects/{_seg(key)}")

    def folders(self, project_key: str, folder_type: str | None = None) -> AsyncIterator[Json]:
        """Folders of a project; ``folder_type`` is TEST_CASE, TEST_PLAN or TEST_CYCLE (None: all)."""
        return self._offset("/folders", {"projectKey": project_key, "folderType": folder_type})

    def statuses(self, project_key: str, status_type: str | None = None) -> AsyncIterator[Json]:
        """Statuses; ``status_type`` is TEST_CASE, TEST_PLAN, TEST_CYCLE or TEST_EXECUTION (None: all)."""
        return self._offset("/statuses", {"projectKey": project_key, "statusType": status_type})

    def priorities(self, project_key: str) -> AsyncIterator[Json]:
        """Test case priorities of a project."""
        return self._offset("/priorities", {"projectKey": project_key})

    def environments(self, project_key: str) -> AsyncIterator[Json]:
        """Test execution environments of a project."""
        return self._offset("/environments", {"projectKey": project_key})

    # -- test cases -----------------------------------------------------------------------------

    def test_cases(self, project_key: str, folder_id: int | None = None) -> AsyncIterator[Json]:
        """Every test case of a project (optionally of one folder), NextGen endpoint preferred."""
        return self._prefer_nextgen("testcases", {"projectKey": project_key, "folderId": folder_id})

    def test_case_pages(
        self, project_key: str, resume: Position | None = None
    ) -> AsyncIterator[tuple[list[Json], Position | None]]:
        """Every test case of a project, page by page (see ``nextgen_pages``)."""
        return self.nextgen_pages("testcases", {"projectKey": project_key}, resume)

    async def test_case(self, key: str) -> Json:
        """The latest version of a test case."""
        return await self._get(f"/testcases/{_seg(key)}")

    async def test_case_versions(self, key: str) -> list[Json]:
        """Every version link (``{id, self}``) of a test case."""
        return await self._all(f"/testcases/{_seg(key)}/versions")

    async def test_case_version(self, key: str, version: int) -> Json:
        """One version of a test case."""
        return await self._get(f"/testcases/{_seg(key)}/versions/{int(version)}")

    async def test_steps(self, key: str) -> list[Json]:
        """Every step of a test case's step-by-step script (all pages)."""
        return await self._all(f"/testcases/{_seg(key)}/teststeps")

    async def test_script(self, key: str) -> Json | None:
        """The plain-text or BDD script of a test case, or None when it has none (404)."""
        try:
            return await self._get(f"/testcases/{_seg(key)}/testscript")
        except NotFound:
            return None

    async def test_case_links(self, key: str) -> Json:
        """Issue and web links of a test case."""
        return await self._get(f"/testcases/{_seg(key)}/links")

    # -- cycles, plans, executions ----------------------------------------------------------------

    def test_cycles(self, project_key: str, folder_id: int | None = None) -> AsyncIterator[Json]:
        """Every test cycle of a project."""
        return self._offset("/testcycles", {"projectKey": project_key, "folderId": folder_id})

    async def test_cycle(self, id_or_key: str | int) -> Json:
        """One test cycle."""
        return await self._get(f"/testcycles/{_seg(id_or_key)}")

    async def test_cycle_links(self, id_or_key: str | int) -> Json:
        """Issue, web and test plan links of a test cycle."""
        return await self._get(f"/testcycles/{_seg(id_or_key)}/links")

    def test_plans(self, project_key: str) -> AsyncIterator[Json]:
        """Every test plan of a project."""
        return self._offset("/testplans", {"projectKey": project_key})

    async def test_plan(self, id_or_key: str | int) -> Json:
        """One test plan."""
        return await self._get(f"/testplans/{_seg(id_or_key)}")

    def test_executions(
        self,
        project_key: str,
        *,
        test_cycle: str | None = None,
        test_case: str | None = None,
        actual_end_date_after: datetime | str | None = None,
        only_last_executions: bool = False,
    ) -> AsyncIterator[Json]:
        """Test executions of a project: ALL of them by default (``onlyLastExecutions=false``)."""
        filters = _execution_filters(
            project_key, test_cycle, test_case, actual_end_date_after, only_last_executions
        )
        return self._prefer_nextgen("testexecutions", filters)

    def test_execution_pages(
        self,
        project_key: str,
        *,
        actual_end_date_after: datetime | str | None = None,
        resume: Position | None = None,
    ) -> AsyncIterator[tuple[list[Json], Position | None]]:
        """Every execution of a project (ended after a time, when given), page by page."""
        filters = _execution_filters(project_key, None, None, actual_end_date_after, False)
        return self.nextgen_pages("testexecutions", filters, resume)

    async def test_execution(self, id_or_key: str | int) -> Json:
        """One test execution."""
        return await self._get(f"/testexecutions/{_seg(id_or_key)}")

    async def execution_steps(self, id_or_key: str | int) -> list[Json]:
        """Every step result of a test execution (all pages)."""
        return await self._all(f"/testexecutions/{_seg(id_or_key)}/teststeps")

    async def test_execution_links(self, id_or_key: str | int) -> Json:
        """Issue links of a test execution."""
        return await self._get(f"/testexecutions/{_seg(id_or_key)}/links")

    # -- writes (used by tests to change a project between runs) ----------------------------------

    async def create_test_case(self, body: Mapping[str, Any], *, retry_unsafe: bool = False) -> Json:
        """POST /testcases (``TestCaseInput``); returns ``{id, key, self}``."""
        return await self._post("/testcases", body, retry_unsafe)

    async def update_test_case(self, key: str, body: Mapping[str, Any]) -> Json | None:
        """PUT /testcases/{key}: the full test case, as read, with changes."""
        result = await self.session.put_json(f"/testcases/{_seg(key)}", dict(body))
        return result if isinstance(result, dict) else None

    async def create_test_steps(
        self,
        key: str,
        items: Sequence[Mapping[str, Any]],
        *,
        mode: str = "APPEND",
        retry_unsafe: bool = False,
    ) -> list[Json]:
        """POST the steps in batches of 100 (the API's limit); batches after the first APPEND."""
        answers: list[Json] = []
        for start in range(0, max(len(items), 1), MAX_STEPS_PER_REQUEST):
            chunk = [dict(item) for item in items[start : start + MAX_STEPS_PER_REQUEST]]
            body = {"mode": mode if start == 0 else "APPEND", "items": chunk}
            answers.append(await self._post(f"/testcases/{_seg(key)}/teststeps", body, retry_unsafe))
        return answers

    async def create_test_script(
        self, key: str, text: str, *, script_type: str = "plain", retry_unsafe: bool = False
    ) -> Json:
        """POST /testcases/{key}/testscript (``plain`` or ``bdd``)."""
        body = {"type": script_type, "text": text}
        return await self._post(f"/testcases/{_seg(key)}/testscript", body, retry_unsafe)

    async def create_test_cycle(self, body: Mapping[str, Any], *, retry_unsafe: bool = False) -> Json:
        """POST /testcycles (``TestCycleInput``)."""
        return await self._post("/testcycles", body, retry_unsafe)

    async def create_test_plan(self, body: Mapping[str, Any], *, retry_unsafe: bool = False) -> Json:
        """POST /testplans (``TestPlanInput``)."""
        return await self._post("/testplans", body, retry_unsafe)

    async def create_test_execution(self, body: Mapping[str, Any], *, retry_unsafe: bool = False) -> Json:
        """POST /testexecutions (``TestExecutionInput``)."""
        return await self._post("/testexecutions", body, retry_unsafe)

    async def update_test_execution(self, id_or_key: str | int, body: Mapping[str, Any]) -> Json | None:
        """PUT /testexecutions/{idOrKey} (``TestExecutionUpdate``)."""
        result = await self.session.put_json(f"/testexecutions/{_seg(id_or_key)}", dict(body))
        return result if isinstance(result, dict) else None

    async def create_folder(
        self,
        project_key: str,
        name: str,
        folder_type: str,
        parent_id: int | None = None,
        *,
        retry_unsafe: bool = False,
    ) -> Json:
        """POST /folders; ``parent_id`` None makes a root folder."""
        body = {"projectKey": project_key, "name": name, "folderType": folder_type, "parentId": parent_id}
        return await self._post("/folders", body, retry_unsafe)

    async def add_issue_link(self, entity: str, id_or_key: str | int, issue_id: int) -> Json:
        """POST /{entity}/{idOrKey}/links/issues (testcases, testcycles, testplans or testexecutions)."""
        path = f"/{_seg(entity)}/{_seg(id_or_key)}/links/issues"
        return await self._post(path, {"issueId": issue_id}, False)

    async def add_web_link(self, entity: str, id_or_key: str | int, url: str, description: str = "") -> Json:
        """POST /{entity}/{idOrKey}/links/weblinks; ``entity`` is testcases, testcycles or testplans."""
        body = {"url": url, "description": description} if description else {"url": url}
        return await self._post(f"/{_seg(entity)}/{_seg(id_or_key)}/links/weblinks", body, False)

    # -- helpers ----------------------------------------------------------------------------------

    async def _get(self, path: str) -> Json:
        result = await self.session.get_json(path)
        if not isinstance(result, dict):
            raise ApiError(
                f"Zephyr answered GET {path} with {type(result).__name__}, not an object.", api="Zephyr"
            )
        return result

    async def _post(self, path: str, body: Mapping[str, Any], retry_unsafe: bool) -> Json:
        result = await self.session.post_json(path, dict(body), retry_unsafe=retry_unsafe)
        return result if isinstance(result, dict) else {}


def _execution_filters(
    project_key: str,
    test_cycle: str | None,
    test_case: str | None,
    actual_end_date_after: datetime | str | None,
    only_last_executions: bool,
) -> dict[str, Any]:
    return {
        "projectKey": project_key,
        "testCycle": test_cycle,
        "testCase": test_case,
        "actualEndDateAfter": (
            None if actual_end_date_after is None else _zephyr_datetime(actual_end_date_after)
        ),
        "onlyLastExecutions": only_last_executions,
    }


def _bearer(token: SecretStr | None) -> AuthProvider | None:
    """An auth provider reading the token only when a request is sent (None: no header)."""
    if token is None:
        return None

    def header() -> str:
        return f"Bearer {token.get_secret_value()}"

    return header
