"""Choosing a renderer and writing a report file.

``render(report, fmt)`` returns the text in one of the three formats; ``write_report`` writes it,
choosing the format from ``fmt`` or, when ``fmt`` is None, from the file suffix.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from ztoq.report.render_html import render_html
from ztoq.report.render_json import render_json
from ztoq.report.render_markdown import render_markdown
from ztoq.report.sections import Report

#: Renderer per format name.
RENDERERS: dict[str, Callable[[Report], str]] = {
    "html": render_html,
    "json": render_json,
    "markdown": render_markdown,
}

#: Format per file suffix (lower case).
SUFFIXES: dict[str, str] = {
    ".html": "html",
    ".htm": "html",
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
}

_ALIASES = {"md": "markdown", "htm": "html"}


def format_for(path: str | os.PathLike[str], fmt: str | None = None) -> str:
    """The format to write: ``fmt`` when given, else the one the file suffix names.

    Args:
        path: The output file.
        fmt: "html", "json" or "markdown" ("md" is accepted), or None to use the suffix.

    Returns:
        The format name.

    Raises:
        ValueError: When the format is unknown or cannot be told from the suffix.
    """
    if fmt is not None:
        name = _ALIASES.get(fmt.lower(), fmt.lower())
        if name not in RENDERERS:
            raise ValueError(f"unknown report format {fmt!r}: use html, json or markdown")
        return name
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"cannot tell the report format from {Path(path).name!r}: name it .html, .json or .md, "
            "or give the format"
        )
    return SUFFIXES[suffix]


def render(report: Report, fmt: str) -> str:
    """The report in one format.

    Args:
        report: A built report.
        fmt: "html", "json" or "markdown".

    Returns:
        The rendered text.

    Raises:
        ValueError: When the format is unknown.
    """
    return RENDERERS[format_for("report", fmt)](report)


def write_report(report: Report, path: str | os.PathLike[str], fmt: str | None = None) -> Path:
    """Render the report and write it to ``path`` atomically (UTF-8), creating parent folders.

    Args:
        report: A built report.
        path: The output file.
        fmt: "html", "json" or "markdown"; None chooses by the file suffix.

    Returns:
        The path written.

    Raises:
        ValueError: When the format is unknown or cannot be told from the suffix.
    """
    target = Path(path)
    text = render(report, format_for(target, fmt))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target
