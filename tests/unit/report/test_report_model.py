"""The pure report builder: verdict rules, counts, grouping, samples, notices, links."""

from __future__ import annotations

from dataclasses import replace

import pytest
from report_inputs import HOSTILE, QTEST, at, clean_input, empty_input, fixed_input

from ztoq.report import (
    CountRow,
    EntityLink,
    MismatchRecord,
    PhaseRecord,
    ProblemRecord,
    RunRecord,
    build_report,
)
from ztoq.report.formatting import fmt_duration, fmt_seconds, fmt_signed, safe_link
from ztoq.report.sections import FAILED, INCOMPLETE, PASSED, PASSED_WITH_DEGRADATIONS, Verdict


def _problem(severity: str, code: str, key: str = "PROJ-T1", **kw: object) -> ProblemRecord:
    return ProblemRecord("transform", severity, code, "test_case", key, f"{code} happened", **kw)  # type: ignore[arg-type]


# --- verdicts ---------------------------------------------------------------------------------


def test_clean_migration_passes() -> None:
    report = build_report(clean_input())
    assert report.verdict.status == PASSED
    assert report.verdict.reason == "All 3 source entities are in qTest and validation found no difference."
    assert report.notices == ()


def test_degradations_only_pass_with_degradations() -> None:
    data = clean_input(
        problems=[_problem("degraded", "priority_defaulted"), _problem("skipped", "no_end_date")]
    )
    verdict = build_report(data).verdict
    assert verdict.status == PASSED_WITH_DEGRADATIONS
    assert "1 value was degraded" in verdict.reason
    assert "1 entity was skipped by design" in verdict.reason


def test_values_kept_in_text_alone_pass_and_are_counted_apart() -> None:
    data = clean_input(
        problems=[
            _problem("kept_in_text", "field_in_description", field="labels"),
            _problem("kept_in_text", "field_in_description", "PROJ-T2", field="labels"),
            _problem("kept_in_text", "test_data_in_description", field="Test data"),
        ]
    )
    report = build_report(data)
    assert report.verdict == Verdict(
        PASSED,
        "All 3 source entities are in qTest and validation found no difference. "
        "3 values without a qTest field are kept whole in text.",
    )
    assert (report.problem_count, report.severity_totals, report.problem_groups) == (0, (), ())
    kept = report.kept_in_text
    assert kept.count == 3
    assert [(f.field, f.count, f.entity_types, f.codes) for f in kept.fields] == [
        ("labels", 2, (("test_case", 2),), ("field_in_description",)),
        ("Test data", 1, (("test_case", 1),), ("test_data_in_description",)),
    ]
    assert [(g.code, g.count) for g in kept.groups] == [
        ("field_in_description", 2),
        ("test_data_in_description", 1),
    ]


def test_degraded_count_is_only_the_values_that_changed() -> None:
    data = clean_input(
        problems=[
            _problem("degraded", "priority_defaulted", field="Priority"),
            _problem("kept_in_text", "field_in_description", field="labels"),
            _problem("kept_in_text", "field_in_description", "PROJ-T2", field="component"),
        ]
    )
    report = build_report(data)
    assert report.verdict.status == PASSED_WITH_DEGRADATIONS
    assert "; 1 value was degraded and 0 entities were skipped" in report.verdict.reason
    assert report.verdict.reason.endswith("2 values without a qTest field are kept whole in text.")
    assert report.severity_totals == (("degraded", 1),)
    assert [g.code for g in report.problem_groups] == ["priority_defaulted"]
    assert [(f.field, f.count) for f in report.kept_in_text.fields] == [("component", 1), ("labels", 1)]


def test_a_kept_value_without_a_field_name_counts_under_its_code() -> None:
    report = build_report(clean_input(problems=[_problem("kept_in_text", "multiple_plans")]))
    assert [(f.field, f.count) for f in report.kept_in_text.fields] == [("multiple_plans", 1)]


def test_skipped_count_alone_passes_with_degradations() -> None:
    data = clean_input(counts=[CountRow("test_run", 5, 4, 4, 4, 1, 0)])
    verdict = build_report(data).verdict
    assert verdict.status == PASSED_WITH_DEGRADATIONS
    assert "All 4 entities to migrate are in qTest" in verdict.reason


@pytest.mark.parametrize(
    ("change", "expected_words"),
    [
        ({"problems": [_problem("missing", "not_in_qtest")]}, "1 entity is missing"),
        ({"problems": [_problem("failed", "qtest_rejected")]}, "1 entity failed to load"),
        ({"problems": [_problem("mismatch", "field_differs")]}, "1 entity differs from Zephyr"),
        ({"problems": [_problem("exploded", "weird")]}, "1 blocking problem recorded"),
        (
            {"mismatches": [MismatchRecord("test_case", "PROJ-T1", 2, None, "name", "a", "b")]},
            "1 entity differs from Zephyr",
        ),
        (
            {"counts": [CountRow("test_case", 10, 10, 10, 7, 0, 0)]},
            "qTest holds 3 entities fewer than expected",
        ),
        ({"counts": [CountRow("test_case", 10, 10, 9, 10, 0, 1)]}, "1 entity failed to load"),
        (
            {"entities": [EntityLink("test_case", "PROJ-T9", None, None, "intent")]},
            "1 entity failed to load",
        ),
    ],
)
def test_anything_missing_failed_or_mismatched_fails(change: dict[str, object], expected_words: str) -> None:
    verdict = build_report(clean_input(**change)).verdict
    assert verdict.status == FAILED
    assert expected_words in verdict.reason


def test_failed_last_run_fails_with_its_error() -> None:
    run = RunRecord(8, "migrate run", ["load"], "failed", at(20), at(21), {}, 0, 0, 0.0, "401 Unauthorized")
    data = clean_input()
    verdict = build_report(replace(data, runs=[*data.runs, run])).verdict
    assert verdict.status == FAILED
    assert verdict.reason == "Run #8 (migrate run) failed: 401 Unauthorized."


@pytest.mark.parametrize(
    ("status", "words"),
    [("running", "has not finished"), ("interrupted", "was interrupted")],
)
def test_unfinished_last_run_is_incomplete(status: str, words: str) -> None:
    run = RunRecord(8, "migrate run", ["load"], status, at(20), None, {}, 0, 0, 0.0)
    data = clean_input()
    report = build_report(replace(data, runs=[*data.runs, run]))
    assert report.verdict.status == INCOMPLETE
    assert words in report.verdict.reason
    assert "#8" in report.verdict.reason


def test_no_validation_is_incomplete() -> None:
    data = clean_input()
    data = replace(data, phases=[p for p in data.phases if p.phase != "validate"])
    verdict = build_report(data).verdict
    assert verdict.status == INCOMPLETE
    assert verdict.reason.startswith("Validation never ran")


def test_failed_validation_is_incomplete() -> None:
    data = clean_input()
    phases = [replace(p, status="failed") if p.phase == "validate" else p for p in data.phases]
    verdict = build_report(replace(data, phases=phases)).verdict
    assert verdict.status == INCOMPLETE
    assert "did not succeed (status failed)" in verdict.reason


def test_load_after_validation_is_incomplete() -> None:
    data = clean_input()
    later = RunRecord(9, "migrate run", ["load"], "succeeded", at(60), at(61), {}, 0, 0, 0.0)
    load = PhaseRecord(9, "load", "succeeded", at(60), at(61), {})
    verdict = build_report(replace(data, runs=[*data.runs, later], phases=[*data.phases, load])).verdict
    assert verdict.status == INCOMPLETE
    assert "after the last validation" in verdict.reason


def test_skipped_load_after_validation_does_not_matter() -> None:
    data = clean_input()
    later = RunRecord(9, "migrate run", ["load"], "succeeded", at(60), at(61), {}, 0, 0, 0.0)
    load = PhaseRecord(9, "load", "skipped", at(60), at(61), {})
    assert (
        build_report(replace(data, runs=[*data.runs, later], phases=[*data.phases, load])).verdict.status
        == PASSED
    )


def test_empty_input_says_nothing_was_migrated() -> None:
    report = build_report(empty_input())
    assert report.verdict.status == INCOMPLETE
    assert report.verdict.reason == (
        "Nothing was migrated or validated: the store records no ztoq run for project PROJ."
    )
    assert report.counts == ()
    assert report.totals.source == 0
    assert report.problem_groups == ()
    assert report.runs == ()


def test_uncounted_type_is_named_in_reason_and_notice() -> None:
    data = clean_input(counts=[CountRow("test_log", 3, 3, 3, None, 0, 0)])
    report = build_report(data)
    assert report.verdict.status == PASSED
    assert "qTest was not counted for test_log" in report.verdict.reason
    assert [n.code for n in report.notices] == ["not_counted"]


# --- counts -----------------------------------------------------------------------------------


def test_counts_difference_expected_and_totals() -> None:
    report = build_report(fixed_input())
    by_type = {c.entity_type: c for c in report.counts}
    assert [c.entity_type for c in report.counts] == ["module", "test_case", "test_run", "test_log"]
    assert by_type["test_case"].difference == -1
    assert not by_type["test_case"].ok
    assert by_type["test_run"].expected == 2
    assert by_type["test_run"].difference == 0
    assert by_type["test_log"].difference is None
    assert report.totals.source == 12
    assert report.totals.expected == 11
    assert report.totals.target is None
    assert report.totals.difference is None


def test_extra_entities_in_qtest_raise_a_notice_not_a_failure() -> None:
    report = build_report(clean_input(counts=[CountRow("test_case", 2, 2, 2, 5, 0, 0)]))
    assert report.verdict.status == PASSED
    assert report.counts[0].difference == 3
    assert [n.code for n in report.notices] == ["extra_in_target"]
    assert "test_case (+3)" in report.notices[0].text


# --- notices and runs -------------------------------------------------------------------------


def test_rate_limiting_notice_is_first_with_totals() -> None:
    report = build_report(fixed_input())
    first = report.notices[0]
    assert first.code == "rate_limiting"
    assert first.text == (
        "Rate limiting: qTest or Zephyr answered 429 (Too Many Requests) 6 times; "
        "ztoq waited 65.8 s (1 min 06 s) in total and retried 8 requests in all."
    )


def test_retries_without_429_get_their_own_notice() -> None:
    data = clean_input()
    runs = [replace(data.runs[0], retries=4)]
    report = build_report(replace(data, runs=runs))
    assert [n.code for n in report.notices] == ["retries"]
    assert "retried 4 requests" in report.notices[0].text


def test_runs_newest_first_with_phases_durations_and_traffic() -> None:
    report = build_report(fixed_input())
    assert [r.id for r in report.runs] == [2, 1]
    newest = report.runs[0]
    assert newest.duration_seconds == 540.0
    assert newest.requests_by_api == (("qtest", 300), ("zephyr", 15))
    assert newest.requests_total == 315
    assert [p.phase for p in newest.phase_lines] == ["extract", "transform", "load", "validate"]
    assert newest.phase_lines[0].duration_seconds == 90.0
    assert report.traffic.requests_by_api == (("qtest", 340), ("zephyr", 135))
    assert report.traffic.rate_limit_waits == 6
    assert report.traffic.rate_limit_wait_seconds == 65.75


def test_unfinished_run_has_no_duration() -> None:
    run = RunRecord(3, "migrate run", [], "running", at(0), None, {}, 0, 0, 0.0)
    report = build_report(replace(empty_input(), runs=[run]))
    assert report.runs[0].duration_seconds is None
    assert [n.code for n in report.notices] == ["run_unfinished"]


# --- problems, issues, links ------------------------------------------------------------------


def test_problems_grouped_worst_first_then_by_count() -> None:
    problems = [_problem("degraded", "a", f"K{i}") for i in range(3)]
    problems += [_problem("degraded", "b", f"K{i}") for i in range(5)]
    problems += [_problem("skipped", "c"), _problem("failed", "d"), _problem("odd", "e")]
    report = build_report(clean_input(problems=problems))
    assert [(g.severity, g.code, g.count) for g in report.problem_groups] == [
        ("failed", "d", 1),
        ("odd", "e", 1),
        ("degraded", "b", 5),
        ("degraded", "a", 3),
        ("skipped", "c", 1),
    ]
    assert report.severity_totals == (("failed", 1), ("odd", 1), ("degraded", 8), ("skipped", 1))
    assert report.problem_count == 11


def test_samples_are_capped_but_items_complete() -> None:
    problems = [_problem("degraded", "a", f"K{i}") for i in range(120)]
    report = build_report(clean_input(problems=problems), sample_size=7)
    (group,) = report.problem_groups
    assert group.count == 120
    assert len(group.items) == 120
    assert [p.entity.source_key for p in group.sample] == [f"K{i}" for i in range(7)]
    assert group.more == 113
    assert group.entity_types == (("test_case", 120),)


def test_sample_size_zero_and_negative() -> None:
    report = build_report(clean_input(problems=[_problem("degraded", "a")]), sample_size=0)
    assert report.problem_groups[0].sample == ()
    assert report.problem_groups[0].more == 1
    with pytest.raises(ValueError, match="sample_size"):
        build_report(clean_input(), sample_size=-1)


def test_group_message_is_the_most_frequent() -> None:
    problems = [
        ProblemRecord("t", "degraded", "a", "test_case", "K1", "rare"),
        ProblemRecord("t", "degraded", "a", "test_case", "K2", "common"),
        ProblemRecord("t", "degraded", "a", "test_case", "K3", "common"),
    ]
    assert build_report(clean_input(problems=problems)).problem_groups[0].message == "common"


def test_problem_entities_get_url_and_id_from_the_entity_index() -> None:
    report = build_report(clean_input(problems=[_problem("degraded", "a", "PROJ-T2")]))
    entity = report.problem_groups[0].items[0].entity
    assert entity.target_id == 3
    assert entity.link == QTEST + "3"
    assert entity.state == "created"


def test_javascript_url_is_kept_as_data_but_never_a_link() -> None:
    report = build_report(fixed_input())
    t2 = next(e for e in report.entities if e.source_key == "PROJ-T2")
    assert t2.web_url == "javascript:alert(document.cookie)"
    assert t2.link is None


def test_missing_failed_and_mismatch_issues() -> None:
    report = build_report(fixed_input())
    kinds = [(g.kind, g.entity_type, g.count) for g in report.issues]
    assert kinds == [("failed", "test_case", 1), ("mismatch", "test_case", 2)]
    failed = report.issues[0].items[0]
    assert failed.entity.source_key == "PROJ-T4"
    assert failed.reasons[0] == "qTest answered 400: name too long."
    mismatch = {i.entity.source_key: i for i in report.issues[1].items}
    assert [(d.field, d.expected, d.actual) for d in mismatch["PROJ-T2"].fields] == [
        ("name", "Login works", "Login work"),
        ("precondition", "User exists", ""),
    ]
    assert mismatch[HOSTILE].entity.target_id == 203
    assert report.mismatch_fields == (
        ("test_case", "description", 1),
        ("test_case", "name", 1),
        ("test_case", "precondition", 1),
    )


def test_missing_entities_from_problems_and_states() -> None:
    data = clean_input(
        problems=[_problem("missing", "not_found", "PROJ-T1")],
        entities=[EntityLink("test_case", "PROJ-T5", 5, None, "missing")],
    )
    (group,) = build_report(data, sample_size=1).issues
    assert (group.kind, group.count, group.more) == ("missing", 2, 1)
    assert [i.entity.source_key for i in group.items] == ["PROJ-T1", "PROJ-T5"]


def test_entity_states_per_type() -> None:
    states = {s.entity_type: s for s in build_report(fixed_input()).entity_states}
    assert states["test_case"].states == (("created", 2), ("failed", 1), ("updated", 1))
    assert states["test_case"].total == 4


# --- formatting helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "linked"),
    [
        ("https://acme.qtestnet.com/p/1#x", True),
        ("HTTP://host:8080/a?b=c", True),
        ("javascript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox", False),
        ("//evil.example/x", False),
        ("/relative", False),
        ("https://", False),
        ("https://user:pw@host/", False),
        ("https://host/a b", False),
        ("", False),
        (None, False),
    ],
)
def test_safe_link(url: str | None, linked: bool) -> None:
    assert safe_link(url) == (url if linked else None)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "–"), (0.25, "250 ms"), (4.24, "4.2 s"), (185, "3 min 05 s"), (7620, "2 h 07 min")],
)
def test_fmt_duration(seconds: float | None, text: str) -> None:
    assert fmt_duration(seconds) == text


def test_fmt_seconds_and_signed() -> None:
    assert fmt_seconds(4.5) == "4.5 s"
    assert fmt_seconds(754.2) == "754.2 s (12 min 34 s)"
    assert (fmt_signed(3), fmt_signed(-1200), fmt_signed(0), fmt_signed(None)) == ("+3", "−1,200", "0", "–")
