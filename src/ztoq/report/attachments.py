"""Attachments at a glance: files and bytes per owner kind, what was sent, what was not and why.

:func:`attachment_overview` reads the store (through the repository's named queries) into an
:class:`AttachmentOverview`, the one summary the report, ``ztoq migrate status``, the dashboard
and the dry run all show:

* per owner kind (test case, test step, test plan, test cycle, execution, execution step): the
  files the source holds and their bytes, how many are in the local cache, how many downloads
  failed, and how many (and how many bytes) are in qTest;
* the files that were *not* sent, grouped by reason (too large, a cycle outside any release, not
  downloaded, owner not migrated, an image embedded in a text that the API token cannot fetch),
  with their bytes and a few examples (with the cache path of the files kept there, the URL of
  the images);
* the files sent with a change (moved to the parent object, renamed), grouped the same way;
* whether the source's tenant offers the attachment operations at all, and when it does not,
  the one sentence to show (:func:`unavailable_sentence`).

The summary's records, words and formats are in :mod:`ztoq.report.attachment_summary` (pure);
this module reads them from the store, and names them all for its callers.

Everything is streamed: the catalogue and the mappings are read in key order in one pass; only
the keys of the grouped files (not sent, or sent with a change) are held, because each one needs
its bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ztoq.report.attachment_summary import (
    CHANGED_REASONS,
    DEGRADING,
    EXAMPLES,
    FIGURES,
    INLINE_IMAGE_UNREACHABLE,
    NOT_SENT_REASONS,
    OWNER_LABELS,
    AttachmentExample,
    AttachmentGroup,
    AttachmentOverview,
    OwnerFiles,
    empty_overview,
    fmt_bytes,
    known_bytes,
    overview_to_dict,
    owner_label,
    unavailable_sentence,
)
from ztoq.sources.base import ATTACHMENT_API_STATUS
from ztoq.store import TARGET_STATES, AttachmentFile, AttachmentState, MappingRecord

if TYPE_CHECKING:
    from ztoq.store import Repository

__all__ = [
    "CHANGED_REASONS",
    "NOT_SENT_REASONS",
    "OWNER_LABELS",
    "AttachmentExample",
    "AttachmentGroup",
    "AttachmentOverview",
    "OwnerFiles",
    "attachment_overview",
    "empty_overview",
    "fmt_bytes",
    "known_bytes",
    "overview_to_dict",
    "owner_label",
    "unavailable_sentence",
]

#: The entity type planned attachments are filed under (mappings and problems).
ATTACHMENT = "attachment"


@dataclass
class _Group:
    """A group being collected: the keys it names, in recorded order, with their first problem."""

    code: str
    severity: str
    message: str
    keys: dict[str, tuple[str, Any]] = field(default_factory=dict)
    bytes: int = 0
    examples: dict[str, AttachmentExample] = field(default_factory=dict)


def _collect_groups(repo: Repository, project_key: str) -> tuple[dict[str, _Group], dict[str, _Group]]:
    """The not-sent and changed groups of the attachment problems (degraded or skipped)."""
    not_sent: dict[str, _Group] = {}
    changed: dict[str, _Group] = {}
    for problem in repo.iter_problems(project_key, entity_type=ATTACHMENT):
        if problem.severity not in DEGRADING:
            continue
        groups = not_sent if problem.code in NOT_SENT_REASONS else changed
        group = groups.setdefault(problem.code, _Group(problem.code, problem.severity, problem.message))
        detail = problem.detail if isinstance(problem.detail, dict) else {}
        group.keys.setdefault(problem.source_key, (problem.message, detail))
    images = _inline_images(repo, project_key)
    if images is not None:
        not_sent[INLINE_IMAGE_UNREACHABLE] = images
    return not_sent, changed


def _inline_images(repo: Repository, project_key: str) -> _Group | None:
    """The images embedded in texts that could not be migrated: one per (entity, image URL)."""
    group: _Group | None = None
    for problem in repo.iter_problems(project_key, code=INLINE_IMAGE_UNREACHABLE):
        if problem.severity not in DEGRADING:
            continue
        detail = problem.detail if isinstance(problem.detail, dict) else {}
        url = str(detail.get("url") or "")
        key = f"{problem.entity_type}/{problem.source_key} {url}"
        group = group or _Group(problem.code, problem.severity, problem.message)
        if key in group.keys:
            continue
        group.keys[key] = (problem.message, detail)
        if len(group.examples) < EXAMPLES:
            group.examples[key] = AttachmentExample(
                problem.source_key,
                problem.message,
                owner_type=problem.entity_type,
                owner_key=problem.source_key,
                url=url or None,
            )
    return group


def _size_of(detail: dict[str, Any]) -> int | None:
    size = detail.get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) else None


def _example(key: str, message: str, detail: dict[str, Any], row: AttachmentFile | None) -> AttachmentExample:
    cache_path = detail.get("cache_path")
    size = _size_of(detail)
    return AttachmentExample(
        source_key=key,
        message=message,
        name=None if row is None else row.name,
        owner_type=None if row is None else row.owner_type,
        owner_key=None if row is None else row.owner_key,
        size=size if size is not None or row is None else row.size,
        cache_path=str(cache_path) if cache_path else None,
    )


class _Tally:
    """Sums per owner kind while the catalogue streams by."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, int]] = {}

    def add(self, owner_type: str, **values: int) -> None:
        row = self.rows.setdefault(owner_type, {})
        for name, value in values.items():
            row[name] = row.get(name, 0) + value

    def row(self, owner_type: str) -> OwnerFiles:
        figures = self.rows[owner_type]
        return OwnerFiles(owner_type, *(figures.get(name, 0) for name in FIGURES))


def _sent_and_grouped(repo: Repository, project_key: str, tally: _Tally, groups: Iterable[_Group]) -> None:
    """One pass over the catalogue (key order), merged with the mappings in qTest (same order).

    Counts what is sent per owner kind, and gives each grouped file its bytes and example details.
    Both queries order by the attachment key in the database's collation, so a sent mapping's row
    comes up in step; a mapping whose row never comes up (it cannot happen unless the catalogue
    lost it) is looked up by key at the end, so nothing is miscounted.
    """
    wanted: dict[str, list[_Group]] = {}
    for group in groups:
        for key in group.keys:
            wanted.setdefault(key, []).append(group)
    mappings: Iterator[MappingRecord] = repo.iter_mappings(project_key, ATTACHMENT, states=TARGET_STATES)
    head = next(mappings, None)
    if head is None and not wanted:
        return
    for row in repo.iter_attachments(project_key, include_deleted=True):
        if head is not None and head.source_key == row.source_key:
            head = next(mappings, None)
            if not row.deleted:
                tally.add(row.owner_type, sent=1, sent_bytes=row.size or 0)
        if not row.deleted:
            for group in wanted.get(row.source_key, ()):
                _count_grouped(group, row)
    for mapping in _remaining(head, mappings):
        found = repo.get_attachment(project_key, mapping.source_key)
        if found is not None and not found.deleted:
            tally.add(found.owner_type, sent=1, sent_bytes=found.size or 0)


def _remaining(head: MappingRecord | None, rest: Iterator[MappingRecord]) -> Iterable[MappingRecord]:
    if head is not None:
        yield head
    yield from rest


def _count_grouped(group: _Group, row: AttachmentFile) -> None:
    message, detail = group.keys[row.source_key]
    size = _size_of(detail)
    group.bytes += size if size is not None else row.size or 0
    if len(group.examples) < EXAMPLES:
        group.examples[row.source_key] = _example(row.source_key, message, detail, row)


def _groups(collected: dict[str, _Group], reasons: dict[str, str]) -> tuple[AttachmentGroup, ...]:
    order = {code: i for i, code in enumerate(reasons)}
    out = []
    for code in sorted(collected, key=lambda c: (order.get(c, len(order)), c)):
        g = collected[code]
        examples = list(g.examples.values())
        for key, (message, detail) in g.keys.items():  # files the catalogue no longer holds
            if len(examples) >= EXAMPLES:
                break
            if key not in g.examples:
                examples.append(_example(key, message, detail, None))
        reason = reasons.get(code, g.message)
        size = None if code == INLINE_IMAGE_UNREACHABLE else g.bytes
        out.append(AttachmentGroup(code, g.severity, reason, len(g.keys), size, tuple(examples)))
    return tuple(out)


def _api_status(repo: Repository, project_key: str) -> tuple[bool, bool, str | None]:
    """(listed, available, unavailable reason) from the status extract stored."""
    stored = repo.get_source(project_key, *ATTACHMENT_API_STATUS)
    payload = stored.payload if stored is not None and isinstance(stored.payload, dict) else None
    if payload is None:
        return False, False, None
    if payload.get("available") is True:
        return True, True, None
    return True, False, str(payload.get("reason") or "no reason was given")


def attachment_overview(repo: Repository, project_key: str) -> AttachmentOverview:
    """Files and bytes per owner kind, what is in qTest, and what was not sent with reasons.

    Args:
        repo: An open session of the store.
        project_key: The Zephyr project key.

    Returns:
        The overview (``listed`` False, and nothing else, when attachments were never listed).
    """
    listed, available, reason = _api_status(repo, project_key)
    tally = _Tally()
    for totals in repo.attachment_totals(project_key):
        tally.add(totals.owner_type, files=totals.count, bytes=totals.bytes)
        if totals.state == AttachmentState.CACHED.value:
            tally.add(totals.owner_type, cached=totals.count, cached_bytes=totals.bytes)
        elif totals.state == AttachmentState.FAILED.value:
            tally.add(totals.owner_type, failed=totals.count)
    not_sent, changed = _collect_groups(repo, project_key)
    files = [g for code, g in not_sent.items() if code != INLINE_IMAGE_UNREACHABLE]
    _sent_and_grouped(repo, project_key, tally, [*files, *changed.values()])
    listed = listed or bool(tally.rows) or bool(not_sent) or bool(changed)
    if not listed:
        return empty_overview()
    order = {kind: i for i, kind in enumerate(OWNER_LABELS)}
    owners = tuple(
        tally.row(kind) for kind in sorted(tally.rows, key=lambda k: (order.get(k, len(order)), k))
    )
    total = OwnerFiles("total", *(sum(getattr(row, name) for row in owners) for name in FIGURES))
    return AttachmentOverview(
        listed=True,
        available=available,
        unavailable_reason=reason,
        owners=owners,
        total=total,
        not_sent=_groups(not_sent, NOT_SENT_REASONS),
        changed=_groups(changed, CHANGED_REASONS),
    )
