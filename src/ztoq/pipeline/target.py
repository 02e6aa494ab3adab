"""The qTest target's settings as the pipeline reads them: from the store, where extract saved them.

Transform, load, validate and preflight all read the target's fields, statuses and users
through :func:`load_target_fields`, so they agree on one picture of the target project.
"""

from __future__ import annotations

from typing import Any

from ztoq.errors import ConfigError
from ztoq.mapping import TargetFields
from ztoq.store import Repository, SourceItem


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


#: The stored row (type, key) of the smallest attachment qTest refused as too large (413), with
#: the ``qtest.max_attachment_mb`` in force then: ``{"size": bytes, "configured_mb": float}``.
ATTACHMENT_REFUSED = ("qtest_limits", "attachment_refused")


def attachment_limit(repo: Repository, project_key: str, configured_mb: float) -> int:
    """The largest attachment to send: ``qtest.max_attachment_mb``, or less once qTest refused a smaller file.

    A file qTest answered 413 for is never sent again, nor is any file as large, while the
    configured limit stays what it was (raising it means the site was changed: try again).
    """
    limit = int(configured_mb * 1024 * 1024)
    refused = repo.get_source(project_key, *ATTACHMENT_REFUSED)
    payload = refused.payload if refused is not None and isinstance(refused.payload, dict) else {}
    if payload.get("configured_mb") == configured_mb and isinstance(payload.get("size"), int):
        limit = min(limit, int(payload["size"]) - 1)
    return limit


def remember_refused_attachment(
    repo: Repository, project_key: str, size: int, configured_mb: float, run_id: int
) -> None:
    """Record that qTest refused an attachment of ``size`` bytes as too large (keeps the smallest)."""
    refused = repo.get_source(project_key, *ATTACHMENT_REFUSED)
    payload = refused.payload if refused is not None and isinstance(refused.payload, dict) else {}
    if payload.get("configured_mb") == configured_mb and isinstance(payload.get("size"), int):
        size = min(size, int(payload["size"]))
    item = SourceItem(*ATTACHMENT_REFUSED, {"size": size, "configured_mb": configured_mb})
    repo.upsert_source(project_key, [item], run_id=run_id)
