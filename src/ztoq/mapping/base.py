"""What every mapping function returns, and references to other entities by source key.

The typed plan itself lives in the leaf module :mod:`ztoq.plan` (store, load, validate and
preflight read it too); mapping re-exports it so mapping code has one place to import from.
"""

from __future__ import annotations

from ztoq.plan import (
    KEPT_IN_TEXT,
    REF_KEY,
    PlannedEntity,
    Problem,
    find_placeholders,
    find_refs,
    parse_ref,
    ref,
    replace_placeholders,
    resolve_refs,
)

__all__ = [
    "KEPT_IN_TEXT",
    "REF_KEY",
    "PlannedEntity",
    "Problem",
    "find_placeholders",
    "find_refs",
    "parse_ref",
    "ref",
    "replace_placeholders",
    "resolve_refs",
]
