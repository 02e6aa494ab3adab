"""``ztoq users plan``: every Jira user the Zephyr project names, and the qTest user each one becomes.

The references come from the store (what extract stored, decoded a batch at a time): owners of
test cases, plans and cycles, executors and assignees of executions, and the values of
user-picker custom fields. Zephyr names people by Atlassian account id (Cloud) or Jira user key
(Server/Data Center) only, so their names and e-mails come from Jira's user API when ``jira:`` is
configured (:mod:`ztoq.sources.jira_users`), else from the records themselves where a value
carries one (a user-picker object with a ``displayName``). The qTest users come from the store
too (extract stores them).

Matching (pure, :func:`match_people`): a ``mappings.users`` entry naming an existing qTest user
is kept; otherwise the qTest user with the Jira e-mail, then the only qTest user whose first and
last name equal the display name, then the qTest user whose login is the account itself (Server
user names often are). Who matches nobody keeps today's behaviour: the default user stands in
and the original is named in text.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.errors import safe_path
from ztoq.mapping.fields import display
from ztoq.mapping.lookups import TargetFields, TargetUser, fold
from ztoq.pipeline.source_rows import StoreRows, stored_reader
from ztoq.pipeline.target import load_target_fields
from ztoq.sources.jira_users import JiraUser, JiraUsersClient
from ztoq.store import Repository, open_store

OWNER = "owner"
EXECUTED_BY = "executedBy"
ASSIGNED_TO = "assignedTo"
#: Prefix of the kind of a user-picker custom field's reference ("custom field Reviewer").
CUSTOM = "custom field "

#: How a person was matched to a qTest user ("" when not).
BY_CONFIG = "mappings.users"
BY_EMAIL = "e-mail"
BY_NAME = "display name"
BY_LOGIN = "login"

#: Atlassian account ids: 24 lowercase letters and digits, or "<number>:<uuid>".
_ACCOUNT_ID = re.compile(r"^(?:[0-9a-z]{24}|\d{1,10}:[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12})$")


def looks_like_account(value: str) -> bool:
    """True for an Atlassian account id (a custom field value that can only be a person)."""
    return bool(_ACCOUNT_ID.match(value))


@dataclass
class UserReferences:
    """Account -> kind -> how many values name it, counted record by record."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    #: (custom field name, value) -> count, until the end tells which values are accounts.
    custom: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: Account -> display name, where a record's value carried one.
    names: dict[str, str] = field(default_factory=dict)

    def add(self, account: str | None, kind: str) -> None:
        """Count one member reference (owner, executor, assignee)."""
        if account:
            self.counts.setdefault(account, Counter())[kind] += 1

    def add_custom(self, fields: Mapping[str, Any]) -> None:
        """Count the custom field values that may name a person (decided in :meth:`finish`)."""
        for name, value in fields.items():
            for item in value if isinstance(value, list | tuple) else [value]:
                text = display(item) if isinstance(item, str | Mapping) else ""
                if text and len(text) <= 128 and not any(c.isspace() for c in text):
                    self.custom[(name, text)] += 1
                    shown = item.get("displayName") if isinstance(item, Mapping) else None
                    if isinstance(shown, str) and shown.strip():
                        self.names[text] = shown.strip()

    def finish(self) -> dict[str, Counter[str]]:
        """The counts, with the custom values that are known accounts or look like account ids."""
        known = set(self.counts)
        for (name, value), count in self.custom.items():
            if value in known or looks_like_account(value):
                self.counts.setdefault(value, Counter())[CUSTOM + name] += count
        return self.counts


@dataclass(frozen=True)
class PersonPlan:
    """One Jira user the project names, who they are, and the qTest user they become.

    Attributes:
        account: the account id (Cloud) or user key (Server/Data Center).
        references: kind ("owner", "executedBy", "assignedTo", "custom field X") -> count.
        display_name: from Jira (or the source), "" when unknown.
        email: from Jira, "" when unknown or hidden.
        qtest_user: the matched qTest user, or None.
        matched_by: ``mappings.users``, ``e-mail``, ``display name``, ``login``, or "".
        note: why nobody matched, when that needs saying (several qTest users share the name).
    """

    account: str
    references: tuple[tuple[str, int], ...]
    display_name: str = ""
    email: str = ""
    qtest_user: TargetUser | None = None
    matched_by: str = ""
    note: str = ""

    @property
    def total(self) -> int:
        """How many values name this person."""
        return sum(count for _, count in self.references)

    @property
    def qtest_login(self) -> str | int | None:
        """What the users map names the qTest user by: the login, else the id."""
        if self.qtest_user is None:
            return None
        return self.qtest_user.username or self.qtest_user.email or self.qtest_user.id

    def to_json(self) -> dict[str, Any]:
        """The row as ``--json`` writes it."""
        user = self.qtest_user
        return {
            "account": self.account,
            "display_name": self.display_name,
            "email": self.email,
            "references": dict(self.references),
            "total": self.total,
            "qtest_user_id": None if user is None else user.id,
            "qtest_login": self.qtest_login,
            "matched_by": self.matched_by or None,
            "note": self.note or None,
        }


@dataclass(frozen=True)
class UsersPlan:
    """Every person the project names, most referenced first, and where names came from."""

    project_key: str
    qtest_project_id: int
    names_from: str
    people: tuple[PersonPlan, ...]

    def unmatched(self) -> list[PersonPlan]:
        """The people no qTest user was found for."""
        return [p for p in self.people if p.qtest_user is None]

    def proposed_map(self) -> dict[str, str | int]:
        """``mappings.users`` as proposed: account -> qTest login (or id), matched people only."""
        return {p.account: login for p in self.people if (login := p.qtest_login) is not None}

    def to_json(self) -> dict[str, Any]:
        """The plan as ``--json`` and ``--output-file`` write it."""
        return {
            "project_key": self.project_key,
            "qtest_project_id": self.qtest_project_id,
            "names_from": self.names_from,
            "people": [p.to_json() for p in self.people],
            "unmatched": len(self.unmatched()),
            "proposed_users": self.proposed_map(),
        }


def _full_name(user: TargetUser) -> str:
    return fold(f"{user.first_name} {user.last_name}")


def match_person(
    account: str,
    who: JiraUser | None,
    target: TargetFields,
    configured: Mapping[str, str | int],
) -> tuple[TargetUser | None, str, str]:
    """The qTest user for one account, how it was found, and a note when none was (pure)."""
    if account in configured:
        user = target.user(configured[account])
        if user is not None:
            return user, BY_CONFIG, ""
    if who is not None and who.email:
        wanted = fold(who.email)
        user = next((u for u in target.users if wanted in (fold(u.email), fold(u.username))), None)
        if user is not None:
            return user, BY_EMAIL, ""
    if who is not None and who.display_name.strip():
        named = [u for u in target.users if _full_name(u) == fold(who.display_name)]
        if len(named) == 1:
            return named[0], BY_NAME, ""
        if len(named) > 1:
            ids = ", ".join(str(u.id) for u in named)
            return None, "", f"{len(named)} qTest users are named {who.display_name!r} (ids {ids}); pick one"
    user = target.user(account) if not account.isdigit() else None
    if user is not None:
        return user, BY_LOGIN, ""
    return None, "", ""


def match_people(
    references: Mapping[str, Counter[str]],
    jira: Mapping[str, JiraUser],
    target: TargetFields,
    configured: Mapping[str, str | int],
) -> tuple[PersonPlan, ...]:
    """One plan row per referenced account, most referenced first (pure)."""
    rows = []
    for account, kinds in references.items():
        who = jira.get(account)
        user, how, note = match_person(account, who, target, configured)
        rows.append(
            PersonPlan(
                account=account,
                references=tuple(sorted(kinds.items())),
                display_name=who.display_name if who else "",
                email=who.email if who else "",
                qtest_user=user,
                matched_by=how,
                note=note,
            )
        )
    return tuple(sorted(rows, key=lambda p: (-p.total, p.account)))


def collect_references(repo: Repository, config: ZtoqConfig) -> UserReferences:
    """Every person the stored records of the project name, counted per kind (call ``finish``)."""
    project_key = config.zephyr.project_key
    reader = stored_reader(repo, project_key)
    rows = StoreRows(repo, project_key, config.performance.batch_size)
    refs = UserReferences()
    for case in reader.test_cases(rows):
        refs.add(case.owner, OWNER)
        refs.add_custom(case.custom_fields)
    for plan in reader.test_plans(rows):
        refs.add(plan.owner, OWNER)
        refs.add_custom(plan.custom_fields)
    for cycle in reader.test_cycles(rows):
        refs.add(cycle.owner, OWNER)
        refs.add_custom(cycle.custom_fields)
    for execution in reader.test_executions(rows, with_steps=False):
        refs.add(execution.executed_by, EXECUTED_BY)
        refs.add(execution.assigned_to, ASSIGNED_TO)
        refs.add_custom(execution.custom_fields)
    return refs


async def _jira_users(config: ZtoqConfig, accounts: Iterable[str]) -> dict[str, JiraUser]:
    client = JiraUsersClient.from_config(config.jira, network=config.network)
    try:
        return await client.users(accounts)
    finally:
        await client.aclose()


def plan_users(config: ZtoqConfig) -> UsersPlan:
    """The users plan of the configured project, from its store (and Jira, when configured).

    Args:
        config: the configuration (``jira:`` optional; ``mappings.users`` entries are kept).

    Raises:
        StoreError: the store does not exist or is not a ztoq store.
        ConfigError: the store holds no qTest settings, or ``jira:`` lacks credentials.
        ApiError: Jira refused or failed.
    """
    with open_store(config.database, create_if_empty=False) as store, store.session() as repo:
        target = load_target_fields(repo, config.zephyr.project_key)
        refs = collect_references(repo, config)
    references = refs.finish()
    people_named = {account: JiraUser(account, name) for account, name in refs.names.items()}
    if config.jira.configured:
        jira = {**people_named, **asyncio.run(_jira_users(config, references))}
        names_from = f"Jira ({safe_path(config.jira.base_url)})"  # no user info from the URL
    else:
        jira = people_named
        names_from = "the source records" if jira else "nowhere (no jira: section): account ids only"
    people = match_people(references, jira, target, config.mappings.users)
    return UsersPlan(config.zephyr.project_key, config.qtest.project_id, names_from, people)
