"""The migration report: a pure data model built first, rendered second into HTML, JSON or Markdown.

Typical use::

    from ztoq.report import ReportInput, build_report, write_report

    report = build_report(report_input)          # pure: verdict, counts, grouped problems
    write_report(report, "report.html")          # or "report.json", "report.md"

See ``docs/reports.md`` for what each section means and the verdict rules.
"""

from __future__ import annotations

from ztoq.report.model import (
    CountRow,
    EntityLink,
    MismatchRecord,
    PhaseRecord,
    ProblemRecord,
    ReportInput,
    RunRecord,
    build_report,
)
from ztoq.report.render import format_for, render, write_report
from ztoq.report.render_html import render_html
from ztoq.report.render_json import render_json, report_to_dict
from ztoq.report.render_markdown import render_markdown
from ztoq.report.sections import Report, Verdict

__all__ = [
    "CountRow",
    "EntityLink",
    "MismatchRecord",
    "PhaseRecord",
    "ProblemRecord",
    "Report",
    "ReportInput",
    "RunRecord",
    "Verdict",
    "build_report",
    "format_for",
    "render",
    "render_html",
    "render_json",
    "render_markdown",
    "report_to_dict",
    "write_report",
]
