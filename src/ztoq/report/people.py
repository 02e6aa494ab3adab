"""Unmatched users, once per person: the Jira users no qTest user stood for, and where they appeared.

Each value naming an unmatched person is one problem (``unmapped_user``, or
``custom_field_unconvertible`` for a user field without a default user) whose detail names the
accounts (``account_ids``, or ``account_id`` for a run's assignee). A project where one person who
left ran 300 executions has 300 such problems; this section has one line for them, with how many
values, which fields and a few of the entities, so the fix (a ``mappings.users`` entry, see
``ztoq users plan``) is plain.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ztoq.report.sections import EntityRef, ProblemItem

#: Entities listed per person.
EXAMPLES = 5
_CODES = frozenset({"unmapped_user", "custom_field_unconvertible"})


@dataclass(frozen=True)
class UnmatchedUser:
    """One Jira user no qTest user stood for.

    Attributes:
        account: the Jira account id (or user key).
        values: how many values named them.
        fields: the fields they were named in ("Executed by", "Assigned To", "Reviewer", ...).
        entity_types: values per entity type, most first.
        examples: the first entities naming them (at most :data:`EXAMPLES`).
    """

    account: str
    values: int
    fields: tuple[str, ...]
    entity_types: tuple[tuple[str, int], ...]
    examples: tuple[EntityRef, ...]


def _accounts(item: ProblemItem) -> list[str]:
    detail = item.detail if isinstance(item.detail, dict) else {}
    found = detail.get("account_ids")
    accounts = [str(a) for a in found] if isinstance(found, list) else []
    single = detail.get("account_id")
    if isinstance(single, str) and single:
        accounts.append(single)
    return accounts


def unmatched_users(items: Iterable[ProblemItem]) -> tuple[UnmatchedUser, ...]:
    """The unmatched people of ``items``, most values first (pure)."""
    values: Counter[str] = Counter()
    fields: dict[str, dict[str, None]] = {}
    types: dict[str, Counter[str]] = {}
    examples: dict[str, dict[tuple[str, str], EntityRef]] = {}
    for item in items:
        if item.code not in _CODES:
            continue
        for account in dict.fromkeys(_accounts(item)):
            values[account] += 1
            if item.field:
                fields.setdefault(account, {})[item.field] = None
            types.setdefault(account, Counter())[item.entity.entity_type] += 1
            seen = examples.setdefault(account, {})
            if len(seen) < EXAMPLES:
                seen.setdefault((item.entity.entity_type, item.entity.source_key), item.entity)
    return tuple(
        UnmatchedUser(
            account,
            count,
            tuple(fields.get(account, {})),
            tuple(sorted(types[account].items(), key=lambda kv: (-kv[1], kv[0]))),
            tuple(examples[account].values()),
        )
        for account, count in sorted(values.items(), key=lambda kv: (-kv[1], kv[0]))
    )
