"""Attachments on the terminal: the table and lines ``migrate status`` and the dry run print."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ztoq.report.attachments import AttachmentGroup, AttachmentOverview, OwnerFiles, fmt_bytes, known_bytes

#: Examples named per group on the terminal (the report shows more).
EXAMPLES_SHOWN = 2


def _files(count: int) -> str:
    return f"{count:,} file{'' if count == 1 else 's'}"


def attachment_table(overview: AttachmentOverview, title: str = "Attachments") -> Table:
    """Files and bytes per owner kind: in Zephyr, in the cache, failed downloads, in qTest."""
    table = Table(title=title, title_justify="left")
    for column in ("Owner", "Files", "Size", "Cached", "Failed", "In qTest", "Size in qTest"):
        table.add_column(column, justify="left" if column == "Owner" else "right")

    def add(row: OwnerFiles, style: str | None = None) -> None:
        table.add_row(
            row.label,
            f"{row.files:,}",
            fmt_bytes(row.bytes),
            f"{row.cached:,}",
            f"{row.failed:,}",
            f"{row.sent:,}",
            fmt_bytes(row.sent_bytes),
            style=style,
        )

    for row in overview.owners:
        add(row)
    add(overview.total, "bold")
    return table


def group_lines(title: str, groups: tuple[AttachmentGroup, ...]) -> list[Text]:
    """One heading and one line per reason: files, bytes, why, and a few examples."""
    files, size = sum(g.count for g in groups), known_bytes(groups)
    lines = [Text(f"{title}: {_files(files)} ({fmt_bytes(size)})", style="bold")]
    for g in groups:
        examples = []
        for e in g.examples[:EXAMPLES_SHOWN]:
            if e.url is not None:
                examples.append(f"{e.source_key} ({e.url})")
                continue
            name = f" {e.name}" if e.name else ""
            where = f", cache: {e.cache_path}" if e.cache_path else ""
            examples.append(f"{e.source_key}{name} ({fmt_bytes(e.size)}{where})")
        more = ", ..." if g.count > len(examples) else ""
        tail = f"; e.g. {', '.join(examples)}{more}" if examples else ""
        lines.append(Text(f"  {_files(g.count)} ({fmt_bytes(g.bytes)}) {g.reason} [{g.code}]{tail}"))
    return lines


def attachment_summary(overview: AttachmentOverview, title: str = "Attachments") -> RenderableType | None:
    """Everything about attachments: the unavailable sentence, the table, what was not sent and why.

    Args:
        overview: The project's attachments.
        title: The table's title.

    Returns:
        What to print, or None when attachments were never listed.
    """
    if not overview.listed:
        return None
    parts: list[RenderableType] = []
    if overview.unavailable_text is not None:
        parts.append(Text(overview.unavailable_text, style="yellow"))
    if overview.owners:
        parts.append(attachment_table(overview, title))
    elif overview.available:
        parts.append(Text(f"{title}: Zephyr holds no attachment in this project."))
    if overview.not_sent:
        parts.extend(group_lines("Attachments not sent", overview.not_sent))
    if overview.changed:
        parts.extend(group_lines("Attachments sent with a change", overview.changed))
    return Group(*parts)
