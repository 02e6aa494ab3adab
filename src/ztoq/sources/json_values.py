"""Lenient readers of JSON members, shared by the source decoders.

A member that is missing, null or of another type than the vendor document says becomes None (or
empty): decoders never raise on odd input, and mapping decides what an absent value means.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def number(value: Any) -> int | None:
    """A count, an index or a duration: a JSON integer only (not a boolean)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def text(value: Any) -> str | None:
    """A JSON string, else None."""
    return value if isinstance(value, str) else None


def fields(value: Any) -> dict[str, Any]:
    """A JSON object as a new dict (custom fields), else empty."""
    return dict(value) if isinstance(value, Mapping) else {}


def items(value: Any) -> Sequence[Any]:
    """A JSON array, else empty."""
    return value if isinstance(value, list) else ()


def labels(value: Any) -> tuple[str, ...]:
    """The strings of a JSON array (labels), in order."""
    return tuple(label for label in items(value) if isinstance(label, str))
