"""Client-side pacing: an async token bucket and a session-wide pause after a 429.

Both take the clock and the sleep function as arguments so tests run on virtual time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """Paces requests to ``rate`` per second, allowing bursts of ``max(1, rate)``.

    A caller *reserves* its token under a lock and sleeps outside it: the bucket may go
    negative, which queues callers in arrival order without holding the lock while waiting.
    """

    def __init__(self, rate: float, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        """Create a bucket.

        Args:
            rate: Requests per second; 0 or less means unlimited.
            clock: Monotonic clock in seconds.
            sleep: Coroutine function sleeping a number of seconds.
        """
        self.rate = max(0.0, rate)
        self.capacity = max(1.0, self.rate)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated: float | None = None
        self._lock = asyncio.Lock()

    @property
    def unlimited(self) -> bool:
        """True when the bucket never makes anyone wait."""
        return self.rate <= 0

    def reserve(self) -> float:
        """Take one token now; return how long the caller must wait before using it."""
        if self.unlimited:
            return 0.0
        now = self._clock()
        if self._updated is None:
            self._updated = now
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self) -> float:
        """Wait for a token; return the seconds waited."""
        if self.unlimited:
            return 0.0
        async with self._lock:
            wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)
        return wait


class PauseGate:
    """A session-wide "nobody sends before T" mark, set when the API answers 429 Retry-After.

    Every worker passes the gate before sending, so one 429 pauses all of them rather than
    letting the others keep hammering a quota that is already exhausted.
    """

    def __init__(self, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self.paused_until = float("-inf")

    def pause_for(self, seconds: float) -> float:
        """Hold every worker for ``seconds`` from now (never shortens a longer pause).

        Returns:
            The clock time until which the session is paused.
        """
        self.paused_until = max(self.paused_until, self._clock() + max(0.0, seconds))
        return self.paused_until

    def remaining(self) -> float:
        """Seconds left in the current pause (0 when not paused)."""
        return max(0.0, self.paused_until - self._clock())

    async def wait(self) -> float:
        """Sleep until the pause is over (re-checking, since it may be extended meanwhile).

        Returns:
            The seconds waited.
        """
        waited = 0.0
        while (left := self.remaining()) > 0:
            await self._sleep(left)
            waited += left
        return waited
