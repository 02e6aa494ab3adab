"""Retry decisions, kept free of I/O so they can be tested with plain values.

Backoff is exponential with *full jitter* (a uniform draw between 0 and the exponential
ceiling): when many workers fail together, full jitter spreads their retries instead of
sending them back in lock-step, which is what keeps a recovering server from tipping over again.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from ztoq.errors import ApiError, NetworkError, RateLimited, RetriableApiError

#: Methods a server must treat as idempotent (RFC 9110): resending them after an unknown
#: outcome cannot create a duplicate.
IDEMPOTENT_METHODS: frozenset[str] = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: Statuses telling that the request was *not* processed, so even a create may be resent. Only
#: 429: a 503 usually means "not processed", but a gateway may answer it after the backend did the
#: work, and a duplicated test log is audit evidence counted twice — so a create that met a 503
#: goes back to the load phase, which looks the entity up before sending it again.
NOT_PROCESSED_STATUSES: frozenset[int] = frozenset({429})

#: Transport failures that happen before the request reaches the server (connecting, or
#: waiting for a pooled connection): resending cannot duplicate anything.
NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a request that failed with a retriable error.

    Attributes:
        retry_count: Retries after the first attempt (0 = never retry).
        base_delay: Ceiling of the first backoff, in seconds; each retry doubles it.
        max_delay: Upper bound of any single backoff, in seconds.
        budget_seconds: Give up once retrying would go past this many seconds after the
            first attempt (0 = no limit other than ``retry_count``).
    """

    retry_count: int = 8
    base_delay: float = 1.0
    max_delay: float = 30.0
    budget_seconds: float = 300.0

    def backoff(self, retry_number: int, draw: float) -> float:
        """The delay before retry ``retry_number`` (1-based), given a uniform draw in [0, 1].

        Args:
            retry_number: 1 for the first retry, 2 for the second, ...
            draw: A random number in [0, 1]; 1.0 gives the full exponential ceiling.

        Returns:
            Seconds to wait, between 0 and ``min(max_delay, base_delay * 2 ** (retry_number - 1))``.
        """
        exponent = min(max(retry_number - 1, 0), 62)  # 2**62 already exceeds any sane cap
        ceiling = min(self.max_delay, self.base_delay * math.ldexp(1.0, exponent))
        return max(0.0, min(1.0, draw)) * ceiling

    def within_budget(self, elapsed: float, delay: float) -> bool:
        """True when waiting ``delay`` more seconds stays inside the retry budget."""
        return self.budget_seconds <= 0 or elapsed + delay <= self.budget_seconds


def parse_retry_after(value: str | None, now: Callable[[], float]) -> float | None:
    """Read a ``Retry-After`` header: delta seconds or an HTTP-date.

    Args:
        value: The header value, or None when absent.
        now: Wall-clock time (seconds since the epoch) to measure an HTTP-date against.

    Returns:
        Seconds to wait (never negative), or None when the header is absent or unreadable.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now())


def safe_to_resend(error: RetriableApiError) -> bool:
    """True when ``error`` proves the request was not processed, so resending a create is safe."""
    if error.status in NOT_PROCESSED_STATUSES:
        return True
    return isinstance(error, NetworkError) and isinstance(error.__cause__, NOT_SENT_ERRORS)


def retry_after_of(error: ApiError) -> float | None:
    """The Retry-After carried by a 429, if any."""
    return error.retry_after if isinstance(error, RateLimited) else None


def plan_retry(
    policy: RetryPolicy,
    error: RetriableApiError,
    *,
    retries: int,
    elapsed: float,
    may_resend: bool,
    retry_after: float | None,
    draw: float,
    max_attempts: int | None = None,
) -> float | str:
    """Decide what follows a retriable failure: the delay before retrying, or why to give up.

    Args:
        policy: The retry policy.
        error: The failure.
        retries: Retries already made for this request.
        elapsed: Seconds since its first attempt.
        may_resend: Whether a request that may have been processed may be sent again.
        retry_after: The answer's ``Retry-After`` in seconds, if any (exact for a 429, a
            minimum for a 503).
        draw: A uniform random number in [0, 1] for the jitter.
        max_attempts: The caller's own cap on attempts (first one included), if any.

    Returns:
        The delay in seconds (a float), or the reason to give up (a str).
    """
    if not may_resend and not safe_to_resend(error):
        return (
            "the request may have been processed, so it was not sent again "
            "(the caller must check before repeating it)"
        )
    if max_attempts is not None and retries + 1 >= max_attempts:
        return f"max_attempts ({max_attempts}) reached"
    if retries >= policy.retry_count:
        return f"retry_count ({policy.retry_count}) reached"
    delay = policy.backoff(retries + 1, draw)
    if retry_after is not None:
        delay = retry_after if isinstance(error, RateLimited) else max(delay, retry_after)
    if not policy.within_budget(elapsed, delay):
        return (
            f"waiting {delay:.1f} s more would pass the retry budget of {policy.budget_seconds:.0f} s "
            f"(network.retry_budget_seconds)"
        )
    return delay


def exhausted(error: RetriableApiError, attempts: int, elapsed: float, reason: str) -> RetriableApiError:
    """``error`` again (same class, status, method, path), its message saying how long ztoq tried."""
    plural = "s" if attempts != 1 else ""
    message = f"{error} Gave up after {attempts} attempt{plural} over {elapsed:.1f} s: {reason}."
    if isinstance(error, RateLimited):
        return RateLimited(
            message,
            retry_after=error.retry_after,
            api=error.api,
            status=error.status,
            method=error.method,
            url=error.path,
        )
    return type(error)(message, api=error.api, status=error.status, method=error.method, url=error.path)
