"""The proposed ``users-map.yaml`` of ``ztoq users plan --write-map``: edit it, then pass it back.

One line per person: matched people as ``"<account>": "<qTest login>"`` entries, unmatched ones
as commented-out entries to fill in. A comment on each line names the person (display name and
e-mail when known), how they were matched and how many values name them. Keys and values are
written JSON-quoted, which YAML reads as plain strings (account ids hold colons).

The file is read back through ``mappings.users_file`` (:func:`ztoq.config.load_users_file`); its
``users`` can also be pasted under ``mappings.users``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ztoq.pipeline.users_plan import BY_NAME, PersonPlan, UsersPlan


def _who(person: PersonPlan) -> str:
    name = person.display_name or "name unknown"
    return f"{name} <{person.email}>" if person.email else name


def _line(person: PersonPlan) -> str:
    key = json.dumps(person.account, ensure_ascii=False)
    count = f"{person.total} reference{'s' if person.total != 1 else ''}"
    login = person.qtest_login
    if login is None:
        why = person.note or "no qTest user matched"
        return f'  # {key}: ""  # {_who(person)}: {why}; {count}'
    value = json.dumps(login, ensure_ascii=False)
    check = ": check it" if person.matched_by == BY_NAME else ""
    return f"  {key}: {value}  # {_who(person)}, matched by {person.matched_by}{check}; {count}"


def render_users_map(plan: UsersPlan) -> str:
    """The proposed users map as YAML text (deterministic: the same plan gives the same text)."""
    unmatched = len(plan.unmatched())
    lines = [
        f"# Jira users of Zephyr project {plan.project_key} -> qTest users of project "
        f"{plan.qtest_project_id}, proposed by `ztoq users plan`.",
        f"# Names and e-mails from {plan.names_from}.",
        "# Review it, fill in the commented-out entries you can, then pass it back with",
        "#   mappings:",
        "#     users_file: users-map.yaml",
        "# Entries written under mappings.users win over this file. A person left out gets",
        "# mappings.default_user (where a field needs a user) and is named in the text.",
        f"# {len(plan.people)} people, {unmatched} unmatched.",
        "users:" if plan.people else "users: {}",
    ]
    lines += [_line(person) for person in plan.people]
    return "\n".join(lines) + "\n"


def write_users_map(plan: UsersPlan, path: Path) -> Path:
    """Write the proposed users map to ``path`` (its folder is created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_users_map(plan), encoding="utf-8")
    return path
