"""The preflight's checks of planned entities: pure, no network, no store."""

from __future__ import annotations

from collections import Counter

import pytest
from preflight_builders import NAMES, case, target, work

from ztoq.entities import ENTITY_TYPES, EntityType
from ztoq.pipeline import preflight_checks
from ztoq.pipeline.load_decision import LoadAction, decide_load
from ztoq.pipeline.preflight_checks import (
    BLOCKING,
    Finding,
    Grouper,
    Names,
    TypeCounts,
    check_entity,
    missing_required,
    required_issues,
    sent_work,
)
from ztoq.store.records import LoadWork

# -- what a load would do ---------------------------------------------------------------------------------

#: One work item for every way an entity can stand in the store.
WORK: list[LoadWork] = [
    work("test_case", None),
    work("test_case", {"state": "intent", "target_id": None}),
    work("test_case", {"state": "failed", "target_id": None}),
    work("test_case", {"state": "deleted"}),
    work("test_case", {}),
    work("test_case", {"loaded_hash": "h2"}),
    work("test_case", {"state": "failed", "loaded_hash": "h2"}),
    work("test_log", {"loaded_source_hash": "s1"}),
    work("test_log", {"loaded_source_hash": "s0"}),
]


def test_counts_are_the_load_decision_summarised() -> None:
    row = TypeCounts("test_case", planned=len(WORK))
    sent = list(sent_work(row, WORK))
    decided = [decide_load(w.planned, w.mapping) for w in WORK]
    summary = Counter(action.summary for action in decided)
    assert (row.create, row.update, row.unchanged) == (
        summary["create"],
        summary["update"],
        summary["unchanged"],
    )
    assert sent == [w for w, action in zip(WORK, decided, strict=True) if action.sends]


@pytest.mark.parametrize("action", list(LoadAction))
def test_counts_follow_whatever_load_decides(action: LoadAction, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dry run has no decision of its own: change load's, and the counts change with it."""
    monkeypatch.setattr(preflight_checks, "decide_load", lambda planned, mapping: action)
    row = TypeCounts("test_case", planned=3)
    sent = list(sent_work(row, WORK[:3]))
    counted = {"create": row.create, "update": row.update, "unchanged": row.unchanged}
    assert counted == {summary: (3 if summary == action.summary else 0) for summary in counted}
    assert len(sent) == (3 if action.sends else 0)


def test_unchanged_is_what_is_planned_and_not_sent() -> None:
    row = TypeCounts("test_case", planned=10, not_planned=2)
    list(sent_work(row, [work("test_case", None), work("test_case", {})]))
    assert (row.create, row.update, row.unchanged, row.send, row.not_planned) == (1, 1, 8, 2, 2)


# -- one planned body -------------------------------------------------------------------------------------


def test_check_entity_accepts_a_valid_body() -> None:
    body = case((1, "11"), (2, "[21]"), (3, "500"), (7, "71"))
    assert check_entity("test_case", body, target(), NAMES) == []


def test_check_entity_names_missing_and_inactive_fields_and_values() -> None:
    body = case((1, "13"), (2, "[21,22]"), (6, "x"), (9, "y"), (3, "501"))
    messages = [i.message for i in check_entity("test_case", body, target(), NAMES)]
    assert (
        "test-cases field 'Priority' (id 1) no longer offers value 13 ('Old'); qTest refuses it" in messages
    )
    assert "test-cases field 'Areas' (id 2) no longer offers value 22; qTest refuses it" in messages
    assert "test-cases field 'Gone' (id 6) is inactive in qTest; qTest refuses a value for it" in messages
    assert (
        "test-cases field 'Deleted' (id 9) no longer exists in qTest; qTest refuses a value for it"
        in messages
    )
    assert any("names qTest user 501, who is not an active member" in m for m in messages)
    assert len(messages) == 5


def test_check_entity_flags_several_values_in_a_single_value_field() -> None:
    issues = check_entity("test_case", case((1, "[11,12]")), target(), NAMES)
    assert [i.code for i in issues] == ["single_value_field"]
    assert issues[0].message == "test-cases field 'Priority' (id 1) now takes one value; the plan has several"


def test_check_entity_flags_a_user_who_left_and_several_users_in_a_single_user_field() -> None:
    issues = check_entity("test_case", case((3, "[500,502]")), target(), NAMES)
    assert [(i.check, i.severity, i.code) for i in issues] == [
        ("fields", BLOCKING, "user_not_member"),
        ("fields", BLOCKING, "single_value_field"),
    ]
    assert issues[0].message == (
        "test-cases field 'Owner' (id 3) names qTest user 502, who is not an active member of the project"
    )
    assert issues[1].message.endswith("now takes one user; the plan has several")


def test_check_entity_ignores_empty_values_and_text_fields() -> None:
    body = case((1, ""), (2, "[]"), (4, "anything at all"))
    assert check_entity("test_case", body, target(), NAMES) == []


def test_check_entity_checks_log_and_step_statuses() -> None:
    body = {
        "status": {"id": 603},
        "test_step_logs": [{"status": {"id": 601}}, {"status": {"id": 603}}, {"status": {"id": 604}}],
    }
    issues = check_entity("test_log", body, target(), NAMES)
    assert [i.message for i in issues] == [
        "execution status 603 ('Incomplete') is no longer offered by qTest; qTest refuses the log",
        "execution status 604 is no longer offered by qTest; qTest refuses the log",
    ]


@pytest.mark.parametrize("registered", ENTITY_TYPES, ids=lambda t: t.name)
def test_only_executed_types_have_their_statuses_checked(registered: EntityType) -> None:
    issues = check_entity(registered.name, {"status": {"id": 999}}, target(), NAMES)
    assert bool(issues) is registered.needs_execute


def test_check_entity_uses_the_object_type_of_the_registry() -> None:
    # Test runs and logs use the test-runs fields; a module has no fields at all.
    run = {"properties": [{"field_id": 30, "field_value": "32"}]}
    [issue] = check_entity("test_run", run, target(), NAMES)
    assert issue.message.startswith("test-runs field 'Environment' (id 30) no longer offers value 32")
    assert check_entity("module", run, target(), NAMES) == []


def test_missing_required_ignores_body_fields_values_and_defaults() -> None:
    fields = target(
        cases=[
            {
                "id": 8,
                "label": "Team",
                "data_type": 3,
                "required": True,
                "allowed_values": [{"value": 81, "label": "A", "is_default": True}],
            }
        ]
    )
    assert missing_required("test_case", {"properties": []}, fields) == [fields.field("test-cases", "Risk")]
    assert missing_required("test_case", {"properties": [{"field_id": 4, "field_value": "x"}]}, fields) == []
    # An empty value does not count as a value.
    assert [
        f.label
        for f in missing_required("test_case", {"properties": [{"field_id": 4, "field_value": ""}]}, fields)
    ] == ["Risk"]
    assert missing_required("module", {}, fields) == []
    [issue] = required_issues("test_case", {}, fields, NAMES)
    assert issue.severity == BLOCKING
    assert "'Risk' (id 4), which has no default" in issue.message


def test_test_logs_need_the_required_test_run_fields() -> None:
    fields = target(runs=[{"id": 33, "label": "Build", "data_type": 1, "required": True}])
    [issue] = required_issues("test_log", {"status": {"id": 601}}, fields, NAMES)
    assert issue.message == (
        "qTest requires test-runs field 'Build' (id 33), which has no default and no planned value; qTest "
        "refuses the entity"
    )


def test_grouper_counts_entities_and_keeps_a_few_examples() -> None:
    grouper = Grouper()
    for n in range(8):
        grouper.add("test_case", f"P-T{n}", check_entity("test_case", case((1, "13")), target(), NAMES))
    grouper.add("test_run", "P-E1", [])
    [finding] = grouper.findings()
    assert finding.count == 8
    assert finding.examples == ("P-T0", "P-T1", "P-T2", "P-T3", "P-T4")
    assert finding.text().endswith("(8 test cases: P-T0, P-T1, P-T2, P-T3, P-T4, ...)")


def test_a_finding_names_how_many_entities_of_which_type() -> None:
    finding = Finding("fields", BLOCKING, "x", "Broken", "cycle_folder", 1, ("F1",))
    assert finding.text() == "Broken (1 cycle folder: F1)"
    assert Finding("mappings", BLOCKING, "x", "Plain").text() == "Plain"


def test_names_prefer_todays_labels_and_fall_back_to_ids() -> None:
    names = Names.build(
        [{"test-cases": [{"id": 1, "label": "Now"}]}, {"test-cases": [{"id": 1, "label": "Then"}]}]
    )
    assert names.field("test-cases", 1) == "test-cases field 'Now' (id 1)"
    assert names.field("test-cases", 2) == "test-cases field 2"
    assert names.field("test-cases", 2, "Given") == "test-cases field 'Given' (id 2)"
    assert names.value("test-cases", 1, 5) == "5"
    assert names.status(7) == "7"
