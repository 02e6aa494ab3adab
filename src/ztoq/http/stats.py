"""Counters an ApiSession keeps, and the events it reports for progress and logging.

Nothing here ever holds a header, a query string or a body: paths only, so neither the
counters nor the events can leak a token.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

EventKind = Literal[
    "request",  # an attempt is about to be sent
    "response",  # an answer arrived (any status)
    "network_error",  # the attempt failed in transport
    "retry",  # the session will retry after ``delay`` seconds
    "rate_limited",  # a 429 paused the whole session for ``delay`` seconds
    "throttled",  # the client-side token bucket made a request wait ``delay`` seconds
    "reauthenticated",  # a 401 made the session renew its credentials
    "gave_up",  # retries or the retry budget are exhausted
]


@dataclass(frozen=True)
class SessionEvent:
    """Something an ApiSession did, for progress bars and logs.

    Attributes:
        kind: What happened.
        api: "Zephyr" or "qTest".
        method: HTTP method.
        path: Request path relative to the base URL, without query string.
        status: HTTP status when there was an answer.
        attempt: 1 for the first attempt of a request, 2 for its first retry, ...
        delay: Seconds waited or about to be waited (retry, rate_limited, throttled).
        message: Human-readable detail (never carries credentials).
    """

    kind: EventKind
    api: str
    method: str
    path: str
    status: int | None = None
    attempt: int = 1
    delay: float = 0.0
    message: str = ""


EventCallback = Callable[[SessionEvent], None]


@dataclass
class SessionStats:
    """Thread-safe counters of one session; ``snapshot()`` gives a plain dict."""

    requests_by_method: Counter[str] = field(default_factory=Counter)
    responses_by_class: Counter[str] = field(default_factory=Counter)
    network_errors: int = 0
    retries: int = 0
    gave_up: int = 0
    reauthentications: int = 0
    rate_limit_waits: int = 0
    rate_limit_wait_seconds: float = 0.0
    throttle_waits: int = 0
    throttle_wait_seconds: float = 0.0
    bytes_sent: int = 0
    bytes_received: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def request(self, method: str, sent_bytes: int) -> None:
        with self._lock:
            self.requests_by_method[method] += 1
            self.bytes_sent += sent_bytes

    def response(self, status: int, received_bytes: int) -> None:
        with self._lock:
            self.responses_by_class[f"{status // 100}xx"] += 1
            self.bytes_received += received_bytes

    def add(self, name: str, amount: int = 1) -> None:
        """Increment one of the integer counters (network_errors, retries, gave_up, reauthentications)."""
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def waited(self, kind: Literal["rate_limit", "throttle"], seconds: float) -> None:
        """Count one wait of ``seconds`` caused by a 429 pause or by client-side throttling."""
        if seconds <= 0:
            return
        with self._lock:
            if kind == "rate_limit":
                self.rate_limit_waits += 1
                self.rate_limit_wait_seconds += seconds
            else:
                self.throttle_waits += 1
                self.throttle_wait_seconds += seconds

    def snapshot(self) -> dict[str, Any]:
        """All counters as a JSON-ready dict."""
        with self._lock:
            return {
                "requests": sum(self.requests_by_method.values()),
                "requests_by_method": dict(sorted(self.requests_by_method.items())),
                "responses_by_class": dict(sorted(self.responses_by_class.items())),
                "network_errors": self.network_errors,
                "retries": self.retries,
                "gave_up": self.gave_up,
                "reauthentications": self.reauthentications,
                "rate_limit_waits": self.rate_limit_waits,
                "rate_limit_wait_seconds": round(self.rate_limit_wait_seconds, 3),
                "throttle_waits": self.throttle_waits,
                "throttle_wait_seconds": round(self.throttle_wait_seconds, 3),
                "bytes_sent": self.bytes_sent,
                "bytes_received": self.bytes_received,
            }
