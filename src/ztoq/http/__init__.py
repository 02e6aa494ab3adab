"""The HTTP layer both API clients share: :class:`ApiSession` and its parts.

- :mod:`ztoq.http.session`: the session (pacing, retries, re-authentication, counters, JSON helpers);
- :mod:`ztoq.http.retry`: pure retry decisions (backoff with full jitter, Retry-After parsing);
- :mod:`ztoq.http.ratelimit`: the token bucket and the session-wide 429 pause;
- :mod:`ztoq.http.stats`: counters and progress events;
- :mod:`ztoq.http.streaming`: streamed uploads (:class:`StreamedBody`) and downloads (:data:`Consume`).
- :mod:`ztoq.http.transport`: the wire under httpx's API (aiohttp: a fraction of httpcore's CPU);
- :mod:`ztoq.http.direct`: JSON requests sent straight through that wire, without httpx's models.
"""

from ztoq.http.answers import IncompleteResponse
from ztoq.http.ratelimit import PauseGate, TokenBucket
from ztoq.http.retry import RetryPolicy, exhausted, parse_retry_after, plan_retry, safe_to_resend
from ztoq.http.session import AfterResponse, ApiSession, AuthProvider, Reauthenticate
from ztoq.http.stats import EventCallback, SessionEvent, SessionStats
from ztoq.http.streaming import Consume, SizeProbe, StreamedBody

__all__ = [
    "AfterResponse",
    "ApiSession",
    "AuthProvider",
    "Consume",
    "EventCallback",
    "IncompleteResponse",
    "PauseGate",
    "Reauthenticate",
    "RetryPolicy",
    "SessionEvent",
    "SessionStats",
    "SizeProbe",
    "StreamedBody",
    "TokenBucket",
    "exhausted",
    "parse_retry_after",
    "plan_retry",
    "safe_to_resend",
]
