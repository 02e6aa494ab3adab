"""The HTML report: one self-contained file, rendered from ``templates/report.html.j2``.

No external scripts, fonts, stylesheets or images: CSS is inline, charts are inline SVG from
:mod:`ztoq.report.svg`, and a Content-Security-Policy ``<meta>`` forbids the page from loading
anything at all. Jinja2 autoescaping is on, so every text from the source shows as text; entity
keys link to qTest only through :attr:`EntityRef.link` (http(s) URLs only). The page needs no
JavaScript; one tiny inline script (allowed by its CSP hash) opens every ``<details>`` before
printing, and CSS does the same in browsers that support ``::details-content``.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

import jinja2

from ztoq.report import svg
from ztoq.report.attachment_summary import fmt_bytes, known_bytes, owner_label
from ztoq.report.formatting import (
    MAX_GROUPS_SHOWN,
    MAX_RUNS_SHOWN,
    TEXT_LIMIT,
    fmt_dt,
    fmt_duration,
    fmt_int,
    fmt_seconds,
    fmt_signed,
    shorten,
)
from ztoq.report.sections import Report

#: The only script in the page: open every <details> before printing.
PRINT_SCRIPT = (
    'addEventListener("beforeprint",function(){'
    'document.querySelectorAll("details").forEach(function(d){d.open=true})})'
)


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(PRINT_SCRIPT.encode()).digest()).decode()
    return (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def _detail(value: Any) -> str:
    if not value:
        return ""
    return shorten(json.dumps(value, ensure_ascii=False, default=str, sort_keys=True), TEXT_LIMIT)


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The Jinja2 environment for the report templates (autoescape on, strict undefined).

    Returns:
        The shared environment.
    """
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("ztoq.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        {
            "int": fmt_int,
            "bytes": fmt_bytes,
            "owner": owner_label,
            "known_bytes": known_bytes,
            "signed": fmt_signed,
            "duration": fmt_duration,
            "seconds": fmt_seconds,
            "dt": fmt_dt,
            "shorten": lambda text, limit=TEXT_LIMIT: shorten(str(text), limit),
            "detail": _detail,
            "slug": lambda text: "".join(ch if ch.isalnum() else "-" for ch in str(text).lower()),
        }
    )
    return env


def render_html(report: Report) -> str:
    """The HTML report: one self-contained page, readable on a laptop and printable.

    Args:
        report: A built report.

    Returns:
        The HTML document.
    """
    bars = svg.bar_chart([(c.entity_type, c.source, c.target, c.expected) for c in report.counts])
    donut = svg.donut(list(report.severity_totals)) if report.severity_totals else None
    template = environment().get_template("report.html.j2")
    return template.render(
        r=report,
        csp=_csp(),
        print_script=PRINT_SCRIPT,
        bar_chart=bars if report.counts else None,
        donut=donut,
        runs_shown=report.runs[:MAX_RUNS_SHOWN],
        runs_more=max(len(report.runs) - MAX_RUNS_SHOWN, 0),
        groups_shown=report.problem_groups[:MAX_GROUPS_SHOWN],
        groups_more=max(len(report.problem_groups) - MAX_GROUPS_SHOWN, 0),
        text_limit=TEXT_LIMIT,
    )
