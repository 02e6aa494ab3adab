"""Virtual time for ApiSession tests: sleeps take no real time, and concurrent sleepers wake in order."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import httpx
import pytest

from ztoq.http import ApiSession, RetryPolicy

T = TypeVar("T")

TOKEN = "tok-SECRET-9f8e7d6c5b4a"  # distinctive: must never appear in a message or repr


class VirtualClock:
    """A clock whose ``sleep`` parks the caller until the driver advances time to its wake-up."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._seq), future))
        await future

    async def _drive(self, main: Coroutine[Any, Any, T]) -> T:
        task = asyncio.ensure_future(main)
        while not task.done():
            for _ in range(200):  # let every runnable task reach its next sleep
                await asyncio.sleep(0)
                if task.done():
                    break
            if task.done():
                break
            if not self._sleepers:
                continue
            wake, _, future = heapq.heappop(self._sleepers)
            self.now = max(self.now, wake)
            if not future.done():
                future.set_result(None)
        return task.result()

    def run(self, main: Coroutine[Any, Any, T]) -> T:
        """Run ``main`` to completion on virtual time."""
        return asyncio.run(self._drive(main))


Handler = Callable[[httpx.Request], httpx.Response]


def make_session(
    handler: Handler,
    clock: VirtualClock,
    *,
    retry: RetryPolicy | None = None,
    api_name: str = "qTest",
    base_url: str = "https://example.qtestnet.com",
    **kwargs: Any,
) -> ApiSession:
    """An ApiSession on a MockTransport and virtual time, with jitter pinned to the full ceiling."""
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    kwargs.setdefault("auth", lambda: f"Bearer {TOKEN}")
    kwargs.setdefault("jitter", lambda: 1.0)
    kwargs.setdefault("wall_clock", lambda: 1_700_000_000.0)
    return ApiSession(
        client,
        api_name=api_name,
        base_url=base_url,
        retry=retry or RetryPolicy(retry_count=5, base_delay=1.0, max_delay=30.0, budget_seconds=300.0),
        clock=clock.time,
        sleep=clock.sleep,
        owns_client=True,
        **kwargs,
    )


@pytest.fixture
def vclock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def session_for(vclock: VirtualClock) -> Callable[..., ApiSession]:
    """``session_for(handler, **kwargs)``: an ApiSession on a MockTransport and the test's virtual clock."""

    def build(handler: Handler, **kwargs: Any) -> ApiSession:
        return make_session(handler, vclock, **kwargs)

    return build
