"""The Zephyr Scale Server/Data Center v1 source: what extract reads from it, and how, object by object.

Every object is handed to extract as the API returned it, with one exception (below). How this
differs from the Cloud source (:mod:`ztoq.sources.zephyr_cloud.adapter`):

* **No folder, status or priority lists.** v1 has none; the reader derives them from the names
  and paths the stored rows carry. The one reference type listed is ``environment`` (by id).
* **Names and keys, not ids.** Test cases, plans and runs are keyed by their key; the project
  is Jira's (``GET rest/api/2/project/{key}``).
* **Inline parts.** The test case search returns each test case whole (script, steps, test data),
  and a test result holds its step results, so there are no ``test_case_parts`` or
  ``execution_parts``.
* **Test runs are the cycles**, read from ``/testrun/search`` with their ``items``; a run listed
  without ``items`` is read again whole.
* **Results per run.** v1 lists test results per test run only: the runs are listed again (keys
  only), then ``GET /testrun/{key}/testresults`` is read for up to ``performance.max_workers``
  runs at once, yielded in run order, then in result order. Each result is keyed by its id.
* **Pages and positions.** :meth:`ZephyrServerSource.read_pages` yields each search page with
  the ``startAt`` of the next (results: after the results of every run of a runs page), so an
  interrupted listing resumes there. v1's searches have no time filter (TQL offers no
  ``updatedOn``), so every listing is whole: ``delta_types`` is empty.
* **The one annotation:** a test result that does not carry ``testRunKey`` gets it
  (``"testRunKey": <run key>``), so a stored result always names its run; a result carrying one
  is stored unchanged.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import httpx

from ztoq.config import ZtoqConfig
from ztoq.errors import InputError, NotFound, safe_path
from ztoq.sources.base import AttachmentReader, Parts, RecordReader
from ztoq.sources.detect import server_site_url
from ztoq.sources.zephyr_server.attachments import ZephyrServerAttachments
from ztoq.sources.zephyr_server.client import Json, ZephyrServerClient
from ztoq.sources.zephyr_server.reader import ZephyrServerRecords
from ztoq.store import SourceItem
from ztoq.values import int_or_none


def _keyed(entity_type: str, row: Json) -> SourceItem | None:
    """A listed object keyed by its key; None for one without a key (nothing can refer to it)."""
    key = row.get("key")
    return SourceItem(entity_type, key, row) if isinstance(key, str) and key else None


def _position(start_at: int | None) -> dict[str, Any] | None:
    """Where a search resumes (an offset: objects deleted before it shift what follows)."""
    return None if start_at is None else {"startAt": start_at}


def annotated(result: Json, run_key: str) -> Json:
    """A test result naming its test run: ``testRunKey`` added when the server left it out."""
    return result if "testRunKey" in result else {**result, "testRunKey": run_key}


class ZephyrServerSource:
    """The :class:`~ztoq.sources.base.SourceAdapter` of Zephyr Scale Server/Data Center (REST API v1).

    The HTTP client is built on first use, so transform (which only decodes stored rows) never
    needs the Zephyr settings.
    """

    reader: RecordReader = ZephyrServerRecords()
    reference_types: tuple[str, ...] = ("environment",)
    plan_types: tuple[str, ...] = ("test_plan", "test_cycle")
    test_case_parts: Parts | None = None
    execution_parts: Parts | None = None
    #: v1's searches cannot select what changed since a time: every listing is whole.
    delta_types: frozenset[str] = frozenset()

    def __init__(self, config: ZtoqConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """Read the project of ``config.zephyr``; ``transport`` replaces the network (tests)."""
        self.config = config
        self.transport = transport
        self._client: ZephyrServerClient | None = None
        self._attachments: ZephyrServerAttachments | None = None

    @property
    def client(self) -> ZephyrServerClient:
        """The Zephyr Server client, built on first use."""
        if self._client is None:
            self.config.require_source("server")
            self._client = ZephyrServerClient.from_config(
                self.config.zephyr,
                network=self.config.network,
                performance=self.config.performance,
                transport=self.transport,
            )
        return self._client

    @property
    def attachments(self) -> AttachmentReader | None:
        """Attachment lists and downloads, through the same session as everything else."""
        if self._attachments is None:
            self._attachments = ZephyrServerAttachments(self.client.session)
        return self._attachments

    @property
    def project_key(self) -> str:
        return self.config.zephyr.project_key

    async def read_project(self) -> SourceItem:
        """The Jira project; an unknown one is an :class:`InputError` that says what to check."""
        key = self.project_key
        try:
            project = await self.client.project(key)
        except NotFound:
            site = safe_path(server_site_url(self.config.zephyr.base_url))
            raise InputError(
                f"Jira project {key} was not found at {site}; check zephyr.project_key, that "
                "zephyr.base_url is the Jira Server/Data Center base URL (https://jira.example.com), "
                "and that Zephyr Scale is enabled for the project."
            ) from None
        return SourceItem("project", key, project, source_id=int_or_none(project.get("id")))

    async def read_all(self, entity_type: str) -> AsyncIterator[SourceItem]:
        """Every object of a listed type, in the API's order.

        Raises:
            KeyError: ``entity_type`` is not listed by this source.
        """
        async for items, _ in self.read_pages(entity_type):
            for item in items:
                yield item

    async def read_pages(
        self,
        entity_type: str,
        *,
        resume: Mapping[str, Any] | None = None,
        since: datetime | None = None,
    ) -> AsyncIterator[tuple[list[SourceItem], dict[str, Any] | None]]:
        """A listed type page by page, each with the position to resume after it (None: none, or the end).

        ``resume`` is a position yielded before (``{"startAt": n}``); ``since`` is ignored (see
        ``delta_types``).

        Raises:
            KeyError: ``entity_type`` is not listed by this source.
        """
        client, project = self.client, self.project_key
        start = int((resume or {}).get("startAt", 0))
        if entity_type == "environment":
            items = []
            for row in await client.environments(project):
                ident = int_or_none(row.get("id"))
                key = str(row.get("name")) if ident is None else str(ident)
                items.append(SourceItem(entity_type, key, row, source_id=ident))
            yield items, None
        elif entity_type in ("test_case", "test_plan"):
            entity = "testcase" if entity_type == "test_case" else "testplan"
            async for rows, following in client.search_pages(entity, project, start_at=start):
                keyed = (_keyed(entity_type, row) for row in rows)
                yield [item for item in keyed if item is not None], _position(following)
        elif entity_type == "test_cycle":
            async for rows, following in client.search_pages("testrun", project, start_at=start):
                runs = [await self._whole_run(row) for row in rows]
                yield [run for run in runs if run is not None], _position(following)
        elif entity_type == "test_execution":
            async for rows, following in client.search_pages("testrun", project, "key", start_at=start):
                run_keys = [row["key"] for row in rows if isinstance(row.get("key"), str) and row["key"]]
                async for results in self._test_results(run_keys):
                    yield results, None
                if following is not None:
                    yield [], _position(following)
        else:
            raise KeyError(entity_type)

    async def _whole_run(self, row: Json) -> SourceItem | None:
        """A listed test run with its items (read again whole when listed without); None: gone or keyless."""
        item = _keyed("test_cycle", row)
        if item is None or "items" in row:
            return item
        try:
            return SourceItem("test_cycle", item.source_key, await self.client.test_run(item.source_key))
        except NotFound:
            return None  # deleted since the search

    async def _results_of(self, run_key: str) -> list[Json]:
        try:
            return await self.client.test_results(run_key)
        except NotFound:
            return []  # the run was deleted since it was listed

    async def _test_results(self, run_keys: list[str]) -> AsyncIterator[list[SourceItem]]:
        """Each run's results: up to ``max_workers`` runs read at once, yielded in run order."""
        keys = iter(run_keys)
        window = max(1, self.config.performance.max_workers)
        pending: deque[tuple[str, asyncio.Task[list[Json]]]] = deque()

        def start_next() -> None:
            key = next(keys, None)
            if key is not None:
                pending.append((key, asyncio.create_task(self._results_of(key))))

        try:
            for _ in range(window):
                start_next()
            while pending:
                run_key, task = pending.popleft()
                results = await task
                start_next()
                items = []
                for position, result in enumerate(results):
                    ident = int_or_none(result.get("id"))
                    key = f"{run_key}/{position}" if ident is None else str(ident)
                    items.append(
                        SourceItem("test_execution", key, annotated(result, run_key), source_id=ident)
                    )
                yield items
        finally:
            for _, task in pending:
                task.cancel()
            await asyncio.gather(*(task for _, task in pending), return_exceptions=True)

    def api_stats(self) -> dict[str, dict[str, Any]]:
        """The Zephyr session's request counters, once the client was used."""
        return {} if self._client is None else {"zephyr": self._client.session.snapshot()}

    async def aclose(self) -> None:
        """Close the Zephyr session, if one was opened."""
        if self._client is not None:
            await self._client.aclose()
