"""Wire conventions every endpoint of the simulated Zephyr Scale Server API shares (pure functions).

* errors: ``ServerApiError`` carries a status and one message; the app answers it with Jira's
  error body ``{"errorMessages": ["..."]}`` (``{"errorMessages": [...], "errors": {}}`` on Jira's
  own REST API);
* paging: ``startAt`` (default 0) and ``maxResults`` (default 200, the spec's), the latter
  silently lowered to the server cap; the answer is a plain JSON array;
* ``fields``: a comma-separated list of top-level field names; unknown names are ignored, as the
  spec says ("Inexistent fields will be ignored").

Nothing here knows about HTTP or the state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from ztoq.vendor import ZEPHYR_SERVER_DEFAULT_MAX_RESULTS

T = TypeVar("T")

_INT_RE = re.compile(r"^[+-]?[0-9]+$")


class ServerApiError(Exception):
    """An error answer of the simulated API: an HTTP status and one message."""

    def __init__(self, status: int, message: str, *, jira: bool = False) -> None:
        self.status = status
        self.message = message
        self.jira = jira
        super().__init__(f"{status}: {message}")

    def body(self) -> dict[str, Any]:
        """Jira's error body (Jira's own REST API adds an empty ``errors`` map)."""
        return error_body(self.message, jira=self.jira)


def error_body(message: str, *, jira: bool = False) -> dict[str, Any]:
    """``{"errorMessages": [message]}``, plus ``"errors": {}`` on Jira's own REST API."""
    body: dict[str, Any] = {"errorMessages": [message]}
    if jira:
        body["errors"] = {}
    return body


def parse_int(value: str | None, name: str, *, default: int, minimum: int = 0) -> int:
    """An integer query parameter; 400 when it is not an integer or is below ``minimum``."""
    if value is None or value == "":
        return default
    if not _INT_RE.match(value):
        raise ServerApiError(400, f"{name} must be an integer, got '{value}'.")
    number = int(value)
    if number < minimum:
        raise ServerApiError(400, f"{name} must be {minimum} or more, got {number}.")
    return number


@dataclass(frozen=True)
class PageRequest:
    """The page asked for, after validation and the server cap."""

    start_at: int
    max_results: int  # the value really used (capped)


def page_request(query: Mapping[str, str], cap: int) -> PageRequest:
    """Validate ``startAt``/``maxResults`` and lower ``maxResults`` to ``cap``.

    Negative or non-integer values answer 400. ``maxResults=0`` is accepted and gives an empty
    page. A value over the cap is lowered without a word, so a client that stops paging when a
    page holds fewer items than it asked for stops too early: exactly the trap a real site sets.
    """
    start_at = parse_int(query.get("startAt"), "startAt", default=0)
    asked = parse_int(query.get("maxResults"), "maxResults", default=ZEPHYR_SERVER_DEFAULT_MAX_RESULTS)
    return PageRequest(start_at=start_at, max_results=min(asked, max(1, cap)))


def page_of(items: Sequence[T], page: PageRequest) -> list[T]:
    """Slice one page out of ``items`` (already filtered and ordered)."""
    return list(items[page.start_at : page.start_at + page.max_results])


def parse_fields(value: str | None) -> frozenset[str] | None:
    """The ``fields`` parameter as a set of names; None (every field) when absent or blank."""
    if value is None:
        return None
    names = frozenset(name.strip() for name in value.split(",") if name.strip())
    return names or None


def select_fields(entity: Mapping[str, Any], fields: frozenset[str] | None) -> dict[str, Any]:
    """The entity with only the named top-level fields (every field when ``fields`` is None)."""
    if fields is None:
        return dict(entity)
    return {name: value for name, value in entity.items() if name in fields}
