"""The content hash used everywhere to decide what changed."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(obj: Any) -> str:
    """Serialise ``obj`` canonically: sorted keys, no whitespace, UTF-8 kept as is.

    Args:
        obj: Any JSON-serialisable value.

    Returns:
        The canonical JSON text; equal values always give equal text.
    """
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(obj: Any) -> str:
    """The SHA-256 hex digest of the canonical JSON of ``obj``.

    Args:
        obj: Any JSON-serialisable value (a payload as received or planned).

    Returns:
        64 lowercase hex characters.
    """
    return hashlib.sha256(canonical_json(obj).encode("utf-8")).hexdigest()
