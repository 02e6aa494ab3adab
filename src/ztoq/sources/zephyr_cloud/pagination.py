"""Zephyr Scale pagination as small state machines: no I/O, fed one decoded page at a time.

Use::

    pager = OffsetPaginator(page_size=100)
    while not pager.finished:
        page = await session.get_json(path, {**filters, **pager.params()})
        yield from pager.advance(page)

Two schemes exist in Zephyr Scale Cloud v2:

- offset pages (``startAt``/``maxResults``/``total``/``isLast``) on most list endpoints. The
  server may lower ``maxResults`` below what was asked ("callers should always check the
  returned maxResults"), so the next offset is computed from the *echoed* value: trusting the
  requested size would silently skip every item between the cap and the requested size;
- cursor pages (``limit``/``startAtId``/``nextStartAtId``) on the NextGen endpoints
  ``/testcases/nextgen`` and ``/testexecutions/nextgen``; ``nextStartAtId: null`` ends the list.

Both refuse to loop: a server whose next position does not move forward raises an error
instead of returning the same page forever.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ztoq.errors import FatalApiError


class PaginationStalled(FatalApiError):
    """The API answered a page whose next position does not move forward."""


def _values(page: Mapping[str, Any]) -> list[dict[str, Any]]:
    values = page.get("values")
    return list(values) if isinstance(values, list) else []


def _int(value: object) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    # bool is an int subclass; a JSON true is never a count.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class OffsetPaginator:
    """``startAt``/``maxResults`` paging that trusts the server's echoed ``maxResults``.

    Attributes:
        page_size: The ``maxResults`` asked for (the server may answer with fewer).
        start_at: The offset of the next page to ask for.
        finished: True once the last page has been seen.
        pages: Pages seen so far.
    """

    def __init__(self, page_size: int = 100, start_at: int = 0, *, what: str = "list") -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.page_size = page_size
        self.start_at = start_at
        self.finished = False
        self.pages = 0
        self._what = what

    def params(self) -> dict[str, int]:
        """The query parameters of the next page."""
        return {"startAt": self.start_at, "maxResults": self.page_size}

    def advance(self, page: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Take in one decoded page; return its values and move to the next page.

        Stops on ``isLast: true``, on an empty page, or when the next offset reaches ``total``.

        Raises:
            PaginationStalled: When the next offset would not be past the current one.
        """
        if self.finished:
            raise RuntimeError("advance() called after the last page")
        values = _values(page)
        self.pages += 1
        echoed_start = _int(page.get("startAt"))
        base = self.start_at if echoed_start is None else echoed_start
        echoed_size = _int(page.get("maxResults"))
        # The server's page size wins; if it is missing (or claims fewer than it sent), the
        # number of values received is the only safe step.
        step = max(echoed_size or 0, len(values))
        total = _int(page.get("total"))
        next_start = base + step
        if page.get("isLast") is True or not values or (total is not None and next_start >= total):
            self.finished = True
            return values
        if next_start <= self.start_at:
            raise PaginationStalled(
                f"Zephyr answered the {self._what} page at startAt={self.start_at} with startAt={base} "
                f"and maxResults={echoed_size}, so paging would never move forward; stopping."
            )
        self.start_at = next_start
        return values


class CursorPaginator:
    """``limit``/``startAtId`` paging of the NextGen endpoints; ``nextStartAtId: null`` (or no items) ends it.

    Attributes:
        limit: The ``limit`` asked for (the server may answer with fewer items).
        start_at_id: The cursor of the next page.
        finished: True once the last page has been seen.
        pages: Pages seen so far.
    """

    def __init__(self, limit: int = 100, start_at_id: int = 0, *, what: str = "list") -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.start_at_id = start_at_id
        self.finished = False
        self.pages = 0
        self._what = what

    def params(self) -> dict[str, int]:
        """The query parameters of the next page."""
        return {"limit": self.limit, "startAtId": self.start_at_id}

    def advance(self, page: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Take in one decoded page; return its values and move the cursor.

        Raises:
            PaginationStalled: When ``nextStartAtId`` does not move past the current cursor.
        """
        if self.finished:
            raise RuntimeError("advance() called after the last page")
        values = _values(page)
        self.pages += 1
        next_id = _int(page.get("nextStartAtId"))
        # An empty page ends the list too: a cursor that moves without items could run forever.
        if next_id is None or not values:
            self.finished = True
            return values
        if next_id <= self.start_at_id:
            raise PaginationStalled(
                f"Zephyr answered the {self._what} page at startAtId={self.start_at_id} with "
                f"nextStartAtId={next_id}, so paging would never move forward; stopping."
            )
        self.start_at_id = next_id
        return values
