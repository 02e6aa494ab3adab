"""Unmatched users are listed once per person, whatever the number of values naming them."""

from __future__ import annotations

import json

from report_inputs import clean_input

from ztoq.report import ProblemRecord, build_report, render_html, render_json, render_markdown
from ztoq.report.people import EXAMPLES

GONE = "557058:aa11bb22-cc33-dd44-ee55-ff6677889900"
TEMP = "5b10ac8d82e05b22cc7d4ef9"


def _problem(key: str, code: str, field: str, **detail: object) -> ProblemRecord:
    return ProblemRecord(
        "transform", "degraded", code, "test_log", key, "Jira user has no qTest user.", field, detail
    )


def test_one_line_per_person_with_values_fields_and_examples() -> None:
    problems = [_problem(f"DEMO-E{i}", "unmapped_user", "Executed by", account_ids=[GONE]) for i in range(9)]
    problems += [
        _problem("DEMO-E1", "unmapped_user", "Assigned to", account_ids=[GONE]),
        _problem("DEMO-R1", "unmapped_user", "Assigned To", account_id=TEMP),
        _problem("DEMO-T1", "custom_field_unconvertible", "Reviewer", account_ids=[TEMP, GONE]),
        _problem("DEMO-T2", "custom_field_unconvertible", "Sprint"),  # no person: not listed
    ]
    people = build_report(clean_input(problems=problems)).unmatched_users
    assert [(u.account, u.values) for u in people] == [(GONE, 11), (TEMP, 2)]
    gone = people[0]
    assert gone.fields == ("Executed by", "Assigned to", "Reviewer")
    assert gone.entity_types == (("test_log", 11),)
    assert len(gone.examples) == EXAMPLES
    assert people[1].fields == ("Assigned To", "Reviewer")


def test_rendered_in_every_format_only_when_there_are_some() -> None:
    clean = build_report(clean_input())
    assert "unmatched_users" not in json.loads(render_json(clean))
    assert "Unmatched users" not in render_markdown(clean)
    assert "Unmatched users" not in render_html(clean)
    report = build_report(
        clean_input(problems=[_problem("DEMO-E1", "unmapped_user", "Executed by", account_ids=[GONE])])
    )
    listed = json.loads(render_json(report))["unmatched_users"]
    assert [(u["account"], u["values"], u["fields"]) for u in listed] == [(GONE, 1, ["Executed by"])]
    assert f"| {GONE} | 1 | Executed by | test_log 1 |" in render_markdown(report)
    assert "Unmatched users" in render_html(report)
