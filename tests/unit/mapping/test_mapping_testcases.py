"""Zephyr test cases -> planned qTest test cases (ztoq.mapping.testcases)."""

from __future__ import annotations

import time
from typing import Any

import mapping_builders as mb
from mapping_builders import codes, prop

from ztoq.mapping.base import PlannedEntity, ref
from ztoq.mapping.lookups import TargetFields
from ztoq.mapping.testcases import plan_test_case, plan_test_cases
from ztoq.mapping.text import NAME_MAX_LENGTH, find_source_key
from ztoq.vendor import QTEST_DATE_TIME, QTEST_NUMBER, QTEST_PICK_LIST, QTEST_TEXT


def plan(
    test_case: dict[str, Any] | None = None,
    steps: list[dict[str, Any]] | None = None,
    script: dict[str, Any] | None = None,
    *,
    fields: TargetFields | None = None,
    **config: Any,
) -> PlannedEntity:
    return plan_test_case(
        mb.case(test_case or mb.zephyr_test_case(), steps or [], script),
        mb.lookups(),
        fields or mb.target(),
        mb.config(**config),
    )


def payload(planned: PlannedEntity) -> dict[str, Any]:
    assert planned.body is not None, planned.problems
    return planned.body


def test_a_plain_test_case() -> None:
    planned = plan(steps=[mb.inline("Open", "Shown")])
    assert (planned.entity_type, planned.source_key, planned.level) == ("test_case", "PROJ-T1", 0)
    body = payload(planned)
    assert body["name"] == "Login works"
    assert body["precondition"] == "Latest version of the axial pump available"
    assert body["parent_id"] == ref("module", "100")
    assert body["test_steps"] == [{"description": "Open", "expected": "Shown", "order": 1}]
    assert prop(planned, 2) == "21"  # Priority High (same label)
    assert prop(planned, 3) == "32"  # Status Approved (same label)
    assert body["description"].startswith("To ensure the axial pump can be enabled<br>")
    assert find_source_key(body["description"]) == "PROJ-T1"
    assert body["description"].endswith("<br>Zephyr key: PROJ-T1")
    assert planned.options == {"approve": True, "requirement_links": []}
    assert planned.depends_on == [("module", "100")]
    # createdOn has no target: kept in the block and counted.
    assert codes(planned) == ["field_in_description"]
    assert "<tr><td>createdOn</td><td>2018-05-15T13:15:13Z</td></tr>" in body["description"]


def test_html_unicode_emoji_rtl_and_script_survive_untouched() -> None:
    text = "<p>Check <b>ünïcødé</b> 🚀 עברית</p><script>alert(1)</script>"
    planned = plan(mb.zephyr_test_case(objective=text, precondition="Line 1<br>Line 2", name="Émoji 🚀 שלום"))
    body = payload(planned)
    assert body["description"].startswith(text)
    assert body["precondition"] == "Line 1<br>Line 2"
    assert body["name"] == "Émoji 🚀 שלום"


def test_plain_text_newlines_become_br() -> None:
    body = payload(plan(mb.zephyr_test_case(objective="a\nb", precondition="c\r\nd")))
    assert body["description"].startswith("a<br>b<br>")
    assert body["precondition"] == "c<br>d"


def test_unbalanced_html_is_passed_as_is() -> None:
    body = payload(plan(mb.zephyr_test_case(precondition="<p>open <b>never closed")))
    assert body["precondition"] == "<p>open <b>never closed"


def test_missing_texts_become_empty_strings() -> None:
    body = payload(plan(mb.zephyr_test_case(objective=None, precondition=None)))
    assert body["precondition"] == ""
    assert body["description"].endswith("Zephyr key: PROJ-T1")


def test_blank_name_gets_a_placeholder_never_lost() -> None:
    planned = plan(mb.zephyr_test_case(name="   "))
    assert payload(planned)["name"] == "(unnamed PROJ-T1)"
    assert "unnamed" in codes(planned)


def test_long_name_is_truncated_and_kept_whole_in_the_description() -> None:
    name = "N" * (NAME_MAX_LENGTH + 50)
    planned = plan(mb.zephyr_test_case(name=name))
    body = payload(planned)
    assert len(body["name"]) == NAME_MAX_LENGTH
    assert f"<tr><td>Name</td><td>{name}</td></tr>" in body["description"]
    assert "name_truncated" in codes(planned)


def test_folder_rules() -> None:
    assert payload(plan(mb.zephyr_test_case(folder=None)))["parent_id"] == ref("module", "root")
    unknown = plan(mb.zephyr_test_case(folder={"id": 999, "self": "x"}))
    assert payload(unknown)["parent_id"] == ref("module", "root")
    assert "missing_folder" in codes(unknown)


def test_priority_exact_and_case_insensitive() -> None:
    planned = plan(mb.zephyr_test_case(priority={"id": 9}))  # Zephyr "low" -> qTest "Low"
    assert prop(planned, 2) == "23"
    assert "priority_defaulted" not in codes(planned)


def test_priority_mapped_by_config_wins() -> None:
    planned = plan(mb.zephyr_test_case(priority={"id": 7}), mappings={"priority": {"high": "Low"}})
    assert prop(planned, 2) == "23"


def test_priority_defaulted_keeps_the_original() -> None:
    planned = plan(mb.zephyr_test_case(priority={"id": 8}))  # "Normal": no such qTest label
    assert prop(planned, 2) == "22"  # default Medium
    assert "priority_defaulted" in codes(planned)
    assert "<tr><td>Priority</td><td>Normal</td></tr>" in payload(planned)["description"]


def test_unknown_priority_id_is_defaulted() -> None:
    planned = plan(mb.zephyr_test_case(priority={"id": 12345}))
    assert prop(planned, 2) == "22"
    assert "priority_defaulted" in codes(planned)
    assert "<td>Priority</td><td>priority 12345</td>" in payload(planned)["description"]


def test_mapping_to_a_missing_label_degrades_to_the_default() -> None:
    planned = plan(mb.zephyr_test_case(priority={"id": 8}), mappings={"priority": {"Normal": "Urgent"}})
    assert prop(planned, 2) == "22"
    problem = next(p for p in planned.problems if p.code == "mapping_target_missing")
    assert problem.severity == "degraded"
    assert problem.detail == {"target": "Urgent"}


def test_mapping_to_a_missing_label_of_a_required_field_without_default_fails() -> None:
    fields = mb.target(
        [
            mb.qfield(2, "Priority", QTEST_PICK_LIST, mb.choice(21, "High"), required=True),
            mb.qfield(3, "Status", QTEST_PICK_LIST, mb.choice(32, "Approved")),
        ]
    )
    planned = plan(
        mb.zephyr_test_case(priority={"id": 8}), fields=fields, mappings={"priority": {"Normal": "P9"}}
    )
    assert planned.body is None
    assert planned.skipped
    failure = next(p for p in planned.problems if p.severity == "failed")
    assert failure.code == "mapping_target_missing"
    assert "P9" in failure.message


def test_status_defaulted_and_mapped() -> None:
    draft = plan(mb.zephyr_test_case(status={"id": 1}))  # "Draft": not in qTest
    assert prop(draft, 3) == "31"
    assert "status_defaulted" in codes(draft)
    mapped = plan(mb.zephyr_test_case(status={"id": 1}), mappings={"status": {"Draft": "New"}})
    assert prop(mapped, 3) == "31"
    assert "status_defaulted" not in codes(mapped)


def test_no_priority_field_in_qtest_keeps_the_value_in_text() -> None:
    fields = mb.target([mb.qfield(5, "Requirement", QTEST_TEXT)])
    planned = plan(fields=fields)
    assert "<tr><td>Priority</td><td>High</td></tr>" in payload(planned)["description"]
    assert ("field_in_description", "Priority") in [(p.code, p.field) for p in planned.problems]


CUSTOM = {
    "Automation Status": "Automated",
    "Requirement ID": "REQ-7",
    "Test Areas": ["UI", "Security"],
    "Review Date": "2020-01-01",
    "Story Points": 5,
    "Regression": True,
    "Reviewer": mb.ADA,
    "Notes": "Line 1<br>Line 2",
    "Legacy ID": "L-42",
    "Empty": None,
}


def test_every_custom_field_type() -> None:
    planned = plan(
        mb.zephyr_test_case(customFields=CUSTOM),
        custom_fields={"test_case": {"Requirement ID": "Requirement"}},
        mappings={"users": {mb.ADA: "ada@example.com"}},
    )
    assert prop(planned, 4) == "43"
    assert prop(planned, 5) == "REQ-7"
    assert prop(planned, 6) == "[61,64]"
    assert prop(planned, 7) == "2020-01-01T00:00:00.000Z"
    assert prop(planned, 8) == "5"
    assert prop(planned, 9) == "true"
    assert prop(planned, 10) == "501"
    assert prop(planned, 11) == "Line 1<br>Line 2"
    description = payload(planned)["description"]
    assert "<tr><td>Legacy ID</td><td>L-42</td></tr>" in description
    assert "Empty" not in description
    legacy = [p for p in planned.problems if p.field == "Legacy ID"]
    assert [(p.severity, p.code) for p in legacy] == [("kept_in_text", "field_in_description")]


def test_unconvertible_values_are_kept_in_text() -> None:
    planned = plan(
        mb.zephyr_test_case(
            customFields={"Automation Status": "Manual", "Review Date": "soon", "Story Points": "x"}
        )
    )
    assert prop(planned, 4) is None
    assert prop(planned, 7) is None
    description = payload(planned)["description"]
    for row in ("<td>Automation Status</td><td>Manual</td>", "<td>Review Date</td><td>soon</td>"):
        assert row in description
    assert codes(planned).count("custom_field_unconvertible") == 3


def test_unmapped_user_uses_the_default_user_and_keeps_the_original() -> None:
    planned = plan(
        mb.zephyr_test_case(customFields={"Reviewer": mb.GONE}), mappings={"default_user": "migration-bot"}
    )
    assert prop(planned, 10) == "509"
    assert "unmapped_user" in codes(planned)
    assert f"<td>Reviewer</td><td>{mb.GONE}</td>" in payload(planned)["description"]


def test_unmapped_user_without_default_stays_in_text() -> None:
    planned = plan(mb.zephyr_test_case(customFields={"Reviewer": mb.ADA}))
    assert prop(planned, 10) is None
    assert "custom_field_unconvertible" in codes(planned)
    assert f"<td>Reviewer</td><td>Ada Lovelace ({mb.ADA})</td>" in payload(planned)["description"]


def test_configured_target_that_qtest_lacks() -> None:
    planned = plan(
        mb.zephyr_test_case(customFields={"Legacy ID": "L-1"}),
        custom_fields={"test_case": {"Legacy ID": "Old ID"}},
    )
    assert "mapping_target_missing" in codes(planned)
    assert "<td>Legacy ID</td><td>L-1</td>" in payload(planned)["description"]


def test_two_values_for_one_field_keep_the_second_in_text() -> None:
    planned = plan(
        mb.zephyr_test_case(customFields={"Requirement": "A", "Requirement ID": "B"}),
        custom_fields={"test_case": {"Requirement ID": "Requirement"}},
    )
    assert prop(planned, 5) == "A"
    assert "field_target_taken" in codes(planned)


def test_system_members_go_to_configured_or_same_label_fields_or_the_block() -> None:
    test_case = mb.zephyr_test_case(
        estimatedTime=138000,
        labels=["Regression", "Smoke"],
        component={"id": 10001, "self": "x"},
        owner={"accountId": mb.ADA, "self": "x"},
    )
    unmapped = plan(test_case)
    description = payload(unmapped)["description"]
    assert "<td>estimatedTime</td><td>2m 18s (138000 ms)</td>" in description
    # The target has a test case field labelled "Labels": without configuration it is used.
    assert prop(unmapped, 12) == "Regression, Smoke"
    assert "<td>labels</td>" not in description
    assert "<td>component</td><td>component 10001</td>" in description
    assert f"<td>owner</td><td>Ada Lovelace ({mb.ADA})</td>" in description
    fields = mb.target(mb.case_fields(mb.qfield(15, "Estimate", QTEST_NUMBER)))
    mapped = plan(
        test_case,
        fields=fields,
        mappings={
            "users": {mb.ADA: 501},
            "test_case_fields": {"estimatedTime": "Estimate", "labels": "Labels", "owner": "Assigned To"},
        },
    )
    assert prop(mapped, 15) == "2.3"
    assert prop(mapped, 12) == "Regression, Smoke"
    assert prop(mapped, 13) == "[501]"
    assert "<td>labels</td>" not in payload(mapped)["description"]


def test_members_land_in_the_fields_fields_apply_creates() -> None:
    test_case = mb.zephyr_test_case(
        estimatedTime=120000, component={"id": 10001, "self": "x"}, createdOn="2018-05-15T13:15:13Z"
    )
    fields = mb.target(
        mb.case_fields(
            mb.qfield(-40, "Component", QTEST_PICK_LIST, mb.choice(41, "component 10001")),
            mb.qfield(42, "estimated time", QTEST_NUMBER),
            mb.qfield(43, "Created On", QTEST_DATE_TIME),
        )
    )
    planned = plan(test_case, fields=fields)
    assert prop(planned, -40) == "41"
    assert prop(planned, 42) == "2"
    assert prop(planned, 43) == "2018-05-15T13:15:13.000Z"
    description = payload(planned)["description"]
    assert "<td>component</td>" not in description
    assert "<td>estimatedTime</td>" not in description
    assert "<td>createdOn</td>" not in description


def test_links_requirements_and_web_links() -> None:
    links = {
        "issues": [
            {"issueId": 10100, "type": "COVERAGE", "target": "https://jira/rest/api/2/issue/10100"},
            {"issueId": 10101, "type": "COVERAGE"},
            {"issueId": 10102, "type": "RELATED", "target": "https://jira/issue/10102"},
            {"key": "PROJ-9", "issueId": 10103, "type": "COVERAGE"},
        ],
        "webLinks": [{"url": "https://atlassian.com", "description": "A link"}, {"url": "https://x.y"}],
    }
    test_case = mb.zephyr_test_case(links=links)
    planned = plan_test_case(
        mb.case(test_case),
        mb.lookups(issue_keys={10100: "PROJ-1", 10102: "PROJ-3"}),
        mb.target(),
        mb.config(),
    )
    assert planned.options["requirement_links"] == ["PROJ-1", "PROJ-9"]
    description = payload(planned)["description"]
    assert "issue 10101 (COVERAGE)" in description
    assert '<a href="https://jira/issue/10102">PROJ-3 (RELATED)</a>' in description
    assert (
        '<a href="https://atlassian.com">A link</a><br><a href="https://x.y">https://x.y</a>' in description
    )


def test_source_key_goes_into_the_key_field_when_qtest_has_one() -> None:
    fields = mb.target(mb.case_fields(mb.qfield(16, "zephyr key", QTEST_TEXT)))
    planned = plan(fields=fields)
    assert prop(planned, 16) == "PROJ-T1"
    assert "Zephyr key:" not in payload(planned)["description"]
    custom = plan(
        fields=mb.target(mb.case_fields(mb.qfield(17, "Origin", QTEST_TEXT))),
        qtest={"source_key_field": "Origin"},
    )
    assert prop(custom, 17) == "PROJ-T1"


def test_required_field_defaults_and_failures() -> None:
    defaulted = plan(
        fields=mb.target(mb.case_fields(mb.qfield(18, "Team", QTEST_TEXT, required=True, default_value="QA")))
    )
    assert prop(defaulted, 18) == "QA"
    missing = plan(fields=mb.target(mb.case_fields(mb.qfield(18, "Team", QTEST_TEXT, required=True))))
    assert missing.body is None
    failure = [p for p in missing.problems if p.severity == "failed"]
    assert [(p.code, p.field) for p in failure] == [("required_field_missing", "Team")]
    # "Name" is required in qTest but set from the body: never a reason to fail.
    assert all(p.field != "Name" for p in missing.problems)


def test_approve_flag_follows_config() -> None:
    assert plan(qtest={"approve_test_cases": False}).options["approve"] is False


def test_steps_script_and_refs() -> None:
    steps = [mb.inline("Do", "Done"), mb.call("PROJ-T2", {"name": "u", "type": "MANUAL_INPUT", "value": "v"})]
    planned = plan(steps=steps, script={"type": "bdd", "text": "Given x"})
    body = payload(planned)
    assert [s["order"] for s in body["test_steps"]] == [1, 2, 3]
    assert body["test_steps"][1]["called_test_case_id"] == ref("test_case", "PROJ-T2")
    assert (
        body["test_steps"][1]["description"]
        == "Call to test PROJ-T2<br><b>Parameters</b><br>u = v (MANUAL_INPUT)"
    )
    assert body["test_steps"][2]["description"] == "<pre>Given x</pre>"
    assert planned.depends_on == [("module", "100"), ("test_case", "PROJ-T2")]


def test_hundreds_of_steps() -> None:
    steps = [mb.inline(f"Step {i}", f"Result {i}") for i in range(750)]
    started = time.perf_counter()
    planned = plan(steps=steps)
    assert time.perf_counter() - started < 1
    body = payload(planned)
    assert len(body["test_steps"]) == 750
    assert [s["order"] for s in body["test_steps"]] == list(range(1, 751))
    assert body["test_steps"][749] == {"description": "Step 749", "expected": "Result 749", "order": 750}


def test_plan_test_cases_levels_cycles_and_unknown_keys() -> None:
    cases = [mb.zephyr_test_case(k, name=k) for k in ("PROJ-T1", "PROJ-T2", "PROJ-T3", "PROJ-T4")]
    steps = {
        "PROJ-T1": [mb.call("PROJ-T2")],
        "PROJ-T2": [mb.call("PROJ-T3")],
        "PROJ-T3": [mb.call("PROJ-T1"), mb.inline()],  # closes the cycle
        "PROJ-T4": [mb.call("NOPE-T1"), mb.call("PROJ-T1")],
    }
    plans = {
        p.source_key: p
        for p in plan_test_cases(mb.cases(cases, steps, {}), mb.lookups(), mb.target(), mb.config())
    }
    assert {k: p.level for k, p in plans.items()} == {"PROJ-T1": 2, "PROJ-T2": 1, "PROJ-T3": 0, "PROJ-T4": 3}
    assert "call_cycle" in codes(plans["PROJ-T3"])
    assert "called_test_case_id" not in payload(plans["PROJ-T3"])["test_steps"][0]
    assert "unknown_called_test_case" in codes(plans["PROJ-T4"])
    assert payload(plans["PROJ-T4"])["test_steps"][1]["called_test_case_id"] == ref("test_case", "PROJ-T1")
    # Every callee is at a lower level than its caller.
    for p in plans.values():
        for entity, key in p.depends_on:
            if entity == "test_case":
                assert plans[key].level < p.level


def test_plan_test_cases_knows_keys_from_the_batch_and_lookups() -> None:
    cases = [mb.zephyr_test_case("NEW-T1")]
    plans = plan_test_cases(
        mb.cases(cases, {"NEW-T1": [mb.call("PROJ-T2")]}, {}), mb.lookups(), mb.target(), mb.config()
    )
    assert plans[0].level == 0  # PROJ-T2 exists already (not in this batch)
    assert "unknown_called_test_case" not in codes(plans[0])


def test_values_kept_whole_in_text_are_kept_in_text_and_changed_values_degraded() -> None:
    """Each problem a test case can get, by severity: only values that changed are "degraded"."""
    links = {
        "self": "x",
        "issues": [{"issueId": 10100, "type": "BLOCKS"}],
        "webLinks": [{"url": "https://wiki.example.com/login", "description": "spec"}],
    }
    raw = mb.zephyr_test_case(
        name="N" * (NAME_MAX_LENGTH + 1),
        priority={"id": 8},  # "Normal": qTest has no such choice, Medium is the default
        folder={"id": 999},  # not extracted: under the root module
        component={"id": 10001, "self": "x"},
        owner={"accountId": mb.ADA, "self": "x"},
        labels=["smoke"],
        links=links,
        customFields={
            "Legacy ID": "L-1",  # no qTest field
            "Old Ref": "R-1",  # configured to a qTest field the target lacks
            "Labels": "ui",  # its qTest field already holds the Zephyr labels
            "Story Points": "many",  # a number field cannot take it
            "Reviewer": mb.GONE,  # no qTest user: the default user stands in
        },
    )
    planned = plan(
        raw,
        custom_fields={"test_case": {"Old Ref": "Legacy Reference"}},
        mappings={"default_user": "migration-bot", "test_case_fields": {"labels": "Labels"}},
    )
    assert {(p.code, p.field): p.severity for p in planned.problems} == {
        ("name_truncated", "Name"): "degraded",
        ("missing_folder", "folder"): "degraded",
        ("priority_defaulted", "Priority"): "degraded",
        ("field_in_description", "component"): "kept_in_text",
        ("field_in_description", "owner"): "kept_in_text",
        ("field_in_description", "createdOn"): "kept_in_text",
        ("field_in_description", "Legacy ID"): "kept_in_text",
        ("mapping_target_missing", "Old Ref"): "kept_in_text",
        ("field_target_taken", "Labels"): "kept_in_text",
        ("custom_field_unconvertible", "Story Points"): "degraded",
        ("unmapped_user", "Reviewer"): "degraded",
        ("field_in_description", "Jira issue links"): "kept_in_text",
        ("field_in_description", "Web links"): "kept_in_text",
    }
