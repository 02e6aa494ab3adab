"""What load does with one planned entity: a pure decision, shared by load and preflight.

Load acts on it (:mod:`ztoq.pipeline.load`); the dry run counts it (:mod:`ztoq.pipeline.preflight`),
so what the dry run says load would send is, by construction, what load sends.
"""

from __future__ import annotations

from enum import StrEnum

from ztoq.store.records import TARGET_STATES, MappingRecord, PlannedRecord


class LoadAction(StrEnum):
    """The five things load can do with a planned entity."""

    #: Not in qTest: record the intent, then create it.
    CREATE = "create"
    #: A previous run recorded the intent but not the answer: look for it in qTest by its Zephyr
    #: key first, adopt it when found, create it otherwise.
    RECONCILE = "reconcile"
    #: In qTest with other content: update it in place (a new version, never a copy).
    UPDATE = "update"
    #: A test log whose execution did not change (only its plan moved because its test case was
    #: edited since): it stays as it is, bound to the version that was executed.
    KEEP = "keep"
    #: In qTest with exactly this content: nothing to send.
    UNCHANGED = "unchanged"

    @property
    def sends(self) -> bool:
        """Whether this action sends a write to qTest (at least possibly)."""
        return self in (LoadAction.CREATE, LoadAction.RECONCILE, LoadAction.UPDATE)

    @property
    def summary(self) -> str:
        """How the dry run counts it: "create", "update" or "unchanged"."""
        if self in (LoadAction.CREATE, LoadAction.RECONCILE):
            return "create"
        return "update" if self is LoadAction.UPDATE else "unchanged"


def decide_load(planned: PlannedRecord, mapping: MappingRecord | None) -> LoadAction:
    """What load does with ``planned``, given its mapping (None when it has none).

    A mapping left in state ``deleted`` (rolled back, or deleted in qTest by propagation) counts
    as none: the entity is created anew.
    """
    if mapping is None or mapping.state == "deleted":
        return LoadAction.CREATE
    if mapping.target_id is None:
        return LoadAction.RECONCILE if mapping.state == "intent" else LoadAction.CREATE
    if mapping.state in TARGET_STATES and mapping.loaded_hash == planned.content_hash:
        return LoadAction.UNCHANGED
    if (
        planned.entity_type == "test_log"
        and mapping.loaded_source_hash is not None
        and mapping.loaded_source_hash == planned.source_hash
    ):
        return LoadAction.KEEP
    return LoadAction.UPDATE
