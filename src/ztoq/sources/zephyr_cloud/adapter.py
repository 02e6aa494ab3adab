"""The Zephyr Scale Cloud v2 source: what extract reads from it, and how, object by object.

Every object is handed to extract exactly as the API returned it. Listed objects are keyed by
their ``id`` (folders, statuses, priorities, environments) or their ``key`` (test cases, plans,
cycles); an execution by its key, or its id when it has none. Every execution is listed, not
only the last of each test case. Listings come page by page (:meth:`ZephyrCloudSource.read_pages`)
with the position to resume each from; executions can be listed by end date (``delta_types``).

The fewest requests per object:

* **A test case's parts: one request, chosen by its ``testScript`` link.** The link points at
  ``.../teststeps`` for a step-by-step script (every step is read, all pages) and at
  ``.../testscript`` for a plain or BDD one (the script is read; its ``test_steps`` row is stored
  empty without a request: the link says there are none). A test case without the link has
  neither, and costs nothing. Only a link of another form is probed as before: steps, then the
  script when there are none.
* **An execution's step results: one request, only when it can have some.** An execution
  records results for the steps of the test case version it ran. When that version is the test
  case's current one (``testCase.id`` is the stored test case's ``id``) and the test case has no
  steps (its stored ``test_steps`` row is empty: a plain/BDD script, no script, or no steps),
  there is nothing to read: no request, and nothing stored or changed. Otherwise (an older
  version, a test case the store does not hold, one with steps) they are read. Extract asks
  :meth:`ZephyrCloudSource.prepare_parts` to look the test cases of each batch up in the store
  first, so the rule depends on what is stored, never on what this run happened to read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from ztoq.config import ZtoqConfig
from ztoq.errors import InputError, NotFound
from ztoq.sources.base import AttachmentReader, Parts, RecordReader
from ztoq.sources.zephyr_cloud.attachments import ZephyrCloudAttachments
from ztoq.sources.zephyr_cloud.client import Json, Position, ZephyrClient
from ztoq.sources.zephyr_cloud.decode import executed_test_case
from ztoq.sources.zephyr_cloud.reader import ZephyrCloudRecords
from ztoq.store import SourceItem
from ztoq.values import int_or_none
from ztoq.vendor import ZEPHYR_CLOUD_EXAMPLE

#: The offset-paged listings: entity type -> (path, the member that keys an object).
_OFFSET_LISTINGS: dict[str, tuple[str, str]] = {
    "folder": ("/folders", "id"),
    "status": ("/statuses", "id"),
    "priority": ("/priorities", "id"),
    "environment": ("/environments", "id"),
    "test_plan": ("/testplans", "key"),
    "test_cycle": ("/testcycles", "key"),
}

#: What a test case's ``testScript`` link says it holds.
STEPS, SCRIPT, NEITHER, UNKNOWN = "steps", "script", "neither", "unknown"


def _id(obj: Json) -> int | None:
    value = obj.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def execution_key(execution: Json) -> str:
    """How an execution is keyed in the store: its key (``PROJ-E12``), or its id when it has none."""
    return str(execution.get("key") or execution.get("id"))


def script_kind(case: Mapping[str, Any]) -> str:
    """What a test case's ``testScript`` link points at: STEPS, SCRIPT, NEITHER (no link) or UNKNOWN."""
    link = case.get("testScript")
    if link is None:
        return NEITHER
    url = link.get("self") if isinstance(link, Mapping) else None
    if not isinstance(url, str):
        return UNKNOWN
    path = urlsplit(url).path.rstrip("/").lower()
    if path.endswith("/teststeps"):
        return STEPS
    if path.endswith("/testscript"):
        return SCRIPT
    return UNKNOWN


def _listed(entity_type: str, row: Json, key: str) -> SourceItem:
    parent = row.get("parentId")
    return SourceItem(
        entity_type,
        str(row.get(key)),
        row,
        source_id=_id(row),
        parent_key=None if parent is None else str(parent),
    )


class ZephyrCloudSource:
    """The :class:`~ztoq.sources.base.SourceAdapter` of Zephyr Scale Cloud (REST API v2).

    The HTTP client is built on first use, so transform (which only decodes stored rows) never
    needs the Zephyr settings.
    """

    reader: RecordReader = ZephyrCloudRecords()
    reference_types: tuple[str, ...] = ("folder", "status", "priority", "environment")
    plan_types: tuple[str, ...] = ("test_plan", "test_cycle")
    #: Listings that can be limited to what changed since a time: executions, by their end date
    #: (``actualEndDateAfter``). Test cases have no such filter in the v2 API.
    delta_types: frozenset[str] = frozenset({"test_execution"})

    def __init__(self, config: ZtoqConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """Read the project of ``config.zephyr``; ``transport`` replaces the network (tests)."""
        self.config = config
        self.transport = transport
        self._client: ZephyrClient | None = None
        self._attachments: ZephyrCloudAttachments | None = None
        #: Test case key -> current version id, for the test cases of the batch at hand that
        #: have no steps (see ``prepare_parts``).
        self._stepless: dict[str, int | None] = {}
        self.test_case_parts: Parts | None = Parts(
            "test_steps", ("test_steps", "test_script"), self._test_case_parts, _keyed
        )
        self.execution_parts: Parts | None = Parts(
            "execution_steps", ("execution_steps",), self._execution_steps, self.may_have_step_results
        )

    @property
    def client(self) -> ZephyrClient:
        """The Zephyr client, built on first use."""
        if self._client is None:
            self.config.require_source()
            self._client = ZephyrClient.from_config(
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
            self._attachments = ZephyrCloudAttachments(self.client.session)
        return self._attachments

    @property
    def project_key(self) -> str:
        return self.config.zephyr.project_key

    async def read_project(self) -> SourceItem:
        """The Zephyr project; an unknown one is an :class:`InputError` that says what to check."""
        key = self.project_key
        try:
            project = await self.client.project(key)
        except NotFound:
            raise InputError(
                f"Zephyr project {key} was not found at {self.config.zephyr.base_url}; check "
                "zephyr.project_key, and that zephyr.base_url is the Zephyr Scale Cloud API v2 "
                f"({ZEPHYR_CLOUD_EXAMPLE}, or eu.api.zephyrscale.smartbear.com/v2 in the EU)."
            ) from None
        return SourceItem("project", key, project, source_id=_id(project))

    async def read_all(self, entity_type: str) -> AsyncIterator[SourceItem]:
        """Every object of a listed type, in the API's order.

        Raises:
            KeyError: ``entity_type`` is not listed by this source.
        """
        async for items, _ in self.read_pages(entity_type):
            for item in items:
                yield item

    async def read_pages(
        self, entity_type: str, *, resume: Position | None = None, since: datetime | None = None
    ) -> AsyncIterator[tuple[list[SourceItem], Position | None]]:
        """A listed type page by page, each with the position to resume after it (None after the last).

        Args:
            entity_type: a reference or plan type, ``test_case`` or ``test_execution``.
            resume: a position yielded before: the listing continues after that page.
            since: only what changed after this time, for the types in ``delta_types``
                (executions that ended after it); ignored for the others.

        Raises:
            KeyError: ``entity_type`` is not listed by this source.
        """
        client, project = self.client, self.project_key
        if entity_type == "test_execution":
            pages = client.test_execution_pages(project, actual_end_date_after=since, resume=resume)
            async for rows, position in pages:
                yield [SourceItem(entity_type, execution_key(e), e, source_id=_id(e)) for e in rows], position
            return
        if entity_type == "test_case":
            async for rows, position in client.test_case_pages(project, resume):
                yield [_listed(entity_type, row, "key") for row in rows], position
            return
        path, key = _OFFSET_LISTINGS[entity_type]
        start = int((resume or {}).get("startAt", 0))
        async for rows, position in client.offset_pages(path, {"projectKey": project}, start_at=start):
            yield [_listed(entity_type, row, key) for row in rows], position

    async def _test_case_parts(self, case: SourceItem) -> list[SourceItem]:
        key, kind = case.source_key, script_kind(case.payload)
        script: Json | None = None
        try:
            if kind in (STEPS, UNKNOWN):
                steps = await self.client.test_steps(key)
                if kind == UNKNOWN and not steps:
                    script = await self.client.test_script(key)
            else:
                steps = []  # the link says there are none
                if kind == SCRIPT:
                    script = await self.client.test_script(key)
        except NotFound:
            return []  # deleted since it was listed: the next listing leaves it out
        parts = [SourceItem("test_steps", key, steps, parent_key=key)]
        if script is not None:
            parts.append(SourceItem("test_script", key, script, source_id=_id(script), parent_key=key))
        return parts

    def prepare_parts(
        self,
        entity_type: str,
        items: Sequence[SourceItem],
        stored: Callable[[str, Iterable[str]], Mapping[str, Any]],
    ) -> None:
        """Before a batch of executions is asked about: look up the stored test cases they ran.

        Args:
            entity_type: the listed type of ``items`` (only ``test_execution`` needs anything).
            items: the batch.
            stored: source key -> stored payload of the live rows of a type among some keys.
        """
        if entity_type != "test_execution":
            return
        keys = {key for item in items if (key := executed_test_case(item.payload)[0]) is not None}
        cases, steps = stored("test_case", keys), stored("test_steps", keys)
        self._stepless = {
            key: int_or_none(case.get("id"))
            for key, case in cases.items()
            if isinstance(case, Mapping) and steps.get(key) == []
        }

    def may_have_step_results(self, execution: SourceItem) -> bool:
        """False when the execution ran the current version of a test case stored without steps."""
        link = execution.payload.get("testCase")
        version = int_or_none(link.get("id")) if isinstance(link, Mapping) else None
        case_key, _ = executed_test_case(execution.payload)
        if case_key is None or version is None or case_key not in self._stepless:
            return True
        return self._stepless[case_key] != version

    async def _execution_steps(self, execution: SourceItem) -> list[SourceItem]:
        ident = execution.payload.get("id") or execution.payload.get("key")
        try:
            steps = await self.client.execution_steps(str(ident))
        except NotFound:
            return []  # deleted since it was listed
        key = execution.source_key
        return [SourceItem("execution_steps", key, steps, parent_key=key)]

    def api_stats(self) -> dict[str, dict[str, Any]]:
        """The Zephyr session's request counters, once the client was used."""
        return {} if self._client is None else {"zephyr": self._client.session.snapshot()}

    async def aclose(self) -> None:
        """Close the Zephyr session, if one was opened."""
        if self._client is not None:
            await self._client.aclose()


def _keyed(case: SourceItem) -> bool:
    """Only a test case with a key has steps to read (they are requested by key)."""
    return bool(case.payload.get("key"))
