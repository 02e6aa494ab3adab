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
    """Paces requests to ``rate`` per second, one at a time: no bursts beyond ``capacity``.

    Quotas are counted over sliding windows (Zephyr's, Jira Data Center's, qTest's gateways), so
    a burst on top of a steady pace earns 429s; and a caller that slept too long (the event loop
    busy elsewhere) must not send its missed turns at once. So a token is taken only when one is
    there, never owed: after a stall the callers resume one per ``1 / rate``, and the requests
    sent within any second never exceed the rate plus the tokens kept (``capacity``: 1, or what
    a learned quota leaves over the pace, see :class:`QuotaLearner`).
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
        """Wait for a token; return the seconds waited.

        Callers queue on a lock, first come first served, and only the first sleeps (until its
        token is there): a token makes one caller send, never every caller wake up to find it gone.
        """
        if self.unlimited:
            return 0.0
        start = self._clock()
        queued = self._lock.locked()
        slept = False
        async with self._lock:
            while not self.unlimited:
                wait = self.take()
                if wait <= 0:
                    break
                await self._sleep(wait)
                slept = True
        # Time queued behind other callers is time throttled too.
        return max(0.0, self._clock() - start) if queued or slept else 0.0


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

    Bouncing off a quota wastes it: every 429 costs a ``Retry-After`` pause (at least a second)
    of the whole session. So on the first 429 the quota is taken as the most requests the API
    accepted in any one second of the last ten, counted by when they were sent (the second just
    before the 429 may include a pause, so it would underestimate; answers may come back bunched,
    sends do not), and the bucket paces at 97% of it, holding what the quota leaves over that
    (see ``_pace``). After that:

    - a 429 at the learned pace is arrival jitter (requests sent evenly reach the server bunched):
      the margin shrinks 2% (to 85% at least), and each ``RECOVER_AFTER`` seconds without one
      gives a step back (up to 97%: jitter comes in spells, a margin lost for good would leave
      the quota a few percent idle for the rest of the run); when the API accepted clearly fewer than the pace
      in every second (another client on the same token, or a smaller quota), the quota is that;
    - a 429 to a request sent before the pace last changed (every worker in flight in a burst
      gets one) changes nothing;
    - the pace is never raised between probes. To notice a quota that grew, it probes rarely:
      ``PROBE_AFTER`` seconds after learning, for ``PROBE_SECONDS`` at 110% of the quota. A probe
      the API refused costs one 429 and doubles the wait before the next (up to
      ``PROBE_MAX_AFTER``); one it accepted clearly above the quota raises the quota to what it
      accepted. Each probe also gives back one step of margin lost to jitter.

    A quota stated in the answers' headers is paced under and never probed; a rate configured
    by the user is a ceiling the learner never exceeds.
    """

    WINDOW = 1.0
    MEMORY = 10.0
    MARGIN = 0.97
    JITTER_STEP = 0.98
    MIN_MARGIN = 0.85
    #: Accepted below this share of the pace in its busiest second: the quota is smaller.
    SHORTFALL = 0.9
    #: A second counted by when its requests were sent may hold a request or two more than the
    #: API counted: a probe proves a higher quota only beyond this.
    NOISE = 1.02
    PROBE_AFTER = 300.0
    PROBE_MAX_AFTER = 1800.0
    PROBE_SECONDS = 2.0
    PROBE_STEP = 1.1
    #: Seconds without a 429 after which one step of the margin lost to jitter is given back.
    RECOVER_AFTER = 60.0
    #: The most tokens the bucket holds at a learned pace (see ``_pace``).
    MAX_CAPACITY = 2.0

    def __init__(self, bucket: TokenBucket, *, clock: Clock = time.monotonic) -> None:
        self.bucket = bucket
        self._configured = bucket.rate  # 0: none configured
        self._clock = clock
        self._recent: deque[float] = deque()
        #: The quota learned or stated (requests per second); None until known.
        self.quota: float | None = None
        self.margin = self.MARGIN
        self.stated = False
        self.probes = 0
        self._changed_at: float | None = None
        self._advertised: tuple[str, str] | None = None
        self._probe_after = self.PROBE_AFTER
        self._next_probe = float("inf")
        self._probe_until: float | None = None
        self._calm_since = float("inf")

    @property
    def learned(self) -> bool:
        """True once the quota is known (from a 429 or from the answers' headers)."""
        return self.quota is not None

    def _prune(self, now: float) -> None:
        while self._recent and now - self._recent[0] > self.MEMORY:
            self._recent.popleft()

    def busiest_second(self) -> int:
        """The most accepted requests sent within any one-second window of the remembered ten seconds."""
        best, start = 0, 0
        times = sorted(self._recent)
        for end in range(len(times)):
            while times[end] - times[start] > self.WINDOW:
                start += 1
            best = max(best, end - start + 1)
        return best

    def _pace(self, rate: float) -> None:
        if self._configured > 0:
            rate = min(rate, self._configured)
        rate = max(0.1, rate)
        # A bucket holding one token loses the time by which each sleeper wakes late (the event
        # loop busy with other answers: 5 to 20 % of the pace, measured). Holding what the quota
        # leaves over the pace (at most 2) lets a late caller keep its turn, while the requests
        # sent in any one second stay at most pace + capacity <= quota.
        spare = 0.0 if self.quota is None else self.quota - rate
        self.bucket.set_rate(rate, capacity=min(self.MAX_CAPACITY, max(1.0, spare)))
        self._changed_at = self._clock()

    def success(self, *, sent_at: float | None = None) -> None:
        """Count a request the API accepted, sent at ``sent_at`` (same clock; default: now)."""
        now = self._clock()
        self._recent.append(now if sent_at is None else sent_at)
        self._prune(now)
        if self.quota is None or self.stated:
            return
        if self._probe_until is not None:
            if now >= self._probe_until:
                self._end_probe(now, refused=False)
        elif self.margin < self.MARGIN and now - self._calm_since >= self.RECOVER_AFTER:
            self.margin = min(self.MARGIN, self.margin / self.JITTER_STEP)
            self._calm_since = now
            self._pace(self.quota * self.margin)
        elif now >= self._next_probe:
            if self._configured > 0 and self.quota * self.margin >= self._configured:
                self._next_probe = float("inf")  # already at the configured pace: nothing to find
                return
            self.probes += 1
            self._probe_until = now + self.PROBE_SECONDS
            self._pace(self.quota * self.PROBE_STEP)

    def _end_probe(self, now: float, *, refused: bool) -> None:
        assert self.quota is not None
        self._probe_until = None
        measured = self.busiest_second()
        if measured > self.quota * self.NOISE:  # the API accepted more than the quota in one second
            self.quota = float(measured)
            self._probe_after = self.PROBE_AFTER
        elif refused:
            self._probe_after = min(self.PROBE_MAX_AFTER, self._probe_after * 2)
        self.margin = min(self.MARGIN, self.margin / self.JITTER_STEP)
        self._next_probe = now + self._probe_after
        self._pace(self.quota * self.margin)

    def advertised(self, fill_rate: str | None, interval: str | None) -> None:
        """Pace just under a quota the API states in its answers' headers.

        Jira Data Center's rate limiting is a token bucket it describes on every answer:
        ``X-RateLimit-FillRate`` tokens are added every ``X-RateLimit-Interval-Seconds``. Once
        seen, the pace is 97% of that (under a configured ceiling) and never probed above, so
        the quota is never hit; the same statement seen again changes nothing. Values that are
        not positive numbers are ignored.
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
        self.quota = rate
        self.stated = True
        self._probe_until = None
        self._next_probe = float("inf")
        self._pace(rate * self.margin)

    def limited(self, *, sent_at: float | None = None) -> float:
        """The API answered 429 to a request sent at ``sent_at`` (same clock); return the rate now used.

        With fewer than two recent successes there is nothing to measure the quota by (the
        ``Retry-After`` pause alone applies), and the pace is left as it is.
        """
        now = self._clock()
        self._prune(now)
        if sent_at is not None and self._changed_at is not None and sent_at < self._changed_at:
            return self.bucket.rate  # about an earlier pace
        if self._probe_until is not None:
            self._end_probe(now, refused=True)
            return self.bucket.rate
        measured = self.busiest_second()
        if self.quota is None:
            if measured < 2:
                return self.bucket.rate
            self.quota = float(measured)
            self._next_probe = now + self._probe_after
        elif 2 <= measured < self.bucket.rate * self.SHORTFALL:
            self.quota = float(measured)  # the token is shared, or the quota shrank
        else:
            self.margin = max(self.MIN_MARGIN, self.margin * self.JITTER_STEP)
        self._calm_since = now
        self._pace(self.quota * self.margin)
        return self.bucket.rate
