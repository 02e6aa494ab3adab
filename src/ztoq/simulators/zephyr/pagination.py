"""Query parameters and paging of the simulated Zephyr Scale Cloud v2 API (pure functions).

Two paging styles exist side by side in the vendor API:

* offset pages (``startAt``/``maxResults`` in, ``PagedList`` out) on every list endpoint: the
  server caps ``maxResults`` and echoes the value it really used, so a client that trusts its own
  page size skips items once it asks for more than the cap;
* cursor pages (``startAtId``/``limit`` in, ``nextStartAtId``/``limit`` out) on the two NextGen
  endpoints, ordered by entity id.

Nothing here knows about HTTP or the state; the app turns ``ZephyrApiError`` into the spec's
``Error`` body and builds the ``next`` URLs.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: The spec's default page size for both paging styles.
DEFAULT_MAX_RESULTS = 10
DEFAULT_LIMIT = 10

_INT_RE = re.compile(r"^[+-]?[0-9]+$")
# The spec writes every date-time as yyyy-MM-dd'T'HH:mm:ss'Z'; clients also send offsets and
# fractions, which the real API accepts, so any ISO-8601 date-time with a zone is taken.
_DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class ZephyrApiError(Exception):
    """An error answer of the simulated API: an HTTP status and the spec's ``Error`` body."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"{status}: {message}")

    def body(self) -> dict[str, object]:
        """The spec's ``Error`` schema: ``{"errorCode": int, "message": str}``."""
        return {"errorCode": self.status, "message": self.message}


def parse_int(value: str | None, name: str, *, default: int | None, minimum: int) -> int | None:
    """Parse an integer query or path parameter; 400 when it is not an integer or is too small."""
    if value is None or value == "":
        return default
    if not _INT_RE.match(value.strip()):
        raise ZephyrApiError(400, f"{name} must be an integer, got '{value}'.")
    number = int(value)
    if number < minimum:
        raise ZephyrApiError(400, f"{name} must be greater than or equal to {minimum}.")
    return number


def parse_bool(value: str | None, name: str, *, default: bool = False) -> bool:
    """Parse a boolean query parameter (``true``/``false``, any case); 400 otherwise."""
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    raise ZephyrApiError(400, f"{name} must be true or false, got '{value}'.")


def parse_datetime(value: str | None, name: str) -> datetime | None:
    """Parse a date-time query parameter (``yyyy-MM-dd'T'HH:mm:ss'Z'`` or another ISO zone)."""
    if value is None or value == "":
        return None
    text = value.strip()
    if not _DATETIME_RE.match(text):
        raise ZephyrApiError(400, f"{name} must be a date-time in the format yyyy-MM-dd'T'HH:mm:ss'Z'.")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        raise ZephyrApiError(400, f"{name} is not a valid date-time: {exc}.") from exc


def format_datetime(moment: datetime) -> str:
    """Format a moment as the API serves it: ``yyyy-MM-dd'T'HH:mm:ss'Z'`` in UTC."""
    return moment.astimezone(UTC).strftime(DATETIME_FORMAT)


def parse_served_datetime(text: str) -> datetime | None:
    """Read back a stored date-time (as served); None when it is not one."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, AttributeError):
        return None


@dataclass(frozen=True)
class OffsetRequest:
    """The page asked for, after validation and the server cap."""

    start_at: int
    max_results: int  # the value really used (capped), which the response echoes
    requested: int  # what the client asked for


def offset_request(query: Mapping[str, str], cap: int) -> OffsetRequest:
    """Validate ``startAt``/``maxResults`` and apply the server cap.

    The spec gives ``maxResults`` a minimum of 1 and ``startAt`` a minimum of 0, so 0 (or less)
    and non-integers answer 400. A value above ``cap`` is silently lowered, as the spec warns:
    "the server reserves the right to impose a maxResults limit that is lower than the value
    that a client provides".
    """
    start_at = parse_int(query.get("startAt"), "startAt", default=0, minimum=0)
    requested = parse_int(query.get("maxResults"), "maxResults", default=DEFAULT_MAX_RESULTS, minimum=1)
    assert start_at is not None  # defaults given
    assert requested is not None
    return OffsetRequest(start_at=start_at, max_results=min(requested, max(1, cap)), requested=requested)


@dataclass(frozen=True)
class OffsetPage(Generic[T]):
    """One offset page: the ``PagedList`` fields and the values."""

    values: list[T]
    start_at: int
    max_results: int
    total: int

    @property
    def is_last(self) -> bool:
        """True when no item follows this page."""
        return self.start_at + len(self.values) >= self.total

    @property
    def next_start_at(self) -> int | None:
        """The ``startAt`` of the next page, or None on the last page."""
        return None if self.is_last else self.start_at + self.max_results


def offset_page(items: Sequence[T], start_at: int, max_results: int) -> OffsetPage[T]:
    """Slice one page out of ``items`` (already filtered and ordered)."""
    values = list(items[start_at : start_at + max_results])
    return OffsetPage(values=values, start_at=start_at, max_results=max_results, total=len(items))


@dataclass(frozen=True)
class CursorRequest:
    """The cursor page asked for, after validation and the server cap."""

    start_at_id: int
    limit: int  # the value really used (capped), which the response echoes
    requested: int


def cursor_request(query: Mapping[str, str], cap: int) -> CursorRequest:
    """Validate ``startAtId``/``limit`` (NextGen endpoints) and apply the server cap.

    The addendum gives ``limit`` a minimum of 1 and a maximum of 1000 and ``startAtId`` a minimum
    of 0. A limit above the cap is lowered rather than refused: the addendum says the server "may
    enforce a lower limit; check 'limit' in the response".
    """
    start_at_id = parse_int(query.get("startAtId"), "startAtId", default=0, minimum=0)
    requested = parse_int(query.get("limit"), "limit", default=DEFAULT_LIMIT, minimum=1)
    assert start_at_id is not None  # defaults given
    assert requested is not None
    return CursorRequest(start_at_id=start_at_id, limit=min(requested, max(1, cap)), requested=requested)


@dataclass(frozen=True)
class CursorPage(Generic[T]):
    """One cursor page: the values, the limit used and the id the next page starts at."""

    values: list[T]
    limit: int
    next_start_at_id: int | None  # None on the last page


def cursor_page(items: Sequence[T], id_of: Callable[[T], int], start_at_id: int, limit: int) -> CursorPage[T]:
    """Take up to ``limit`` items with id >= ``start_at_id`` from ``items`` ordered by id.

    ``nextStartAtId`` is the id of the first item of the following page (one item of look-ahead),
    so it is None exactly when this page is the last one and never points at an empty page.
    """
    first = bisect_left(items, start_at_id, key=id_of)
    window = list(items[first : first + limit + 1])
    values = window[:limit]
    next_id = id_of(window[limit]) if len(window) > limit else None
    return CursorPage(values=values, limit=limit, next_start_at_id=next_id)


def offset_body(page: OffsetPage[Any], values: list[Any], next_url: str | None) -> dict[str, Any]:
    """The ``PagedList`` body; ``next`` is left out on the last page (it is optional and not nullable)."""
    body: dict[str, Any] = {}
    if next_url is not None and not page.is_last:
        body["next"] = next_url
    body.update(
        {
            "startAt": page.start_at,
            "maxResults": page.max_results,
            "total": page.total,
            "isLast": page.is_last,
            "values": values,
        }
    )
    return body


def cursor_body(page: CursorPage[Any], values: list[Any], next_url: str | None) -> dict[str, Any]:
    """The addendum's ``CursorPagedList`` body; ``next`` and ``nextStartAtId`` are null on the last page."""
    return {
        "next": next_url if page.next_start_at_id is not None else None,
        "nextStartAtId": page.next_start_at_id,
        "limit": page.limit,
        "values": values,
    }
