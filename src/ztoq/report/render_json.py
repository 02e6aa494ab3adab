"""The JSON report: complete lists, stable key order, ISO 8601 dates.

The document is written in a fixed key order (not sorted: the order a reader expects), so two
reports of the same store differ only where the data does. ``<`` and ``>`` are written as
``\\u003c``-style escapes, which JSON parsers read back unchanged, so the file stays inert even if
someone serves it as HTML.
"""

from __future__ import annotations

import json
from typing import Any

from ztoq.report.attachment_summary import overview_to_dict
from ztoq.report.formatting import iso
from ztoq.report.people import UnmatchedUser
from ztoq.report.sections import (
    CountLine,
    EntityIssue,
    EntityRef,
    KeptInText,
    PhaseLine,
    ProblemGroup,
    ProblemItem,
    Report,
    RunLine,
)

#: Identifies the document layout; bump on incompatible changes.
SCHEMA = "ztoq-report/1"

_INERT = {"<": "\\u003c", ">": "\\u003e", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _entity(ref: EntityRef) -> dict[str, Any]:
    return {
        "entity_type": ref.entity_type,
        "source_key": ref.source_key,
        "target_id": ref.target_id,
        "web_url": ref.web_url,
        "state": ref.state,
    }


def _count(line: CountLine) -> dict[str, Any]:
    return {
        "entity_type": line.entity_type,
        "source": line.source,
        "planned": line.planned,
        "loaded": line.loaded,
        "target": line.target,
        "skipped": line.skipped,
        "failed": line.failed,
        "expected": line.expected,
        "difference": line.difference,
        "ok": line.ok,
    }


def _phase(p: PhaseLine) -> dict[str, Any]:
    return {
        "phase": p.phase,
        "status": p.status,
        "started_at": iso(p.started_at),
        "finished_at": iso(p.finished_at),
        "duration_seconds": p.duration_seconds,
        "counts": dict(p.counts),
    }


def _run(run: RunLine) -> dict[str, Any]:
    return {
        "id": run.id,
        "command": run.command,
        "status": run.status,
        "phases": list(run.phases),
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "duration_seconds": run.duration_seconds,
        "requests_by_api": dict(run.requests_by_api),
        "requests_total": run.requests_total,
        "retries": run.retries,
        "rate_limit_waits": run.rate_limit_waits,
        "rate_limit_wait_seconds": run.rate_limit_wait_seconds,
        "error": run.error,
        "phase_runs": [_phase(p) for p in run.phase_lines],
    }


def _issue(issue: EntityIssue) -> dict[str, Any]:
    return {
        **_entity(issue.entity),
        "reasons": list(issue.reasons),
        "fields": [{"field": d.field, "expected": d.expected, "actual": d.actual} for d in issue.fields],
    }


def _problem(item: ProblemItem) -> dict[str, Any]:
    return {
        **_entity(item.entity),
        "phase": item.phase,
        "field": item.field,
        "message": item.message,
        "detail": item.detail,
    }


def _group(group: ProblemGroup) -> dict[str, Any]:
    return {
        "severity": group.severity,
        "code": group.code,
        "count": group.count,
        "entity_types": dict(group.entity_types),
        "message": group.message,
        "items": [_problem(i) for i in group.items],
    }


def _kept(kept: KeptInText) -> dict[str, Any]:
    return {
        "total": kept.count,
        "by_field": [
            {"field": f.field, "count": f.count, "entity_types": dict(f.entity_types), "codes": list(f.codes)}
            for f in kept.fields
        ],
        "groups": [_group(g) for g in kept.groups],
    }


def _unmatched(user: UnmatchedUser) -> dict[str, Any]:
    return {
        "account": user.account,
        "values": user.values,
        "fields": list(user.fields),
        "entity_types": dict(user.entity_types),
        "examples": [_entity(e) for e in user.examples],
    }


def report_to_dict(report: Report) -> dict[str, Any]:
    """The report as plain JSON-ready data, with every list complete.

    Args:
        report: A built report.

    Returns:
        Nested dicts and lists in a fixed key order.
    """
    issues: dict[str, list[dict[str, Any]]] = {"missing": [], "failed": [], "mismatch": []}
    for group in report.issues:
        issues.setdefault(group.kind, []).extend(_issue(i) for i in group.items)
    traffic = report.traffic
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "title": report.title,
        "project_key": report.project_key,
        "source": report.source or None,
        "qtest_project_id": report.qtest_project_id,
        "generated_at": iso(report.generated_at),
        "ztoq_version": report.ztoq_version,
        "store": report.store,
        "verdict": {"status": report.verdict.status, "reason": report.verdict.reason},
        "notices": [{"level": n.level, "code": n.code, "text": n.text} for n in report.notices],
        "counts": {"by_type": [_count(c) for c in report.counts], "total": _count(report.totals)},
        "entity_states": [
            {"entity_type": s.entity_type, "states": dict(s.states), "total": s.total}
            for s in report.entity_states
        ],
        "attachments": None if report.attachments is None else overview_to_dict(report.attachments),
        "traffic": {
            "requests_by_api": dict(traffic.requests_by_api),
            "requests_total": traffic.requests_total,
            "retries": traffic.retries,
            "rate_limit_waits": traffic.rate_limit_waits,
            "rate_limit_wait_seconds": traffic.rate_limit_wait_seconds,
        },
        "runs": [_run(r) for r in report.runs],
        "missing": issues["missing"],
        "failed": issues["failed"],
        "mismatches": issues["mismatch"],
        "mismatch_fields": [{"entity_type": t, "field": f, "count": n} for t, f, n in report.mismatch_fields],
        "problems": {
            "total": report.problem_count,
            "by_severity": dict(report.severity_totals),
            "groups": [_group(g) for g in report.problem_groups],
        },
        "kept_in_text": _kept(report.kept_in_text),
        "entities": [_entity(e) for e in report.entities],
    }
    if report.unmatched_users:
        # Only when there are some: reports without them read as before.
        body["unmatched_users"] = [_unmatched(u) for u in report.unmatched_users]
    return body


#: Lists whose elements are written one per line (compact), so huge reports stay compact.
RECORD_LISTS = frozenset(
    {"items", "entities", "missing", "failed", "mismatches", "by_owner_type", "examples", "by_field"}
)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, separators=(", ", ": "))


def _encode(value: Any, indent: str, records: bool, out: list[str]) -> None:
    """Pretty-print like ``json.dumps(indent=2)``, but with each element of a record list on one line."""
    inner = indent + "  "
    if isinstance(value, dict) and value:
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            out.append(("," if i else "") + "\n" + inner + _compact(str(key)) + ": ")
            _encode(item, inner, key in RECORD_LISTS, out)
        out.append("\n" + indent + "}")
    elif isinstance(value, list) and value:
        out.append("[")
        for i, item in enumerate(value):
            out.append(("," if i else "") + "\n" + inner)
            if records:
                out.append(_compact(item))
            else:
                _encode(item, inner, False, out)
        out.append("\n" + indent + "]")
    else:
        out.append(_compact(value))


def render_json(report: Report) -> str:
    """The JSON report: complete, stable key order, ISO dates, ends with a newline.

    Record lists (entities, problem items, missing, failed, mismatches, attachment rows and examples)
    hold one record per line.

    Args:
        report: A built report.

    Returns:
        The JSON text.
    """
    out: list[str] = []
    _encode(report_to_dict(report), "", False, out)
    text = "".join(out)
    for char, escaped in _INERT.items():
        text = text.replace(char, escaped)
    return text + "\n"
