"""The qTest target's settings as the pipeline reads them: from the store, where extract saved them.

Transform, load, validate and preflight all read the target's fields, statuses and users
through :func:`load_target_fields`, so they agree on one picture of the target project.
"""

from __future__ import annotations

from typing import Any

from ztoq.errors import ConfigError
from ztoq.mapping import TargetFields
from ztoq.store import Repository


def _by_key(repo: Repository, project_key: str, entity_type: str) -> dict[str, Any]:
    return {r.source_key: r.payload for r in repo.iter_source(project_key, entity_type)}


def load_target_fields(repo: Repository, project_key: str) -> TargetFields:
    """The qTest target's settings as extract stored them."""
    settings = _by_key(repo, project_key, "qtest_fields")
    if not settings:
        raise ConfigError(
            "The store has no qTest field settings for this project; run the extract phase with the "
            "qtest section configured (ztoq workflow extract --config <file>)."
        )
    statuses = _by_key(repo, project_key, "qtest_statuses").get("execution", [])
    users = _by_key(repo, project_key, "qtest_users").get("project", [])
    return TargetFields.from_settings(settings, execution_statuses=statuses, users=users)


def source_key_field_ids(fields: TargetFields, label: str) -> dict[str, int | None]:
    """Per qTest object type, the id of the field that holds Zephyr keys (None when there is none)."""
    found: dict[str, int | None] = {}
    for object_type in ("test-cases", "test-runs", "releases"):
        target = fields.field(object_type, label)
        found[object_type] = None if target is None else target.id
    return found
