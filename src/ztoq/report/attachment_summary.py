"""The attachments summary shown everywhere: files and bytes per owner kind, sent, not sent and why.

The data model of :func:`ztoq.report.attachments.attachment_overview` (which reads it from the
store), with the words and formats the report, ``ztoq migrate status``, the dashboard and the dry
run all use. Pure: no store, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Owner kinds in the order they are listed, with the words people read.
OWNER_LABELS: dict[str, str] = {
    "test_case": "test case",
    "test_step": "test step",
    "test_plan": "test plan",
    "test_cycle": "test cycle",
    "test_execution": "execution",
    "execution_step": "execution step",
}

#: The problem code of an image embedded in rich text that could not be migrated (on the entity
#: whose text holds it, one problem per image).
INLINE_IMAGE_UNREACHABLE = "inline_image_unreachable"

#: Problem codes meaning the file was not sent, in the order they are listed, with their reason.
NOT_SENT_REASONS: dict[str, str] = {
    "attachment_too_large": "larger than qtest.max_attachment_mb (or refused by qTest as too large); "
    "kept in the attachment cache",
    "attachment_without_place": "on a test cycle outside any release (qTest has no test-cycle "
    "attachments); kept in the attachment cache",
    "attachment_not_downloaded": "not downloaded from Zephyr",
    "attachment_owner_not_migrated": "its test case, plan, cycle or execution was not migrated",
    INLINE_IMAGE_UNREACHABLE: "an image embedded in a text, hosted where the API token cannot fetch it "
    "(SmartBear's CDN); kept in the text as a visible [Image: name] reference with its URL",
}

#: Problem codes meaning the file was sent, but not exactly as it was, with their reason.
CHANGED_REASONS: dict[str, str] = {
    "attachment_moved": "attached to the parent object (qTest has no place for it on its own)",
    "attachment_renamed": "sent under the closest name qTest accepts",
}

#: Severities of the problems that say a file was not sent, or sent with a change.
DEGRADING = frozenset({"degraded", "skipped"})

#: Examples kept per group.
EXAMPLES = 5

_MIB = 1024 * 1024


def unavailable_sentence(reason: str) -> str:
    """The one sentence said when the source's tenant has no attachment operations.

    Args:
        reason: What the source answered (e.g. "HTTP 503 on every attachment list").

    Returns:
        The sentence, shown in the run output, the dry run, the status and the report.
    """
    return (
        "Zephyr does not offer attachment operations on this tenant "
        f"({reason}); attachments were not migrated, everything else was. Run again once "
        "SmartBear has enabled them: only the attachments will be sent."
    )


def owner_label(owner_type: str) -> str:
    """The words for an owner kind ("test case", "execution step"); unknown kinds spelled out."""
    return OWNER_LABELS.get(owner_type, owner_type.replace("_", " "))


def fmt_bytes(size: int | None) -> str:
    """A size for people: "0 B", "512 B", "12.5 KB", "3.4 MB", "1.25 GB"; an en dash for None."""
    if size is None:
        return "–"
    if size < 1024:
        return f"{size:,} B"
    if size < _MIB:
        return f"{size / 1024:,.1f} KB"
    if size < 1024 * _MIB:
        return f"{size / _MIB:,.1f} MB"
    return f"{size / (1024 * _MIB):,.2f} GB"


@dataclass(frozen=True)
class OwnerFiles:
    """The attachments of one owner kind (or of all, with ``owner_type`` "total").

    Attributes:
        owner_type: The canonical owner kind, e.g. ``test_execution``.
        files: Files the source holds (listed, not deleted since).
        bytes: Their known sizes summed (a size the source did not declare counts as 0).
        cached: Files in the local cache.
        cached_bytes: Their bytes.
        failed: Files whose download failed.
        sent: Files in qTest (mapping state created, updated, adopted or validated).
        sent_bytes: Their bytes.
    """

    owner_type: str
    files: int = 0
    bytes: int = 0
    cached: int = 0
    cached_bytes: int = 0
    failed: int = 0
    sent: int = 0
    sent_bytes: int = 0

    @property
    def label(self) -> str:
        """The owner kind in words."""
        return "total" if self.owner_type == "total" else owner_label(self.owner_type)


@dataclass(frozen=True)
class AttachmentExample:
    """One file of a group: which, how large, where it is kept, and the recorded reason.

    Attributes:
        source_key: The attachment's key (for an inline image: the key of the entity whose text
            holds it).
        message: The problem's message.
        name: The file name, when known.
        owner_type: The owner kind (for an inline image: the entity type).
        owner_key: The owner's key.
        size: The file's size, when known.
        cache_path: Where the file stays in the attachment cache, for files kept there.
        url: Where an inline image is hosted.
    """

    source_key: str
    message: str
    name: str | None = None
    owner_type: str | None = None
    owner_key: str | None = None
    size: int | None = None
    cache_path: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class AttachmentGroup:
    """Files not sent (or sent with a change) for one reason.

    Attributes:
        code: The problem code, e.g. ``attachment_too_large``.
        severity: The severity recorded (``degraded`` or ``skipped``).
        reason: The reason in words.
        count: How many files.
        bytes: Their known sizes summed; None when no size is known (inline images).
        examples: The first few files.
    """

    code: str
    severity: str
    reason: str
    count: int
    bytes: int | None
    examples: tuple[AttachmentExample, ...] = ()


@dataclass(frozen=True)
class AttachmentOverview:
    """The attachments of a project: listed, cached, sent, and not sent with reasons.

    Attributes:
        listed: Extract ever listed the source's attachments, or an attachment or inline image
            problem was recorded (there is something to show).
        available: The source's tenant answered the attachment operations the last time.
        unavailable_reason: What it answered instead, when it did not.
        owners: One row per owner kind that has files, in the order of :data:`OWNER_LABELS`.
        total: The rows summed.
        not_sent: Files not sent, grouped by reason (order of :data:`NOT_SENT_REASONS`).
        changed: Files sent with a change (moved, renamed), grouped by reason.
    """

    listed: bool
    available: bool
    unavailable_reason: str | None
    owners: tuple[OwnerFiles, ...]
    total: OwnerFiles
    not_sent: tuple[AttachmentGroup, ...] = ()
    changed: tuple[AttachmentGroup, ...] = ()

    @property
    def unavailable_text(self) -> str | None:
        """The sentence to show when the tenant lacks the attachment operations, else None."""
        if self.unavailable_reason is None:
            return None
        return unavailable_sentence(self.unavailable_reason)

    @property
    def not_sent_files(self) -> int:
        """Files not sent, over every reason."""
        return sum(g.count for g in self.not_sent)

    @property
    def not_sent_bytes(self) -> int:
        """Their known bytes."""
        return known_bytes(self.not_sent) or 0


def known_bytes(groups: Iterable[AttachmentGroup]) -> int | None:
    """The known bytes of some groups, summed; None when none of them knows its size."""
    sizes = [g.bytes for g in groups if g.bytes is not None]
    return sum(sizes) if sizes else None


#: The figures of an :class:`OwnerFiles`, in field order.
FIGURES: tuple[str, ...] = tuple(f.name for f in fields(OwnerFiles) if f.name != "owner_type")


def empty_overview() -> AttachmentOverview:
    """The overview of a project whose attachments were never listed."""
    return AttachmentOverview(False, False, None, (), OwnerFiles("total"))


def overview_to_dict(overview: AttachmentOverview) -> dict[str, Any]:
    """The overview as JSON-ready data (the report's, the dashboard's and the dry run's ``attachments``).

    Args:
        overview: The overview.

    Returns:
        Nested dicts and lists in a fixed key order.
    """

    def owner(row: OwnerFiles) -> dict[str, Any]:
        return {**asdict(row), "label": row.label}

    def group(g: AttachmentGroup) -> dict[str, Any]:
        return asdict(g)  # the examples too, as lists of dicts

    return {
        "listed": overview.listed,
        "available": overview.available,
        "unavailable_reason": overview.unavailable_reason,
        "unavailable_sentence": overview.unavailable_text,
        "by_owner_type": [owner(r) for r in overview.owners],
        "total": owner(overview.total),
        "not_sent": [group(g) for g in overview.not_sent],
        "changed": [group(g) for g in overview.changed],
    }
