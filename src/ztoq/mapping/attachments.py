"""Zephyr attachments -> qTest attachments: which qTest object each file lands on, under which name.

Where each lands (docs/mapping.md, "Attachments"):

- test case -> the qTest test case (``test-cases``);
- test case step -> the qTest test step at the same position (``test-steps``) of the version
  test runs and logs bind to; a step the migrated test case does not have (its script became one
  step) -> the test case, degraded;
- test plan -> the release it became (``releases``);
- test cycle -> the release the cycle lives under, with the cycle's key in front of the file name
  (qTest has no test-cycle attachments), degraded; a cycle outside any release -> not sent,
  degraded, the file kept in the cache and listed in the report;
- execution -> its test log (``test-logs``); execution step -> the test step log at the same
  position (``test-step-logs``), or the test log when the step results went to its note.

A file larger than ``qtest.max_attachment_mb`` is not sent (degraded, with its size and cache
path). A name qTest would refuse (control characters, path separators, more than 255 characters)
gets the smallest change that it accepts, and is reported as degraded.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ztoq.mapping.base import PlannedEntity, Problem, parse_ref, ref
from ztoq.mapping.steps import step_ref
from ztoq.sources.records import Attachment

#: qTest object type (API path segment) of each place an attachment can land.
OBJECT_TYPES = {
    "test_case": "test-cases",
    "test_step": "test-steps",
    "release": "releases",
    "test_log": "test-logs",
    "step_log": "test-step-logs",
}

#: The longest file name kept as it is.
MAX_NAME = 255

_UNSAFE = re.compile(r"[/\\\x00-\x1f\x7f]")


@dataclass
class AttachmentOwners:
    """What the other planners planned, as the attachment planner needs it.

    Attributes:
        test_case_steps: planned (sent) test case key -> its number of qTest steps.
        releases: keys of the planned (sent) releases (Zephyr test plan keys).
        cycle_releases: test cycle key -> the key of the release it is planned under, or None.
        logs: execution key -> (the reference to its test run, its number of step logs) of each
            planned (sent) test log.
    """

    test_case_steps: dict[str, int] = field(default_factory=dict)
    releases: set[str] = field(default_factory=set)
    cycle_releases: dict[str, str | None] = field(default_factory=dict)
    logs: dict[str, tuple[Any, int]] = field(default_factory=dict)

    @classmethod
    def from_plans(cls, planned: Mapping[str, Iterable[PlannedEntity]]) -> AttachmentOwners:
        """The owners found in the plans of the other types."""
        owners = cls()
        for plans in planned.values():
            owners.add(plans)
        return owners

    def add(self, plans: Iterable[PlannedEntity]) -> None:
        """Take in the owners among planned test cases, releases, test cycles and test logs."""
        for plan in plans:
            if plan.entity_type == "test_case" and not plan.skipped:
                self.test_case_steps[plan.source_key] = len((plan.body or {}).get("test_steps") or ())
            elif plan.entity_type == "release" and not plan.skipped:
                self.releases.add(plan.source_key)
            elif plan.entity_type == "test_cycle":
                parent = parse_ref(plan.parent)
                release = parent[1] if parent and parent[0] == "release" and not plan.skipped else None
                self.cycle_releases[plan.source_key] = release
            elif plan.entity_type == "test_log" and not plan.skipped:
                steps = (plan.body or {}).get("test_step_logs") or ()
                self.logs[plan.source_key] = (plan.parent, len(steps))


def qtest_file_name(name: str) -> tuple[str, str | None]:
    """The name to send, and why it differs from ``name`` (None when it is kept exactly)."""
    changed = _UNSAFE.sub("_", name)
    reasons = ["path separators and control characters became '_'"] if changed != name else []
    if not changed.strip():
        changed, reasons = "attachment", ["it had no name"]
    if len(changed) > MAX_NAME:
        stem, dot, ext = changed.rpartition(".")
        ext = dot + ext if dot and len(ext) <= 16 else ""
        base = stem if ext else changed
        changed = base[: MAX_NAME - len(ext)] + ext
        reasons.append(f"it was shortened to {MAX_NAME} characters")
    return (name, None) if changed == name else (changed, "; ".join(reasons))


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):,.1f} MB"


def plan_attachment(attachment: Attachment, owners: AttachmentOwners, max_bytes: int) -> PlannedEntity:
    """One attachment as a planned qTest attachment (skipped, with its reason, when it cannot be sent)."""
    problems: list[Problem] = []
    planned = PlannedEntity("attachment", attachment.key, None, problems=problems, sort_key=attachment.key)
    where = f"{attachment.name!r} of {attachment.owner_type.replace('_', ' ')} {attachment.owner_key}"
    if attachment.sha256 is None:
        reason = attachment.reason or "it was not downloaded"
        problems.append(
            Problem("skipped", "attachment_not_downloaded", f"The attachment {where} was not sent: {reason}.")
        )
        return planned
    placed = _placement(attachment, owners, problems, where)
    if placed is None:
        return planned
    parent, object_type, extra, prefix = placed
    size = attachment.size or 0
    if size > max_bytes:
        problems.append(
            Problem(
                "degraded",
                "attachment_too_large",
                f"The attachment {where} ({_mb(size)}) is larger than qTest accepts ({_mb(max_bytes)}: "
                "qtest.max_attachment_mb, or less once the site refused a file as too large); it was not "
                f"sent and stays in the cache at {attachment.cache_path}.",
                detail={"size": size, "cache_path": attachment.cache_path},
            )
        )
        return planned
    name, why = qtest_file_name(prefix + attachment.name)
    if why is not None:
        problems.append(
            Problem(
                "degraded",
                "attachment_renamed",
                f"The attachment {where} was sent as {name!r}: {why}.",
                field="name",
            )
        )
    planned.body = {
        "name": name,
        "content_type": attachment.content_type or "application/octet-stream",
        "size": size,
        "sha256": attachment.sha256,
        **extra,
    }
    planned.parent, planned.parent_type = parent, object_type
    return planned


def _placement(
    attachment: Attachment, owners: AttachmentOwners, problems: list[Problem], where: str
) -> tuple[Any, str, dict[str, Any], str] | None:
    """(parent reference, qTest object type, body extras, name prefix), or None when it has no place."""
    kind, key, index = attachment.owner_type, attachment.owner_key, attachment.step_index
    if kind in ("test_case", "test_step") and key in owners.test_case_steps:
        steps = owners.test_case_steps[key]
        if kind == "test_step" and index is not None and index < steps:
            return ref("test_case", key), OBJECT_TYPES["test_step"], {"step": step_ref(key, index + 1)}, ""
        if kind == "test_step":
            problems.append(
                _moved(where, "the migrated test case has no such step; it was attached to the test case")
            )
        return ref("test_case", key), OBJECT_TYPES["test_case"], {}, ""
    if kind == "test_plan" and key in owners.releases:
        return ref("release", key), OBJECT_TYPES["release"], {}, ""
    if kind == "test_cycle" and key in owners.cycle_releases:
        release = owners.cycle_releases[key]
        if release is None:
            problems.append(
                Problem(
                    "degraded",
                    "attachment_without_place",
                    f"The attachment {where} was not sent: qTest has no test-cycle attachments and the "
                    f"cycle is not under a release; it stays in the cache at {attachment.cache_path}.",
                    detail={"cache_path": attachment.cache_path},
                )
            )
            return None
        problems.append(
            _moved(
                where,
                "qTest has no test-cycle attachments; it was attached to release "
                f"{release} with the cycle key in front of its name",
            )
        )
        return ref("release", release), OBJECT_TYPES["release"], {}, f"{key} "
    if kind in ("test_execution", "execution_step") and key in owners.logs:
        run, steps = owners.logs[key]
        if kind == "execution_step" and index is not None and index < steps:
            return ref("test_log", key), OBJECT_TYPES["step_log"], {"run": run, "step": index + 1}, ""
        if kind == "execution_step":
            problems.append(
                _moved(
                    where, "the step results are kept in the test log's note; it was attached to the test log"
                )
            )
        return ref("test_log", key), OBJECT_TYPES["test_log"], {"run": run}, ""
    problems.append(
        Problem(
            "skipped",
            "attachment_owner_not_migrated",
            f"The attachment {where} was not sent: its {kind.replace('_', ' ')} is not migrated "
            "(see its own problem).",
        )
    )
    return None


def _moved(where: str, why: str) -> Problem:
    return Problem("degraded", "attachment_moved", f"The attachment {where}: {why}.")


def plan_attachments(
    attachments: Iterable[Attachment], owners: AttachmentOwners, max_bytes: int
) -> list[PlannedEntity]:
    """Every attachment as a planned qTest attachment, in key order."""
    return [plan_attachment(a, owners, max_bytes) for a in sorted(attachments, key=lambda a: a.key)]
