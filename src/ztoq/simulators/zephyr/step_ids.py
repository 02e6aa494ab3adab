"""Numeric ids of test case steps and execution steps (they address a step's attachments).

A step's id is derived from its owner and its slot, the order in which the owner's steps were
created: ``owner_id * 1_000_000 + 2 * slot + 1`` for a test case step (the owner id is the id of
the test case's *first* version, which never changes) and ``+ 2`` instead of ``+ 1`` for an
execution step (the owner id is the execution's id). So ids are unique across the simulator,
stable across requests, and the same whenever the same dataset is loaded, even into a simulator
whose dataset gained entities since (a migration's change detection hashes the steps it reads,
ids included). Steps written through the API take the owner's next slots: an overwritten step
never comes back with the same id.

A step given with an ``id`` in the dataset keeps it (the dataset's author keeps them unique).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from ztoq.errors import InputError

Entity = dict[str, Any]
StepOwnerKind = Literal["case", "execution"]

#: Slots per owner: a test case or an execution holds at most this many steps over its life.
SLOTS_PER_OWNER = 500_000
_ID_SPACE = 2 * SLOTS_PER_OWNER


def step_id(owner_id: int, slot: int, kind: StepOwnerKind) -> int:
    """The id of the step in ``slot`` (0 for the first step ever created) of an owner.

    Raises:
        ValueError: when the slot is outside ``0 .. SLOTS_PER_OWNER - 1``.
    """
    if not 0 <= slot < SLOTS_PER_OWNER:
        raise ValueError(f"A test case or execution holds at most {SLOTS_PER_OWNER} steps over its life.")
    return owner_id * _ID_SPACE + 2 * slot + (1 if kind == "case" else 2)


def number_steps(
    steps: Iterable[Entity], owner_id: int, kind: StepOwnerKind, first_slot: int = 0
) -> list[Entity]:
    """Copies of ``steps`` with an ``id`` first; steps that have one keep it.

    Args:
        steps: The owner's steps, in order.
        owner_id: The first version's id of the test case, or the execution's id.
        kind: Whose steps these are.
        first_slot: The slot of the first step (0 for a dataset; the owner's next slot for writes).

    Raises:
        InputError: when a step carries an ``id`` that is not a positive integer.
    """
    out: list[Entity] = []
    for slot, step in enumerate(steps, start=first_slot):
        if "id" in step:
            given = step["id"]
            if not isinstance(given, int) or isinstance(given, bool) or given < 1:
                raise InputError(f"A step id must be a positive integer; got {given!r}.")
            out.append(step)
        else:
            out.append({"id": step_id(owner_id, slot, kind), **step})
    return out


def step_ids(steps: Iterable[Entity]) -> list[int]:
    """The ids of stored steps (every stored step has one)."""
    return [int(step["id"]) for step in steps if isinstance(step.get("id"), int)]
