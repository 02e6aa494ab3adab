"""Reading loose JSON values the same way everywhere (a leaf module: it imports nothing of ztoq)."""

from __future__ import annotations

from typing import Any


def int_or_none(value: Any) -> int | None:
    """``value`` as an int when it is one, or a string of digits (ids come both ways); else None.

    A JSON ``true``/``false`` is never an id, although Python's bool is an int.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None
