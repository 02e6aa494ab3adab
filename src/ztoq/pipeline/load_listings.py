"""What qTest already holds under a parent: listed live, or once per run (the adoption index).

Finders look for an entity's Zephyr key among the children of its parent. After a failed create
they must see qTest as it is now (:class:`LiveListings`). Before a create, to adopt what qTest
already holds (a lost or rebuilt store, another machine's migration), every parent is listed at
most once per run (:class:`IndexedListings`): the whole project is indexed with one listing per
container, never one lookup per entity, and only for entities that have no mapping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Protocol, TypeVar

from ztoq.qtest import QTestClient
from ztoq.qtest.models import Attachment, Module, Release, TestCase, TestCycle, TestLog, TestRun

T = TypeVar("T")


class Listings(Protocol):
    """The children of a qTest parent, as finders read them."""

    async def modules(self, parent_id: int | None) -> list[Module]: ...

    async def test_cases(self, parent_id: int | None) -> list[TestCase]: ...

    async def releases(self) -> list[Release]: ...

    async def test_cycles(self, parent_id: int | None, parent_type: str | None) -> list[TestCycle]: ...

    async def test_runs(self, parent_id: int | None, parent_type: str | None) -> list[TestRun]: ...

    async def test_logs(self, run_id: int) -> list[TestLog]: ...

    async def attachments(self, object_type: str, object_id: int) -> list[Attachment]: ...

    @property
    def client(self) -> QTestClient:
        """The client the listings are read with (finders that must read more use it too)."""
        ...


class LiveListings:
    """Every listing sent as it is asked for: qTest as it is now."""

    def __init__(self, client: QTestClient) -> None:
        self._client = client

    @property
    def client(self) -> QTestClient:
        return self._client

    async def modules(self, parent_id: int | None) -> list[Module]:
        return await self._client.list_modules(parent_id=parent_id)

    async def test_cases(self, parent_id: int | None) -> list[TestCase]:
        # Steps and properties come with the same pages: adoption compares them with the plan.
        return [
            case
            async for case in self._client.iter_test_cases(
                parent_id=parent_id, expand_steps=True, expand_props=True
            )
        ]

    async def releases(self) -> list[Release]:
        return await self._client.list_releases(include_closed=True)

    async def test_cycles(self, parent_id: int | None, parent_type: str | None) -> list[TestCycle]:
        return await self._client.list_test_cycles(parent_id, parent_type)

    async def test_runs(self, parent_id: int | None, parent_type: str | None) -> list[TestRun]:
        return [run async for run in self._client.iter_test_runs(parent_id, parent_type)]

    async def test_logs(self, run_id: int) -> list[TestLog]:
        return await self._client.list_test_logs(run_id)

    async def attachments(self, object_type: str, object_id: int) -> list[Attachment]:
        return await self._client.list_attachments(object_type, object_id)


class IndexedListings:
    """Each parent listed at most once per run (concurrent askers share the one request).

    Attributes:
        listed: how many listings were sent (the cost of the adoption index).
    """

    def __init__(self, client: QTestClient) -> None:
        self.live = LiveListings(client)
        self._cache: dict[Hashable, asyncio.Future[object]] = {}
        self.listed = 0

    async def _once(self, key: Hashable, read: Callable[[], Awaitable[list[T]]]) -> list[T]:
        future = self._cache.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._cache[key] = future
            self.listed += 1
            try:
                future.set_result(await read())
            except BaseException as exc:
                del self._cache[key]  # a failed listing is asked again next time
                future.set_exception(exc)
                future.exception()  # retrieved: the askers waiting on it get it raised
                raise
        result = await future
        assert isinstance(result, list)
        return result

    def forget(self) -> None:
        """Drop every listing kept (after an entity type is done: memory stays bounded by one type)."""
        self._cache.clear()

    async def modules(self, parent_id: int | None) -> list[Module]:
        return await self._once(("modules", parent_id), lambda: self.live.modules(parent_id))

    async def test_cases(self, parent_id: int | None) -> list[TestCase]:
        return await self._once(("test_cases", parent_id), lambda: self.live.test_cases(parent_id))

    async def releases(self) -> list[Release]:
        return await self._once(("releases",), self.live.releases)

    async def test_cycles(self, parent_id: int | None, parent_type: str | None) -> list[TestCycle]:
        key = ("test_cycles", parent_id, parent_type)
        return await self._once(key, lambda: self.live.test_cycles(parent_id, parent_type))

    async def test_runs(self, parent_id: int | None, parent_type: str | None) -> list[TestRun]:
        key = ("test_runs", parent_id, parent_type)
        return await self._once(key, lambda: self.live.test_runs(parent_id, parent_type))

    async def test_logs(self, run_id: int) -> list[TestLog]:
        return await self._once(("test_logs", run_id), lambda: self.live.test_logs(run_id))

    async def attachments(self, object_type: str, object_id: int) -> list[Attachment]:
        key = ("attachments", object_type, object_id)
        return await self._once(key, lambda: self.live.attachments(object_type, object_id))

    @property
    def client(self) -> QTestClient:
        return self.live.client
