"""ZephyrServerClient: everything extract reads from Zephyr Scale Server/Data Center (REST API v1).

Read methods return (or yield) the JSON objects exactly as the server sent them, because extract
stores raw JSON; :mod:`ztoq.sources.zephyr_server.decode` turns a stored one into a canonical record.

How this differs from the Cloud client (:mod:`ztoq.sources.zephyr_cloud.client`):

* The session's base URL is the **Jira site** (``https://jira.example.com``, a context path
  included), not an API root: Zephyr Scale lives at ``rest/atm/1.0/...`` below it and the one
  Jira call (the project) at ``rest/api/2/...``, both with the same credentials. Attachment URLs
  are absolute on that site too.
* Credentials are a Jira personal access token (``zephyr.api_token``, sent as a bearer token), or
  else ``zephyr.username`` + ``zephyr.password`` (basic authentication). Neither can be renewed:
  a 401 ends in one :class:`~ztoq.errors.AuthenticationFailed` naming both settings.
* Lists are searches: ``GET .../search?query=projectKey = "KEY"`` answers a plain JSON array
  with no total, paged with ``startAt``/``maxResults`` until a page comes back shorter than
  ``maxResults`` (:class:`SearchPages`). 200 is both the default and the largest ``maxResults``
  the server honours, so ``zephyr.page_size`` (when set) is capped at 200: asking for more would
  get 200 back and end the paging early. ``search_pages`` yields a search page by page with the
  ``startAt`` of the next page, so extract can resume a search where it stopped.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from ztoq.config import NetworkConfig, PerformanceConfig, ZephyrConfig
from ztoq.errors import ApiError, AuthenticationFailed, FatalApiError, safe_path
from ztoq.http import ApiSession, AuthProvider, EventCallback, Reauthenticate
from ztoq.sources.detect import server_site_url
from ztoq.vendor import JIRA_SERVER_API_PATH, ZEPHYR_SERVER_API_PATH, ZEPHYR_SERVER_DEFAULT_MAX_RESULTS

Json = dict[str, Any]

#: Zephyr Scale's REST API v1 and Jira's REST API, as paths below the site URL.
ATM = ZEPHYR_SERVER_API_PATH.strip("/")
JIRA = JIRA_SERVER_API_PATH.strip("/")


class SearchStalled(FatalApiError):
    """The API answered a search page identical to the previous one, so paging would never end."""


def seg(value: str | int) -> str:
    """One path segment, percent-encoded (keys are user data)."""
    return quote(str(value), safe="")


def project_query(project_key: str) -> str:
    """The TQL selecting one project: ``projectKey = "KEY"`` (``"`` and ``\\`` escaped)."""
    escaped = project_key.replace("\\", "\\\\").replace('"', '\\"')
    return f'projectKey = "{escaped}"'


class SearchPages:
    """``startAt``/``maxResults`` paging over plain JSON arrays: no I/O, fed one decoded page at a time.

    A page shorter than ``maxResults`` (or empty) is the last. A full page moves ``startAt`` on
    by the number of items it held.

    Attributes:
        max_results: The ``maxResults`` asked for.
        start_at: The offset of the next page to ask for.
        finished: True once the last page has been seen.
        pages: Pages seen so far.
    """

    def __init__(
        self, max_results: int = ZEPHYR_SERVER_DEFAULT_MAX_RESULTS, start_at: int = 0, *, what: str = "search"
    ) -> None:
        if max_results < 1:
            raise ValueError("max_results must be at least 1")
        self.max_results = max_results
        self.start_at = max(0, start_at)
        self.finished = False
        self.pages = 0
        self._what = what
        self._previous: list[Any] | None = None

    def params(self) -> dict[str, int]:
        """The query parameters of the next page."""
        return {"startAt": self.start_at, "maxResults": self.max_results}

    def advance(self, page: Any) -> list[Json]:
        """Take in one decoded page; return its objects and move to the next page.

        Raises:
            ApiError: The answer is not a JSON array.
            SearchStalled: A full page repeats the previous one (a server ignoring ``startAt``).
        """
        if self.finished:
            raise RuntimeError("advance() called after the last page")
        if not isinstance(page, list):
            raise ApiError(
                f"Zephyr answered {self._what} with {type(page).__name__}, not a JSON array of results.",
                api="Zephyr",
            )
        self.pages += 1
        if page and page == self._previous:
            raise SearchStalled(
                f"Zephyr answered {self._what} at startAt={self.start_at} with the same "
                f"{len(page)} results as the page before, so paging would never end; stopping.",
                api="Zephyr",
            )
        self._previous = page
        if len(page) < self.max_results:
            self.finished = True
        else:
            self.start_at += len(page)
        return [item for item in page if isinstance(item, dict)]


class ZephyrServerClient:
    """Async client of the Zephyr Scale Server/Data Center REST API v1 (and Jira's project call)."""

    def __init__(self, session: ApiSession, *, max_results: int = ZEPHYR_SERVER_DEFAULT_MAX_RESULTS) -> None:
        """Wrap ``session`` (whose base URL is the Jira site); ``max_results`` is each search page's size."""
        self.session = session
        self.max_results = max_results

    @classmethod
    def from_config(
        cls,
        config: ZephyrConfig,
        *,
        network: NetworkConfig | None = None,
        performance: PerformanceConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        on_event: EventCallback | None = None,
    ) -> ZephyrServerClient:
        """Build a client and its session from the ``zephyr``, ``network`` and ``performance`` sections.

        As for Cloud: ``zephyr.rate_limit_delay`` (seconds between requests) applies when
        ``zephyr.requests_per_second`` is 0; ``zephyr.auto_retry: false`` turns retries off;
        ``zephyr.retry_count``, when set, overrides ``network.retry_count``. ``zephyr.page_size``,
        when set, is the search page size (at most 200); otherwise 200.
        """
        network = network or NetworkConfig()
        performance = performance or PerformanceConfig()
        rate = config.requests_per_second
        if rate <= 0 and config.rate_limit_delay > 0:
            rate = 1.0 / config.rate_limit_delay
        retry_count = config.retry_count if "retry_count" in config.model_fields_set else network.retry_count
        site = server_site_url(config.base_url)
        session = ApiSession.create(
            api_name="Zephyr",
            base_url=site,
            network=network,
            retry_count=retry_count if config.auto_retry else 0,
            max_workers=performance.max_workers,
            requests_per_second=rate,
            transport=transport,
            auth=credentials(config),
            on_event=on_event,
        )
        session.reauthenticate = rejected(config, site)
        max_results = ZEPHYR_SERVER_DEFAULT_MAX_RESULTS
        if "page_size" in config.model_fields_set:
            max_results = min(config.page_size, ZEPHYR_SERVER_DEFAULT_MAX_RESULTS)
        return cls(session, max_results=max_results)

    def __repr__(self) -> str:
        return f"ZephyrServerClient({self.session!r})"

    async def aclose(self) -> None:
        """Close the session (and its httpx client if the session owns it)."""
        await self.session.aclose()

    # -- searches -------------------------------------------------------------------------------

    async def search_pages(
        self, entity: str, project_key: str, fields: str | None = None, *, start_at: int = 0
    ) -> AsyncIterator[tuple[list[Json], int | None]]:
        """Each page of ``{entity}/search`` for a project, with the ``startAt`` of the next (None: the last).

        Args:
            entity: ``testcase``, ``testplan`` or ``testrun``.
            project_key: the project the query selects.
            fields: the members to return (None: all).
            start_at: where to start (a ``startAt`` this method yielded before resumes there).
        """
        path = f"{ATM}/{entity}/search"
        pager = SearchPages(self.max_results, start_at, what=f"GET /{path}")
        query = {"query": project_query(project_key), "fields": fields}
        while not pager.finished:
            items = pager.advance(await self.session.get_json(path, {**query, **pager.params()}))
            yield items, None if pager.finished else pager.start_at

    async def _search(self, entity: str, project_key: str, fields: str | None) -> AsyncIterator[Json]:
        async for items, _ in self.search_pages(entity, project_key, fields):
            for item in items:
                yield item

    def test_cases(self, project_key: str, fields: str | None = None) -> AsyncIterator[Json]:
        """Every test case of a project (``fields`` None: every member, steps and parameters included)."""
        return self._search("testcase", project_key, fields)

    def test_plans(self, project_key: str, fields: str | None = None) -> AsyncIterator[Json]:
        """Every test plan of a project."""
        return self._search("testplan", project_key, fields)

    def test_runs(self, project_key: str, fields: str | None = None) -> AsyncIterator[Json]:
        """Every test run (Server's test cycle) of a project; ``fields`` None includes its ``items``."""
        return self._search("testrun", project_key, fields)

    # -- single objects -------------------------------------------------------------------------

    async def project(self, key: str) -> Json:
        """The Jira project (``GET rest/api/2/project/{key}``)."""
        return await self._object(f"{JIRA}/project/{seg(key)}")

    async def environments(self, project_key: str) -> list[Json]:
        """Every test execution environment of a project (one JSON array, not paged)."""
        return await self._array(f"{ATM}/environments", {"projectKey": project_key})

    async def test_run(self, key: str) -> Json:
        """One test run, whole (its ``items`` included)."""
        return await self._object(f"{ATM}/testrun/{seg(key)}")

    async def test_results(self, run_key: str) -> list[Json]:
        """Every test result of a test run, oldest first (one JSON array, not paged)."""
        return await self._array(f"{ATM}/testrun/{seg(run_key)}/testresults")

    # -- helpers --------------------------------------------------------------------------------

    async def _object(self, path: str) -> Json:
        result = await self.session.get_json(path)
        if not isinstance(result, dict):
            raise ApiError(
                f"Zephyr answered GET /{path} with {type(result).__name__}, not an object.", api="Zephyr"
            )
        return result

    async def _array(self, path: str, params: Mapping[str, Any] | None = None) -> list[Json]:
        result = await self.session.get_json(path, params)
        if not isinstance(result, list):
            raise ApiError(
                f"Zephyr answered GET /{path} with {type(result).__name__}, not a JSON array.", api="Zephyr"
            )
        return [item for item in result if isinstance(item, dict)]


def credentials(config: ZephyrConfig) -> AuthProvider | None:
    """The ``Authorization`` header provider: the personal access token, else basic authentication.

    The secret is read only when a request is sent; None when neither is configured (a blank
    token counts as none).
    """
    token = config.api_token
    if token is not None and token.get_secret_value().strip():
        return lambda: f"Bearer {token.get_secret_value().strip()}"
    username, password = config.username, config.password
    if username and password is not None:

        def basic() -> str:
            pair = f"{username}:{password.get_secret_value()}".encode()
            return f"Basic {base64.b64encode(pair).decode('ascii')}"

        return basic
    return None


def rejected(config: ZephyrConfig, site: str) -> Reauthenticate:
    """What the session does on a 401: Server credentials cannot be renewed, so it says what to check."""
    if config.api_token is not None:
        used = "the personal access token in zephyr.api_token"
    else:
        used = f"the password of {config.username or 'zephyr.username'} (zephyr.username and zephyr.password)"
    message = (
        f"Jira at {safe_path(site)} rejected {used} (401); set zephyr.api_token to a valid Jira personal "
        "access token (Jira 8.14+), or zephyr.username and zephyr.password of a user who can see the "
        "project, and check that zephyr.base_url is the Jira Server/Data Center site."
    )

    async def reauthenticate() -> None:
        raise AuthenticationFailed(message, api="Zephyr", status=401)

    return reauthenticate
