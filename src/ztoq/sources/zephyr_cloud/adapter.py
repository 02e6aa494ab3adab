"""The Zephyr Scale Cloud v2 source: what extract reads from it, and how, object by object.

Every object is handed to extract exactly as the API returned it. Listed objects are keyed by
their ``id`` (folders, statuses, priorities, environments) or their ``key`` (test cases, plans,
cycles); an execution by its key, or its id when it has none. A test case's steps (all pages)
or, when it has none, its plain/BDD script are read per test case; an execution's step results
(all pages) per execution. Every execution is listed, not only the last of each test case.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from ztoq.config import ZtoqConfig
from ztoq.errors import InputError, NotFound
from ztoq.sources.base import AttachmentReader, Parts, RecordReader
from ztoq.sources.zephyr_cloud.attachments import ZephyrCloudAttachments
from ztoq.sources.zephyr_cloud.client import Json, ZephyrClient
from ztoq.sources.zephyr_cloud.reader import ZephyrCloudRecords
from ztoq.store import SourceItem
from ztoq.vendor import ZEPHYR_CLOUD_EXAMPLE


def _id(obj: Json) -> int | None:
    value = obj.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def execution_key(execution: Json) -> str:
    """How an execution is keyed in the store: its key (``PROJ-E12``), or its id when it has none."""
    return str(execution.get("key") or execution.get("id"))


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

    def __init__(self, config: ZtoqConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        """Read the project of ``config.zephyr``; ``transport`` replaces the network (tests)."""
        self.config = config
        self.transport = transport
        self._client: ZephyrClient | None = None
        self._attachments: ZephyrCloudAttachments | None = None
        self.test_case_parts: Parts | None = Parts(
            "test_steps", ("test_steps", "test_script"), self._test_case_parts, _keyed
        )
        self.execution_parts: Parts | None = Parts(
            "execution_steps", ("execution_steps",), self._execution_steps
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

    def _listing(self, entity_type: str) -> tuple[Callable[[str], AsyncIterator[Json]], str]:
        client = self.client
        listings: dict[str, tuple[Callable[[str], AsyncIterator[Json]], str]] = {
            "folder": (client.folders, "id"),
            "status": (client.statuses, "id"),
            "priority": (client.priorities, "id"),
            "environment": (client.environments, "id"),
            "test_case": (client.test_cases, "key"),
            "test_plan": (client.test_plans, "key"),
            "test_cycle": (client.test_cycles, "key"),
        }
        return listings[entity_type]

    async def read_all(self, entity_type: str) -> AsyncIterator[SourceItem]:
        """Every object of a listed type, in the API's order.

        Raises:
            KeyError: ``entity_type`` is not listed by this source.
        """
        if entity_type == "test_execution":
            async for execution in self.client.test_executions(self.project_key):
                yield SourceItem(entity_type, execution_key(execution), execution, source_id=_id(execution))
            return
        listing, key = self._listing(entity_type)
        async for row in listing(self.project_key):
            yield _listed(entity_type, row, key)

    async def _test_case_parts(self, case: SourceItem) -> list[SourceItem]:
        key = case.source_key
        steps = await self.client.test_steps(key)
        parts = [SourceItem("test_steps", key, steps, parent_key=key)]
        # A step-by-step case has no plain/BDD script worth a request; others may have one.
        script = None if steps else await self.client.test_script(key)
        if script is not None:
            parts.append(SourceItem("test_script", key, script, source_id=_id(script), parent_key=key))
        return parts

    async def _execution_steps(self, execution: SourceItem) -> list[SourceItem]:
        ident = execution.payload.get("id") or execution.payload.get("key")
        steps = await self.client.execution_steps(str(ident))
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
