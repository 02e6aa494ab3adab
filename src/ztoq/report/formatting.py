"""Small text helpers shared by the builder and the renderers: numbers, durations, dates, URLs."""

from __future__ import annotations

import re
from datetime import datetime

from ztoq.entities import LOAD_ORDER

#: Entity types in pipeline order (the registry's); other types follow alphabetically.
ENTITY_ORDER: tuple[str, ...] = LOAD_ORDER


#: An absolute http(s) URL with a host and no whitespace or control character anywhere.
_SAFE_URL = re.compile(r"https?://[^\s\x00-\x1f\x7f/?#\\@]+(?:[/?#][^\s\x00-\x1f\x7f]*)?\Z", re.IGNORECASE)


def entity_sort_key(entity_type: str) -> tuple[int, str]:
    """Sort key putting known entity types in pipeline order, then the rest alphabetically.

    Args:
        entity_type: An entity type such as "test_case".

    Returns:
        A key for :func:`sorted`.
    """
    try:
        return (ENTITY_ORDER.index(entity_type), "")
    except ValueError:
        return (len(ENTITY_ORDER), entity_type)


def safe_link(url: str | None) -> str | None:
    """The URL when it is safe to render as a link (absolute http or https with a host), else None.

    Anything else (``javascript:``, ``data:``, relative paths, URLs with spaces, backslashes in the
    host or control characters) is shown as text only.

    Args:
        url: A URL as recorded in the store.

    Returns:
        The unchanged URL, or None.
    """
    if not url or len(url) > 2048 or _SAFE_URL.match(url) is None:
        return None
    return url


def fmt_int(value: int | None) -> str:
    """An integer with thousands separators; an en dash for None.

    Args:
        value: The number.

    Returns:
        e.g. "12,345".
    """
    return "–" if value is None else f"{value:,}"


def fmt_signed(value: int | None) -> str:
    """A difference with its sign ("+3", "−2", "0"); an en dash for None.

    Args:
        value: The difference.

    Returns:
        The signed text.
    """
    if value is None:
        return "–"
    if value > 0:
        return f"+{value:,}"
    if value < 0:
        return f"−{-value:,}"
    return "0"


def fmt_duration(seconds: float | None) -> str:
    """A duration for people: "850 ms", "4.2 s", "3 min 05 s", "2 h 07 min".

    Args:
        seconds: The duration; None when unknown (still running).

    Returns:
        The text; an en dash for None.
    """
    if seconds is None:
        return "–"
    if seconds < 1:
        return f"{round(seconds * 1000)} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def fmt_seconds(seconds: float) -> str:
    """Seconds with one decimal, plus the human duration when over a minute: "754.2 s (12 min 34 s)".

    Args:
        seconds: The duration.

    Returns:
        The text.
    """
    text = f"{seconds:,.1f} s"
    return f"{text} ({fmt_duration(seconds)})" if seconds >= 60 else text


def fmt_dt(value: datetime | None) -> str:
    """A timestamp as ISO 8601 to the second ("2024-05-01 12:00:00+00:00"); an en dash for None.

    Args:
        value: The timestamp.

    Returns:
        The text.
    """
    if value is None:
        return "–"
    return value.replace(microsecond=0).isoformat(sep=" ")


def iso(value: datetime | None) -> str | None:
    """A timestamp in full ISO 8601 for machine-readable output.

    Args:
        value: The timestamp.

    Returns:
        The ISO text, or None.
    """
    return None if value is None else value.isoformat()


def seconds_between(start: datetime, end: datetime | None) -> float | None:
    """Seconds from start to end; None when end is unknown or the two cannot be compared.

    Args:
        start: The start.
        end: The end, or None while running.

    Returns:
        The duration in seconds, or None.
    """
    if end is None:
        return None
    try:
        return (end - start).total_seconds()
    except TypeError:  # one naive, one aware: do not guess a zone
        return None


def shorten(text: str, limit: int) -> str:
    """Text cut to ``limit`` characters with an ellipsis when longer.

    Args:
        text: The text.
        limit: The maximum length.

    Returns:
        The possibly shortened text.
    """
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 entity", "3 entities": the count with thousands separators and the right noun form.

    Args:
        count: The count.
        singular: The noun for one.
        plural_form: The noun for several; ``singular + "s"`` by default.

    Returns:
        The phrase.
    """
    noun = singular if count == 1 else (plural_form or singular + "s")
    return f"{count:,} {noun}"


#: Newest runs shown in HTML and Markdown (the JSON report lists every run).
MAX_RUNS_SHOWN = 25
#: Problem groups shown in HTML and Markdown (the JSON report lists every group).
MAX_GROUPS_SHOWN = 200
#: Longest message or detail text shown in HTML and Markdown before it is cut.
TEXT_LIMIT = 400
