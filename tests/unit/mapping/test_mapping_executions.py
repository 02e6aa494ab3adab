"""Zephyr executions -> qTest test runs and test logs (ztoq.mapping.executions)."""

from __future__ import annotations

from typing import Any

import mapping_builders as mb
from mapping_builders import codes

from ztoq.mapping.base import PlannedEntity, ref
from ztoq.mapping.executions import executed_test_case, plan_executions, plan_test_log
from ztoq.mapping.steps import find_step_refs, step_ref
from ztoq.mapping.text import find_source_key
from ztoq.vendor import QTEST_TEXT


def execution(ident: int, case: str = "PROJ-T1", cycle: int | None = 300, **more: Any) -> dict[str, Any]:
    """A TestExecution as GET /testexecutions returns it."""
    raw: dict[str, Any] = {
        "id": ident,
        "key": f"PROJ-E{ident}",
        "project": {"id": 10005, "self": "https://api/projects/10005"},
        "testCase": {"id": 9, "self": f"https://api/testcases/{case}/versions/3"},
        "environment": {"id": 40, "self": "https://api/environments/40"},
        "testExecutionStatus": {"id": 22, "self": "https://api/statuses/22"},
        "actualEndDate": "2024-01-02T10:00:00Z",
        "estimatedTime": 138000,
        "executionTime": 120000,
        "executedById": mb.ADA,
        "assignedToId": mb.GRACE,
        "comment": "All <b>good</b>",
        "automated": False,
        "customFields": {},
        "links": {"self": "x", "issues": []},
    }
    if cycle is not None:
        raw["testCycle"] = {"id": cycle, "self": f"https://api/testcycles/{cycle}"}
    raw.update(more)
    return raw


def step(status: int | None = 22, actual: str = "ok", description: str = "Do") -> dict[str, Any]:
    inline: dict[str, Any] = {"description": description, "expectedResult": "Done", "actualResult": actual}
    if status is not None:
        inline["status"] = {"id": status}
    return {"inline": inline}


def lookups(**more: Any) -> Any:
    params: dict[str, Any] = {
        "test_cycles": [{"id": 300, "key": "PROJ-R1"}, {"id": 301, "key": "PROJ-R2"}],
        "test_case_step_counts": {"PROJ-T1": 2, "PROJ-T2": 1},
        "issue_keys": {10100: "BUG-1"},
    }
    return mb.lookups(**{**params, **more})


USERS = {"users": {mb.ADA: "ada@example.com", mb.GRACE: "grace"}}


def run_all(
    executions: list[dict[str, Any]], steps: dict[Any, Any] | None = None, **config: Any
) -> list[PlannedEntity]:
    return plan_executions(
        mb.executions(executions, steps or {}), lookups(), mb.target(), mb.config(**config)
    )


def log_of(
    executions_: dict[str, Any], steps: list[dict[str, Any]] | None = None, **config: Any
) -> PlannedEntity:
    planned = plan_test_log(
        mb.execution(executions_, steps or []), lookups(), mb.target(), mb.config(**config)
    )
    assert planned is not None
    return planned


def body(planned: PlannedEntity) -> dict[str, Any]:
    assert planned.body is not None, planned.problems
    return planned.body


def test_one_run_per_cycle_and_test_case_one_log_per_execution() -> None:
    plans = run_all(
        [
            execution(1),
            execution(2, actualEndDate="2024-01-01T09:00:00Z"),
            execution(3, cycle=301),
            execution(4, case="PROJ-T2"),
        ],
        mappings=USERS,
    )
    runs = [p for p in plans if p.entity_type == "test_run"]
    logs = [p for p in plans if p.entity_type == "test_log"]
    assert [r.source_key for r in runs] == ["PROJ-R1|PROJ-T1", "PROJ-R2|PROJ-T1", "PROJ-R1|PROJ-T2"]
    assert [entry.source_key for entry in logs] == ["PROJ-E1", "PROJ-E2", "PROJ-E3", "PROJ-E4"]
    assert not any(p.entity_type == "test_cycle" for p in plans)  # no ad hoc cycle needed
    run = runs[0]
    assert body(run)["name"] == "Login works"
    assert body(run)["test_case"] == {"id": ref("test_case", "PROJ-T1")}
    assert run.options == {"parent_id": ref("test_cycle", "PROJ-R1"), "parent_type": "test-cycle"}
    assert run.depends_on == [("test_case", "PROJ-T1"), ("test_cycle", "PROJ-R1")]
    assert logs[0].options["run"] == ref("test_run", "PROJ-R1|PROJ-T1")
    assert logs[0].depends_on == [("test_run", "PROJ-R1|PROJ-T1")]
    # Oldest first within a run: E2 ended before E1.
    same_run = sorted(
        (entry for entry in logs if entry.options["run"] == logs[0].options["run"]), key=lambda p: p.sort_key
    )
    assert [entry.source_key for entry in same_run] == ["PROJ-E2", "PROJ-E1"]


def test_run_fields_come_from_the_latest_execution() -> None:
    plans = run_all(
        [
            execution(1, environment={"id": 41}, assignedToId=mb.ADA),
            execution(2, actualEndDate="2023-01-01T00:00:00Z"),
        ],
        mappings=USERS,
    )
    run = plans[0]
    props = {p["field_id"]: p["field_value"] for p in body(run)["properties"]}
    # Latest is E1: its environment "Safari 17" is no choice of the run field, its assignee is Ada.
    assert props == {803: "[501]"}


def test_log_payload() -> None:
    planned = log_of(execution(7), [step(), step(23, "broken")], mappings=USERS)
    payload = body(planned)
    assert payload["status"] == {"id": 601}
    assert payload["exe_end_date"] == "2024-01-02T10:00:00.000Z"
    assert payload["exe_start_date"] == "2024-01-02T09:58:00.000Z"
    assert payload["name"] == "Login works"
    assert payload["properties"] == [{"field_id": 801, "field_value": "811"}]  # Environment "Chrome Latest"
    assert payload["test_step_logs"] == [
        {"test_step_id": step_ref("PROJ-T1", 1), "status": {"id": 601}, "actual_result": "ok", "order": 1},
        {
            "test_step_id": step_ref("PROJ-T1", 2),
            "status": {"id": 602},
            "actual_result": "broken",
            "order": 2,
        },
    ]
    assert find_step_refs(payload) == [("PROJ-T1", 1), ("PROJ-T1", 2)]
    note = payload["note"]
    assert note.startswith("All <b>good</b><br>")
    assert f"<td>Executed by</td><td>Ada Lovelace ({mb.ADA})</td>" in note
    assert f"<td>Assigned to</td><td>Grace Hopper ({mb.GRACE})</td>" in note
    assert "<td>Test case version</td><td>3</td>" in note
    assert "<td>Estimated time</td><td>2m 18s (138000 ms)</td>" in note
    assert find_source_key(note) == "PROJ-E7"
    assert planned.sort_key == "2024-01-02T10:00:00.000Z#000000000000007"
    assert planned.options == {"run": ref("test_run", "PROJ-R1|PROJ-T1"), "executed_by": 501}
    assert "unmapped_user" not in codes(planned)


def test_start_equals_end_without_execution_time() -> None:
    payload = body(log_of(execution(1, executionTime=None)))
    assert payload["exe_start_date"] == payload["exe_end_date"]


def test_status_equivalents_mapping_and_default() -> None:
    assert body(log_of(execution(1, testExecutionStatus={"id": 21})))["status"] == {"id": 603}  # In Progress
    assert body(log_of(execution(1, testExecutionStatus={"id": 24})))["status"] == {"id": 604}  # Blocked
    custom = log_of(execution(1, testExecutionStatus={"id": 25}))  # "Retest Needed"
    assert body(custom)["status"] == {"id": 605}
    assert "execution_status_defaulted" in codes(custom)
    assert "<td>Zephyr status (execution PROJ-E1)</td><td>Retest Needed</td>" in body(custom)["note"]
    mapped = log_of(
        execution(1, testExecutionStatus={"id": 25}),
        mappings={"execution_status": {"Retest Needed": "Failed"}},
    )
    assert body(mapped)["status"] == {"id": 602}
    assert "execution_status_defaulted" not in codes(mapped)
    override = log_of(execution(1), mappings={"execution_status": {"pass": "Blocked"}})
    assert body(override)["status"] == {"id": 604}
    missing = log_of(execution(1), mappings={"execution_status": {"Pass": "Great"}})
    assert body(missing)["status"] == {"id": 605}
    assert "mapping_target_missing" in codes(missing)


def test_no_qtest_statuses_fails_the_log() -> None:
    fields = mb.target()
    bare = type(fields)(by_object=fields.by_object, execution_statuses=(), users=fields.users)
    planned = plan_test_log(mb.execution(execution(1)), lookups(), bare, mb.config())
    assert planned is not None
    assert planned.body is None
    assert "execution_status_unavailable" in codes(planned)


def test_never_run_execution_has_a_run_but_no_log() -> None:
    never = execution(5, testExecutionStatus={"id": 20}, actualEndDate=None, executionTime=None)
    assert plan_test_log(mb.execution(never), lookups(), mb.target(), mb.config()) is None
    plans = run_all([never])
    assert [p.entity_type for p in plans] == ["test_run"]
    # Its assignee is not in mappings.users: with no log to name them in, the run says so.
    assert [(p.severity, p.code, p.field) for p in plans[0].problems] == [
        ("degraded", "unmapped_user", "Assigned To")
    ]


def test_result_without_end_date_is_skipped_with_the_reason() -> None:
    planned = log_of(execution(5, actualEndDate=None))
    assert planned.body is None
    assert [(p.severity, p.code) for p in planned.problems] == [("skipped", "execution_without_end_date")]


def test_step_results_in_the_note_when_counts_differ() -> None:
    planned = log_of(execution(1), [step(), step(), step(23, "three")])
    payload = body(planned)
    assert payload["test_step_logs"] == []
    assert "step_results_in_note" in codes(planned)
    note = payload["note"]
    assert "<th>#</th><th>Step</th><th>Expected</th><th>Status</th><th>Actual result</th>" in note
    assert "<tr><td>3</td><td>Do</td><td>Done</td><td>Fail</td><td>three</td></tr>" in note
    unknown_count = log_of(
        execution(1, testCase={"self": "https://api/testcases/PROJ-T9/versions/1"}), [step()]
    )
    assert "step_results_in_note" in codes(unknown_count)


def test_unmapped_step_status_is_defaulted_once() -> None:
    planned = log_of(execution(1), [step(25), step(25)])
    assert codes(planned).count("execution_status_defaulted") == 1
    assert [s["status"] for s in body(planned)["test_step_logs"]] == [{"id": 605}, {"id": 605}]
    assert "<td>Zephyr status (step 2)</td><td>Retest Needed</td>" in body(planned)["note"]


def test_step_without_status_is_unexecuted_silently() -> None:
    planned = log_of(execution(1), [step(None), step()])
    assert body(planned)["test_step_logs"][0]["status"] == {"id": 605}
    assert "execution_status_defaulted" not in codes(planned)


def test_unmapped_users_are_named_in_the_note() -> None:
    planned = log_of(execution(1, executedById=mb.GONE))
    note = body(planned)["note"]
    assert f"<td>Executed by</td><td>{mb.GONE}</td>" in note
    assert codes(planned).count("unmapped_user") == 2  # executor and assignee (no users mapped)
    assert "executed_by" not in planned.options


def test_environment_without_a_run_field_goes_to_the_note() -> None:
    fields = mb.target(test_runs=[mb.qfield(803, "Assigned To", 5, multiple=True)])
    planned = plan_test_log(mb.execution(execution(1)), lookups(), fields, mb.config())
    assert planned is not None
    assert "<td>Environment</td><td>Chrome Latest</td>" in body(planned)["note"]
    assert ("field_in_description", "Environment") in [(p.code, p.field) for p in planned.problems]


def test_environment_field_name_from_config_and_unknown_choice() -> None:
    fields = mb.target(test_runs=[mb.qfield(850, "Platform", QTEST_TEXT)])
    planned = plan_test_log(
        mb.execution(execution(1)), lookups(), fields, mb.config(mappings={"environment_field": "Platform"})
    )
    assert planned is not None
    assert body(planned)["properties"] == [{"field_id": 850, "field_value": "Chrome Latest"}]
    safari = log_of(execution(1, environment={"id": 41}))
    assert "custom_field_unconvertible" in codes(safari)
    assert "<td>Environment</td><td>Safari 17</td>" in body(safari)["note"]


def test_execution_custom_fields() -> None:
    planned = log_of(
        execution(1, customFields={"Browser": "Firefox", "Defect Notes": "flaky\nagain"}),
        custom_fields={"test_execution": {"Browser": "Browser Version"}},
    )
    assert {"field_id": 802, "field_value": "822"} in body(planned)["properties"]
    assert "<td>Defect Notes</td><td>flaky<br>again</td>" in body(planned)["note"]


def test_defects_are_named_in_the_note_and_listed_for_the_load_phase() -> None:
    links = {"issues": [{"issueId": 10100, "type": "RELATED"}, {"issueId": 10200}]}
    planned = log_of(execution(1, links=links))
    assert planned.options["defect_links"] == ["BUG-1"]
    assert "<td>Jira issues</td><td>BUG-1<br>issue 10200</td>" in body(planned)["note"]
    assert "defects_in_note" in codes(planned)


def test_execution_without_cycle_goes_to_the_adhoc_cycle() -> None:
    plans = run_all([execution(1, cycle=None), execution(2, cycle=999)])
    assert plans[0].entity_type == "test_cycle"
    assert plans[0].source_key == "adhoc"
    run = plans[1]
    assert run.source_key == "adhoc|PROJ-T1"
    assert run.options["parent_id"] == ref("test_cycle", "adhoc")
    assert "unknown_test_cycle" in codes(run)
    assert [p.options["run"] for p in plans if p.entity_type == "test_log"] == [
        ref("test_run", "adhoc|PROJ-T1")
    ] * 2


def test_run_of_an_unknown_test_case_fails_with_the_reason() -> None:
    plans = run_all([execution(1, testCase={"id": 1, "self": "https://api/testcases/GONE-T1/versions/1"})])
    run, log = plans
    assert run.body is None
    assert "unknown_test_case" in codes(run)
    assert log.body is None
    assert [(p.severity, p.code) for p in log.problems][-1] == ("skipped", "run_not_created")


def test_executed_test_case_key_and_version_from_the_link() -> None:
    assert executed_test_case(
        mb.execution({"testCase": {"self": "https://x/v2/testcases/SA-T10/versions/2"}})
    ) == (
        "SA-T10",
        "2",
    )
    assert executed_test_case(mb.execution({"testCase": {"key": "SA-T1"}})) == ("SA-T1", None)
    assert executed_test_case(mb.execution({})) == (None, None)


def test_source_key_field_on_runs() -> None:
    fields = mb.target(test_runs=[*mb.run_fields(), mb.qfield(860, "Zephyr Key", QTEST_TEXT)])
    plans = plan_executions(mb.executions([execution(1)], {}), lookups(), fields, mb.config())
    assert {"field_id": 860, "field_value": "PROJ-R1|PROJ-T1"} in body(plans[0])["properties"]


def test_steps_found_by_execution_id_or_key() -> None:
    by_id = run_all([execution(1)], {1: [step(), step()]})
    by_key = run_all([execution(1)], {"PROJ-E1": [step(), step()]})
    for plans in (by_id, by_key):
        log = next(p for p in plans if p.entity_type == "test_log")
        assert len(body(log)["test_step_logs"]) == 2


def test_many_executions_are_fast() -> None:
    executions = [execution(i, actualEndDate=f"2024-01-{1 + i % 28:02d}T10:00:00Z") for i in range(1, 2001)]
    plans = run_all(executions, {i: [step(), step()] for i in range(1, 2001)})
    assert len(plans) == 2001


def test_log_values_kept_whole_in_text_are_kept_in_text_and_changed_values_degraded() -> None:
    """A mapped assignee, the environment and defects are named whole in the note (kept_in_text);
    an unmatched tester and a defaulted status changed on the way (degraded)."""
    fields = mb.target(test_runs=[mb.qfield(803, "Assigned To", 5, multiple=True)])
    raw = execution(
        1,
        executedById=mb.GONE,
        testExecutionStatus={"id": 25},  # "Retest Needed": no qTest status
        links={"issues": [{"issueId": 10100}]},
    )
    planned = plan_test_log(mb.execution(raw), lookups(), fields, mb.config(mappings=USERS))
    assert planned is not None
    assert {(p.code, p.field): p.severity for p in planned.problems} == {
        ("execution_status_defaulted", "Retest Needed"): "degraded",
        ("unmapped_user", "Executed by"): "degraded",
        ("field_in_description", "Assigned to"): "kept_in_text",
        ("field_in_description", "Environment"): "kept_in_text",
        ("field_in_description", "Estimated time"): "kept_in_text",
        ("defects_in_note", "Jira issues"): "kept_in_text",
    }
