"""The Markdown report: the HTML report's content as GitHub-flavoured Markdown, samples capped.

Every text from the source is escaped: ``&``, ``<`` and ``>`` become entities (so no HTML gets
through to a Markdown renderer), Markdown punctuation that could start emphasis, code, links or
break a table (``\\ ` * _ [ ] | ~``) is backslash-escaped, and newlines become spaces. Entity keys
link to qTest only when their URL is http(s).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from ztoq.report.attachment_summary import (
    AttachmentExample,
    AttachmentGroup,
    OwnerFiles,
    fmt_bytes,
    known_bytes,
)
from ztoq.report.formatting import (
    MAX_GROUPS_SHOWN,
    MAX_RUNS_SHOWN,
    TEXT_LIMIT,
    fmt_dt,
    fmt_duration,
    fmt_int,
    fmt_seconds,
    fmt_signed,
    plural,
    shorten,
)
from ztoq.report.sections import CountLine, EntityRef, IssueGroup, ProblemGroup, Report

_PUNCT = re.compile(r"([\\`*\[\]|~])")
_LONE_UNDERSCORE = re.compile(r"(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
_KIND_TITLES = {"missing": "Missing", "failed": "Failed", "mismatch": "Mismatched"}


def md(value: object, limit: int | None = None) -> str:
    """Escape any value for inline Markdown (also safe inside a table cell).

    Args:
        value: The value; None becomes an en dash.
        limit: Cut the text to this many characters first.

    Returns:
        Inert Markdown text.
    """
    if value is None:
        return "–"
    text = str(value).replace("\r\n", " ").replace("\r", " ").replace("\n", " ")
    if limit is not None:
        text = shorten(text, limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _PUNCT.sub(r"\\\1", text)
    return _LONE_UNDERSCORE.sub(r"\\_", text)


def _link(ref: EntityRef) -> str:
    if ref.link is None:
        return md(ref.source_key)
    url = ref.link.replace("<", "%3C").replace(">", "%3E").replace("|", "%7C").replace("\\", "%5C")
    return f"[{md(ref.source_key)}](<{url}>)"


def _qtest(ref: EntityRef) -> str:
    return "–" if ref.target_id is None else f"#{ref.target_id}"


def _table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> list[str]:
    head = list(header)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines.extend("| " + " | ".join(row) + " |" for row in rows)
    return [*lines, ""]


def _diff(line: CountLine) -> str:
    text = fmt_signed(line.difference)
    return f"**{text}**" if line.difference else text


def _count_row(line: CountLine) -> list[str]:
    return [
        md(line.entity_type),
        fmt_int(line.source),
        fmt_int(line.planned),
        fmt_int(line.loaded),
        fmt_int(line.target),
        fmt_int(line.expected),
        _diff(line),
        fmt_int(line.skipped),
        fmt_int(line.failed),
    ]


def _counts(report: Report) -> list[str]:
    out = ["## Source and target counts", ""]
    if not report.counts:
        return [*out, "No counts recorded: nothing was extracted from Zephyr Scale.", ""]
    header = [
        "Entity type",
        "Zephyr",
        "Planned",
        "Loaded",
        "qTest",
        "Expected",
        "Difference",
        "Skipped",
        "Failed",
    ]
    rows = [_count_row(c) for c in report.counts]
    total = [f"**{cell}**" if i == 0 else cell for i, cell in enumerate(_count_row(report.totals))]
    out += _table(header, [*rows, total])
    out.append("Expected = Zephyr − skipped by design; Difference = qTest − expected.")
    return [*out, ""]


def _owner_row(row: OwnerFiles) -> list[str]:
    return [
        md(row.label),
        fmt_int(row.files),
        fmt_bytes(row.bytes),
        fmt_int(row.cached),
        fmt_int(row.failed),
        fmt_int(row.sent),
        fmt_bytes(row.sent_bytes),
    ]


def _example(e: AttachmentExample) -> str:
    if e.url is not None:
        return f"{md(e.source_key)} ({md(e.url, 160)})"
    name = f" {md(e.name, 80)}" if e.name else ""
    place = f", cache: {md(e.cache_path)}" if e.cache_path else ""
    return f"{md(e.source_key)}{name} ({fmt_bytes(e.size)}{place})"


def _attachment_groups(title: str, groups: tuple[AttachmentGroup, ...]) -> list[str]:
    files, size = sum(g.count for g in groups), known_bytes(groups)
    out = [f"### {title}: {plural(files, 'file')} ({fmt_bytes(size)})", ""]
    rows = [
        [
            f"{md(g.reason)} ({md(g.code)})",
            fmt_int(g.count),
            fmt_bytes(g.bytes),
            "; ".join(_example(e) for e in g.examples) + (" …" if g.count > len(g.examples) else ""),
        ]
        for g in groups
    ]
    return out + _table(["Why", "Files", "Size", "Examples"], rows)


def _attachments(report: Report) -> list[str]:
    overview = report.attachments
    if overview is None:
        return []
    out = ["## Attachments", ""]
    if overview.unavailable_text is not None:
        out += [f"> **Warning:** {md(overview.unavailable_text)}", ""]
    if overview.owners:
        header = ["Owner", "Files", "Size", "Cached", "Failed downloads", "In qTest", "Size in qTest"]
        total = [f"**{cell}**" for cell in _owner_row(overview.total)]
        out += _table(header, [*(_owner_row(row) for row in overview.owners), total])
    elif overview.available:
        out += ["Zephyr holds no attachment in this project.", ""]
    if overview.not_sent:
        out += _attachment_groups("Not sent", overview.not_sent)
    if overview.changed:
        out += _attachment_groups("Sent with a change", overview.changed)
    return out


def _more(more: int, noun: str) -> list[str]:
    return [f"… {fmt_int(more)} more {noun} in the JSON report.", ""] if more > 0 else []


def _issue_group(group: IssueGroup) -> list[str]:
    title = (
        f"### {_KIND_TITLES.get(group.kind, md(group.kind))} {md(group.entity_type)} ({fmt_int(group.count)})"
    )
    out = [title, ""]
    if group.kind == "mismatch":
        rows = []
        for issue in group.sample:
            for diff in issue.fields:
                rows.append(
                    [
                        _link(issue.entity),
                        _qtest(issue.entity),
                        md(diff.field),
                        md(diff.expected, TEXT_LIMIT),
                        md(diff.actual, TEXT_LIMIT),
                    ]
                )
            if issue.reasons:
                rows.append(
                    [
                        _link(issue.entity),
                        _qtest(issue.entity),
                        "–",
                        md("; ".join(issue.reasons), TEXT_LIMIT),
                        "",
                    ]
                )
        out += _table(["Zephyr key", "qTest id", "Field", "Expected (Zephyr)", "Actual (qTest)"], rows)
    else:
        rows = [
            [_link(i.entity), _qtest(i.entity), md("; ".join(i.reasons) or "–", TEXT_LIMIT)]
            for i in group.sample
        ]
        out += _table(["Zephyr key", "qTest id", "Reason"], rows)
    return out + _more(group.more, "entities")


def _issues(report: Report) -> list[str]:
    out = ["## Missing, failed and mismatched entities", ""]
    if not report.issues:
        return [*out, "None recorded.", ""]
    for group in report.issues:
        out += _issue_group(group)
    return out


def _problem_group(group: ProblemGroup) -> list[str]:
    out = [f"### {md(group.severity)} · {md(group.code)} ({fmt_int(group.count)})", "", md(group.message), ""]
    rows = []
    for item in group.sample:
        detail = json.dumps(item.detail, ensure_ascii=False, default=str) if item.detail else None
        rows.append(
            [
                _link(item.entity),
                md(item.entity.entity_type),
                _qtest(item.entity),
                md(item.field),
                md(item.message, TEXT_LIMIT),
                md(detail, TEXT_LIMIT),
            ]
        )
    out += _table(["Zephyr key", "Type", "qTest id", "Field", "Reason", "Detail"], rows)
    return out + _more(group.more, "problems")


def _problems(report: Report) -> list[str]:
    out = ["## Degraded, skipped and failed values", ""]
    if not report.problem_groups:
        return [*out, "No problem recorded.", ""]
    totals = ", ".join(f"{md(sev)} {fmt_int(n)}" for sev, n in report.severity_totals)
    out += [f"{fmt_int(report.problem_count)} problems: {totals}.", ""]
    rows = [
        [md(g.severity), md(g.code), fmt_int(g.count), md(", ".join(f"{t} {n:,}" for t, n in g.entity_types))]
        for g in report.problem_groups
    ]
    out += _table(["Severity", "Code", "Count", "Entity types"], rows)
    for group in report.problem_groups[:MAX_GROUPS_SHOWN]:
        out += _problem_group(group)
    return out + _more(len(report.problem_groups) - MAX_GROUPS_SHOWN, "groups")


def _kept_in_text(report: Report) -> list[str]:
    kept = report.kept_in_text
    if not kept.count:
        return []
    out = [
        "## Kept in text",
        "",
        f"{plural(kept.count, 'value')} without a qTest field {'is' if kept.count == 1 else 'are'} kept "
        'whole in text (the "Zephyr fields" block of a description or note): information, not a '
        "degradation. `ztoq fields plan` shows which of them a qTest field could hold (`ztoq fields apply` "
        "creates it).",
        "",
    ]
    rows = [
        [
            md(f.field),
            fmt_int(f.count),
            md(", ".join(f"{t} {n:,}" for t, n in f.entity_types)),
            md(", ".join(f.codes)),
        ]
        for f in kept.fields
    ]
    return out + _table(["Zephyr field", "Values", "Entity types", "Code"], rows)


def _unmatched_users(report: Report) -> list[str]:
    people = report.unmatched_users
    if not people:
        return []
    out = [
        "## Unmatched users",
        "",
        f"{plural(len(people), 'Jira user')} had no qTest user: the default user stood in where a field "
        "needed one, and the original is named in text. Map them in `mappings.users` "
        "(`ztoq users plan` proposes a map).",
        "",
    ]
    rows = [
        [
            md(u.account),
            fmt_int(u.values),
            md(", ".join(u.fields) or "–"),
            md(", ".join(f"{t} {n:,}" for t, n in u.entity_types)),
            ", ".join(_link(e) for e in u.examples),
        ]
        for u in people
    ]
    return out + _table(["Jira account", "Values", "Fields", "Entity types", "Examples"], rows)


def _runs(report: Report) -> list[str]:
    out = ["## Run history", ""]
    if not report.runs:
        return [*out, "No run recorded.", ""]
    t = report.traffic
    apis = ", ".join(f"{md(api)} {fmt_int(n)}" for api, n in t.requests_by_api) or "none"
    out += [
        f"Requests: {fmt_int(t.requests_total)} ({apis}); retries: {fmt_int(t.retries)}; "
        f"429 waits: {fmt_int(t.rate_limit_waits)} ({fmt_seconds(t.rate_limit_wait_seconds)}).",
        "",
    ]
    header = ["Run", "Command", "Status", "Started", "Duration", "Requests", "Retries", "429 waits", "Waited"]
    rows = []
    for run in report.runs[:MAX_RUNS_SHOWN]:
        phases = ", ".join(
            f"{md(p.phase)} {md(p.status)} {fmt_duration(p.duration_seconds)}" for p in run.phase_lines
        )
        rows.append(
            [
                f"#{run.id}",
                md(run.command) + (f" ({phases})" if phases else ""),
                md(run.status) + (f": {md(run.error, TEXT_LIMIT)}" if run.error else ""),
                fmt_dt(run.started_at),
                fmt_duration(run.duration_seconds),
                fmt_int(run.requests_total),
                fmt_int(run.retries),
                fmt_int(run.rate_limit_waits),
                fmt_seconds(run.rate_limit_wait_seconds),
            ]
        )
    out += _table(header, rows)
    return out + _more(len(report.runs) - MAX_RUNS_SHOWN, "runs")


def render_markdown(report: Report) -> str:
    """The Markdown report.

    Args:
        report: A built report.

    Returns:
        GitHub-flavoured Markdown ending with a newline.
    """
    qtest = "–" if report.qtest_project_id is None else str(report.qtest_project_id)
    out = [
        f"# {md(report.title)}",
        "",
        f"**Verdict: {report.verdict.status.upper()}**: {md(report.verdict.reason)}",
        "",
    ]
    for notice in report.notices:
        out += [f"> **{notice.level.capitalize()}:** {md(notice.text)}", ""]
    out += [
        f"- Zephyr project: {md(report.project_key)}",
        *([f"- Source: {md(report.source)}"] if report.source else []),
        f"- qTest project: {qtest}",
        f"- Generated: {fmt_dt(report.generated_at)}",
        f"- ztoq version: {md(report.ztoq_version)}",
        f"- Store: {md(report.store)}",
        "",
    ]
    out += _counts(report) + _attachments(report) + _issues(report) + _problems(report)
    out += _unmatched_users(report) + _kept_in_text(report) + _runs(report)
    out.append(
        f"Samples show up to {report.sample_size} items per group; "
        "the JSON report lists every entity and problem."
    )
    return "\n".join(out) + "\n"
