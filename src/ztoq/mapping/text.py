"""Text rules shared by every mapping: HTML kept as is, the "Zephyr fields" block, the source key line.

Zephyr stores rich text as HTML (line breaks as ``<br>``) and qTest's description, precondition,
step and note fields are rich text too, so HTML passes through untouched: nothing is escaped, not
even ``<script>`` (escaping for display is the report's job, and qTest sanitises what it renders).
Only plain text needs work: its newlines become ``<br>`` so they survive in qTest.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from urllib.parse import unquote

#: qTest's limit on names (modules, test cases, releases, cycles, runs). Not found in the vendor docs
#: (searched Tricentis/QASymphony API and field-settings pages): 500 is a conservative assumption.
NAME_MAX_LENGTH = 500

#: The label of the last description line carrying the Zephyr key (see :func:`source_key_marker`).
SOURCE_KEY_LABEL = "Zephyr key: "

BR = "<br>"

_BLOCK_TAG = re.compile(r"<(p|div|ul|ol|li|table|tr|pre|h[1-6]|blockquote)\b", re.IGNORECASE)
_NEWLINE = re.compile(r"\r\n|\r|\n")
# The marker is the last line: after it only whitespace and closing tags qTest's editor may add.
_MARKER = re.compile(
    r"(?:\A|<br\s*/?>|<p[^>]*>|<div[^>]*>|\n)\s*"
    + re.escape(SOURCE_KEY_LABEL.strip())
    + r"\s*([^\s<>]+)(?:\s|</[a-zA-Z]+>)*\Z",
    re.IGNORECASE,
)


def text_to_html(value: str | None) -> str:
    """Zephyr text as qTest rich text: HTML as is, plain-text newlines as ``<br>``.

    Newlines in block-structured HTML (``<p>``, ``<li>``, ``<table>``, ``<pre>``...) are source
    formatting that browsers ignore (or, in ``<pre>``, render), so that text is left alone.
    """
    if not value:
        return ""
    if _BLOCK_TAG.search(value):
        return value
    return _NEWLINE.sub(BR, value)


def join_html(*parts: str) -> str:
    """Non-empty parts joined with line breaks."""
    return BR.join(p for p in parts if p)


def truncate_name(name: str, limit: int = NAME_MAX_LENGTH) -> tuple[str, bool]:
    """``(name cut to limit, whether it was cut)``; an ellipsis marks the cut."""
    if len(name) <= limit:
        return name, False
    return name[: limit - 1] + "…", True


#: Characters a key cannot carry literally on the marker line: they end the key when read back
#: (whitespace, tags) or qTest's editor rewrites them (``&`` -> ``&amp;``); ``%`` starts an escape.
_MARKER_UNSAFE = frozenset("<>&\"'%")


def _marker_char(char: str) -> str:
    if char in _MARKER_UNSAFE or char.isspace() or not char.isprintable():
        return "".join(f"%{b:02X}" for b in char.encode("utf-8", "surrogatepass"))
    return char


def source_key_marker(key: str) -> str:
    """The line that makes a migrated entity findable by its Zephyr key: ``Zephyr key: PROJ-T12``.

    Keys are written as they are, except characters the line cannot hold literally, which are
    percent-encoded: a Zephyr Scale Server folder key ``TEST_CASE:/Cargo Bay`` reads
    ``Zephyr key: TEST_CASE:/Cargo%20Bay`` (:func:`find_source_key` decodes it).
    """
    return SOURCE_KEY_LABEL + "".join(_marker_char(c) for c in key)


def with_source_key(description: str, key: str) -> str:
    """``description`` with the source key marker as its last line."""
    return join_html(description, source_key_marker(key))


def find_source_key(description: str | None) -> str | None:
    """The Zephyr key in a description's last line written by :func:`source_key_marker`, else None.

    Percent-encoded characters are decoded (the marker encodes what the line cannot hold).
    Tolerates what qTest's rich-text editor does to stored HTML: ``<br />`` for ``<br>``, a
    paragraph wrapper, trailing whitespace.
    """
    if not description:
        return None
    match = _MARKER.search(description)
    return unquote(match.group(1), errors="surrogatepass") if match else None


def link_html(url: str, text: str | None = None) -> str:
    """A hyperlink; the URL is attribute-escaped (it is a URL, not HTML), the text kept as is."""
    return f'<a href="{html.escape(url, quote=True)}">{text or url}</a>'


@dataclass
class FieldBlock:
    """The "Zephyr fields" table appended to a description or note: what has no qTest field.

    Each row is ``(field name, value as HTML)``; values keep their HTML, like every other text.
    """

    title: str = "Zephyr fields"
    rows: list[tuple[str, str]] = field(default_factory=list)

    def add(self, name: str, value_html: str) -> None:
        self.rows.append((name, value_html))

    def render(self) -> str:
        """The block as HTML, or "" when there is nothing to show."""
        if not self.rows:
            return ""
        cells = "".join(f"<tr><td>{name}</td><td>{value}</td></tr>" for name, value in self.rows)
        return (
            f'<b>{self.title}</b><br><table border="1"><tr><th>Field</th><th>Value</th></tr>{cells}</table>'
        )


def table_html(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    """A plain HTML table (used for step results kept in a note)."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table border="1"><tr>{head}</tr>{body}</table>'
