"""Report inputs shared by the report tests: a fixed realistic one, an empty one, a huge one."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ztoq.report import (
    CountRow,
    EntityLink,
    MismatchRecord,
    PhaseRecord,
    ProblemRecord,
    ReportInput,
    RunRecord,
)

T0 = datetime(2024, 5, 1, 9, 0, 0, tzinfo=UTC)
HOSTILE = "<script>alert(1)</script>"
HOSTILE_IMG = '<img src="http://127.0.0.1:9/pwned" onerror="alert(2)">'
QTEST = "https://acme.qtestnet.com/p/42/portal/project#tab=testdesign&object=1&id="


def at(minutes: float) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


def _phases(run_id: int, start: float, names: list[str], status: str = "succeeded") -> list[PhaseRecord]:
    counts = {"test_case": {"done": 4, "total": 4, "failed": 0, "skipped": 0}}
    return [
        PhaseRecord(run_id, name, status, at(start + i * 2), at(start + i * 2 + 1.5), counts)
        for i, name in enumerate(names)
    ]


def fixed_input() -> ReportInput:
    """A small migration with a bit of everything: degradations, a failure, a mismatch, hostile text."""
    runs = [
        RunRecord(
            1,
            "migrate run",
            ["extract", "transform", "load"],
            "interrupted",
            at(0),
            at(5),
            {"zephyr": 120, "qtest": 40},
            3,
            2,
            4.5,
            error="interrupted by SIGINT; state saved",
        ),
        RunRecord(
            2,
            "migrate run",
            ["extract", "transform", "load", "validate"],
            "succeeded",
            at(10),
            at(19),
            {"qtest": 300, "zephyr": 15},
            5,
            4,
            61.25,
        ),
    ]
    interrupted_load = PhaseRecord(
        1, "load", "interrupted", at(4), at(5), {"test_case": {"done": 2, "total": 4}}
    )
    phases = [*_phases(1, 0, ["extract", "transform"]), interrupted_load]
    phases += _phases(2, 10, ["extract", "transform", "load", "validate"])
    counts = [
        CountRow("test_case", 4, 4, 3, 3, 0, 1),
        CountRow("module", 2, 2, 2, 2, 0, 0),
        CountRow("test_run", 3, 2, 2, 2, 1, 0),
        CountRow("test_log", 3, 3, 3, None, 0, 0),
    ]
    entities = [
        EntityLink("module", "folder:1", 101, QTEST + "101", "created"),
        EntityLink("module", "folder:2", 102, QTEST + "102", "adopted"),
        EntityLink("test_case", "PROJ-T1", 201, QTEST + "201", "created"),
        EntityLink("test_case", "PROJ-T2", 202, "javascript:alert(document.cookie)", "updated"),
        EntityLink("test_case", HOSTILE, 203, QTEST + "203", "created"),
        EntityLink("test_case", "PROJ-T4", None, None, "failed"),
        EntityLink("test_run", "PROJ-E1", 301, None, "created"),
        EntityLink("test_run", "PROJ-E2", 302, None, "created"),
        EntityLink("test_run", "PROJ-E3", None, None, "skipped"),
    ]
    urgent = "Priority 'Urgent' has no qTest value; set to Medium."
    blocker = "Priority 'Blocker' has no qTest value; set to Medium."
    problems = [
        ProblemRecord(
            "transform", "degraded", "priority_defaulted", "test_case", "PROJ-T1", urgent, "priority",
            {"zephyr": "Urgent", "qtest": "Medium"},
        ),
        ProblemRecord(
            "transform", "degraded", "priority_defaulted", "test_case", HOSTILE, blocker, "priority",
        ),
        ProblemRecord(
            "transform", "degraded", "rich_text_flattened", "test_case", "PROJ-T2",
            f"Description HTML flattened: {HOSTILE_IMG}", "description",
        ),
        ProblemRecord(
            "transform", "skipped", "execution_without_end_date", "test_run", "PROJ-E3",
            "Execution has no end date; skipped.",
        ),
        ProblemRecord(
            "load", "failed", "qtest_rejected", "test_case", "PROJ-T4", "qTest answered 400: name too long.",
            detail={"status": 400},
        ),
        ProblemRecord(
            "validate", "mismatch", "field_differs", "test_case", "PROJ-T2", "Name differs.", "name",
            {"expected": "Login works", "actual": "Login work"},
        ),
        ProblemRecord(
            "transform", "kept_in_text", "field_in_description", "test_case", "PROJ-T1",
            "Zephyr test case labels has no qTest field mapped; the value is kept in text.", "labels",
        ),
        ProblemRecord(
            "transform", "kept_in_text", "field_in_description", "test_case", "PROJ-T2",
            "Zephyr test case labels has no qTest field mapped; the value is kept in text.", "labels",
        ),
        ProblemRecord(
            "transform", "kept_in_text", "field_in_description", "test_run", "PROJ-E1",
            "The target's test runs have no field 'Environment'; the environment is kept in the note.",
            "Environment",
        ),
    ]  # fmt: skip
    mismatches = [
        MismatchRecord("test_case", "PROJ-T2", 202, None, "precondition", "User exists", ""),
        MismatchRecord("test_case", HOSTILE, 203, None, "description", HOSTILE_IMG, "&lt;img&gt;"),
    ]
    return ReportInput(
        title="Migration report: PROJ → qTest 42",
        project_key="PROJ",
        qtest_project_id=42,
        generated_at=at(30),
        ztoq_version="0.1.0",
        store="sqlite:///migration.db",
        runs=runs,
        phases=phases,
        counts=counts,
        problems=problems,
        mismatches=mismatches,
        entities=entities,
        source="Zephyr Scale Cloud (REST API v2)",
    )


def empty_input() -> ReportInput:
    """Nothing recorded at all."""
    return ReportInput(
        title="Migration report: PROJ",
        project_key="PROJ",
        qtest_project_id=None,
        generated_at=T0,
        ztoq_version="0.1.0",
        store="sqlite:///empty.db",
        runs=[],
        phases=[],
        counts=[],
        problems=[],
        mismatches=[],
        entities=[],
    )


def clean_input(**changes: object) -> ReportInput:
    """A finished, validated migration with nothing wrong; fields can be overridden."""
    base = replace(
        empty_input(),
        runs=[
            RunRecord(
                7,
                "migrate run",
                ["extract", "transform", "load", "validate"],
                "succeeded",
                at(0),
                at(9),
                {},
                0,
                0,
                0.0,
            )
        ],
        phases=_phases(7, 0, ["extract", "transform", "load", "validate"]),
        counts=[CountRow("test_case", 2, 2, 2, 2, 0, 0), CountRow("module", 1, 1, 1, 1, 0, 0)],
        entities=[
            EntityLink("module", "folder:1", 1, QTEST + "1", "created"),
            EntityLink("test_case", "PROJ-T1", 2, QTEST + "2", "created"),
            EntityLink("test_case", "PROJ-T2", 3, QTEST + "3", "created"),
        ],
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def big_input(n: int) -> ReportInput:
    """``n`` test cases and ``n`` problems over a handful of codes, plus ``n // 100`` mismatches."""
    codes = [("degraded", f"code_{i}") for i in range(8)] + [("skipped", "skip_a"), ("failed", "boom")]
    problems = [
        ProblemRecord(
            "transform",
            codes[i % len(codes)][0],
            codes[i % len(codes)][1],
            "test_case",
            f"PROJ-T{i}",
            f"Value {i} of field custom_{i % 50} could not be mapped {HOSTILE}",
            f"custom_{i % 50}",
            {"value": i},
        )
        for i in range(n)
    ]
    entities = [
        EntityLink("test_case", f"PROJ-T{i}", 10_000 + i, QTEST + str(i), "created") for i in range(n)
    ]
    mismatches = [
        MismatchRecord("test_case", f"PROJ-T{i}", 10_000 + i, None, "name", f"Name {i}", f"Name {i}!")
        for i in range(0, n, 100)
    ]
    return clean_input(
        counts=[CountRow("test_case", n, n, n, n - 5, 0, 0)],
        entities=entities,
        problems=problems,
        mismatches=mismatches,
    )
