"""Client-side pacing: an async token bucket, a session-wide pause after a 429, and quota learning.

Both take the clock and the sleep function as arguments so tests run on virtual time.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class TokenBucket:
    """Paces requests to ``rate`` per second, one at a time: no bursts.

    Quotas are counted over sliding windows (Zephyr's, Jira Data Center's, qTest's gateways), so
    a burst on top of a steady pace earns 429s; and a caller that slept too long (the event loop
    busy elsewhere) must not send its missed turns at once. So a token is taken only when one is
    there, never owed: after a stall the callers resume one per ``1 / rate``, and the requests
    sent within any second never exceed the rate (plus the one token kept).
    """

    def __init__(self, rate: float, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        """Create a bucket.

        Args:
            rate: Requests per second; 0 or less means unlimited.
            clock: Monotonic clock in seconds.
            sleep: Coroutine function sleeping a number of seconds.
        """
        self.rate = max(0.0, rate)
        self.capacity = 1.0
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.capacity
        self._updated: float | None = None
        self._lock = asyncio.Lock()

    @property
    def unlimited(self) -> bool:
        """True when the bucket never makes anyone wait."""
        return self.rate <= 0

    def set_rate(self, rate: float, *, capacity: float | None = None) -> None:
        """Change the pace (e.g. to a learned quota); tokens already earned are kept up to capacity."""
        if self._updated is not None and not self.unlimited:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
            self._updated = now
        self.rate = max(0.0, rate)
        self.capacity = max(1.0, 1.0 if capacity is None else capacity)
        self._tokens = min(self._tokens, self.capacity)

    def take(self) -> float:
        """Take a token if one is there (return 0), else return how long until one is."""
        if self.unlimited:
            return 0.0
        now = self._clock()
        if self._updated is None:
            self._updated = now
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

    async def acquire(self) -> float:
        """Wait for a token; return the seconds waited."""
        waited = 0.0
        while not self.unlimited:
            async with self._lock:
                wait = self.take()
            if wait <= 0:
                break
            await self._sleep(wait)
            waited += wait
        return waited


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


class QuotaLearner:
    """Learns an API's request quota from its 429 answers and paces just under it.

    Bouncing off a quota wastes it: every 429 costs a ``Retry-After`` pause for the whole session.
    So on a 429 the bucket's rate becomes 97% of the most requests the API accepted in any one
    second of the last ten (the quota's measure; the second just before the 429 may include a
    pause, so it would underestimate), with no bursts. While no 429 comes the rate creeps up 1%
    every 500 successes, in case the quota is higher than measured, but never above a pace that
    drew a 429 (a lone 429 at a learned pace keeps the pace; two within ten seconds lower it 3%).
    A rate configured by the user
    is a ceiling the learner never exceeds.
    """

    WINDOW = 1.0
    MEMORY = 10.0
    MARGIN = 0.97
    PROBE_EVERY = 500
    PROBE_STEP = 1.01

    def __init__(self, bucket: TokenBucket, *, clock: Clock = time.monotonic) -> None:
        self.bucket = bucket
        self.ceiling = bucket.rate  # 0: none configured
        self._configured = bucket.rate
        self._clock = clock
        self._recent: deque[float] = deque()
        self._since_limit = 0
        self.learned = False
        self._last_limited: float | None = None
        self._changed_at: float | None = None
        self._advertised: tuple[str, str] | None = None

    def _prune(self, now: float) -> None:
        while self._recent and now - self._recent[0] > self.MEMORY:
            self._recent.popleft()

    def busiest_second(self) -> int:
        """The most successes within any one-second window of the remembered ten seconds."""
        best, start = 0, 0
        times = self._recent
        for end in range(len(times)):
            while times[end] - times[start] > self.WINDOW:
                start += 1
            best = max(best, end - start + 1)
        return best

    def success(self) -> None:
        """Count a request the API accepted."""
        now = self._clock()
        self._recent.append(now)
        self._prune(now)
        if not self.learned:
            return
        self._since_limit += 1
        if self._since_limit >= self.PROBE_EVERY:
            self._since_limit = 0
            rate = self.bucket.rate * self.PROBE_STEP
            self.bucket.set_rate(min(rate, self.ceiling) if self.ceiling > 0 else rate, capacity=1.0)

    def advertised(self, fill_rate: str | None, interval: str | None) -> None:
        """Pace just under a quota the API states in its answers' headers.

        Jira Data Center's rate limiting is a token bucket it describes on every answer:
        ``X-RateLimit-FillRate`` tokens are added every ``X-RateLimit-Interval-Seconds``. Once
        seen, the pace is 97% of that (under a configured ceiling), so the quota is never hit;
        the same statement seen again changes nothing. Values that are not positive numbers are
        ignored.
        """
        if fill_rate is None or interval is None:
            return
        key = (fill_rate, interval)
        if key == self._advertised:
            return
        self._advertised = key
        try:
            rate = float(fill_rate) / float(interval)
        except (ValueError, ZeroDivisionError):
            return
        if not rate > 0 or rate == float("inf"):
            return
        rate = max(0.1, rate * self.MARGIN)
        if self._configured > 0:
            rate = min(rate, self._configured)
        # The stated quota is also a ceiling: probing above it would only earn 429s.
        self.ceiling = rate
        self.bucket.set_rate(rate, capacity=1.0)
        self._changed_at = self._clock()
        self.learned = True
        self._since_limit = 0

    def limited(self, *, sent_at: float | None = None) -> float:
        """The API answered 429: pace just under its measured quota; return the rate now used.

        With fewer than two recent successes there is nothing to measure the quota by (the
        ``Retry-After`` pause alone applies), and the pace is left as it is. A 429 to a request
        sent (``sent_at``, same clock) before the pace last changed is about the old pace: every
        worker in flight in a burst gets one, and they change nothing.
        """
        now = self._clock()
        self._prune(now)
        if sent_at is not None and self._changed_at is not None and sent_at < self._changed_at:
            return self.bucket.rate
        again = self._last_limited is not None and now - self._last_limited < self.MEMORY
        self._last_limited = now
        self._changed_at = now
        if self.learned and not self.bucket.unlimited:
            # Limited at a pace it chose. A lone 429 is jitter in when requests arrive (each
            # costs a Retry-After pause of every worker, far more than a percent of pace
            # earns): never probe above this pace again. Another one soon after: the pace is
            # too high, 3% lower.
            rate = max(0.1, self.bucket.rate * (self.MARGIN if again else 1.0))
            self.ceiling = min(self.ceiling, rate) if self.ceiling > 0 else rate
            self.bucket.set_rate(rate, capacity=1.0)
            self._since_limit = 0
            return self.bucket.rate
        measured = self.busiest_second()
        if measured < 2:
            return self.bucket.rate
        rate = max(1.0, measured * self.MARGIN)
        if self.ceiling > 0:
            rate = min(rate, self.ceiling)
        if self.bucket.unlimited or rate < self.bucket.rate:
            self.bucket.set_rate(rate, capacity=1.0)
        self.learned = True
        self._since_limit = 0
        return self.bucket.rate
