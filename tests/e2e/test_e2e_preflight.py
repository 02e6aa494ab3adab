"""``ztoq migrate run --dry-run``: extract, transform and a preflight that writes nothing to qTest.

The end-to-end tests run the CLI in process against both simulators served on loopback, change
the qTest simulator's state the way a qTest administrator would (a value removed, a required
field added, a permission taken away) and check that each change is reported precisely, with
the right exit code, and that not one write request reached qTest. The unit tests at the end
check the pure preflight functions without a network or a database.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import Served

from ztoq.cli.main import run
from ztoq.config import ZtoqConfig, build_config
from ztoq.mapping.lookups import TargetFields
from ztoq.pipeline.preflight import (
    BLOCKING,
    WARNING,
    Finding,
    Grouper,
    Names,
    TypeCounts,
    check_entity,
    check_mappings,
    check_permissions,
    classify,
    missing_required,
    needed_permissions,
    required_issues,
)
from ztoq.simulators.qtest.fields import make_field
from ztoq.store.records import LoadWork, MappingRecord, PlannedRecord

# -- end to end ----------------------------------------------------------------------------------------


def _dry_run(
    served: Served, capsys: pytest.CaptureFixture[str], *args: str, config: Path | None = None
) -> tuple[int, str]:
    cfg = config or served.config()
    capsys.readouterr()
    code = run(["migrate", "run", "--config", str(cfg), "--dry-run", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _dry_run_json(
    served: Served, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    code, text = _dry_run(served, capsys, "--json", *args)
    line = next(line for line in text.splitlines() if line.startswith('{"dry_run"'))
    return code, json.loads(line)["preflight"]


@pytest.fixture
def writes(served: Served) -> Iterator[None]:
    """Fails the test when any write request reached either simulator during it."""
    qtest_before = served.qtest.stats.total(write_only=True)
    zephyr_before = served.zephyr.stats.total(write_only=True)
    yield
    assert served.qtest.stats.total(write_only=True) == qtest_before, "the dry run wrote to qTest"
    assert served.zephyr.stats.total(write_only=True) == zephyr_before, "the dry run wrote to Zephyr"


def _field(served: Served, object_type: str, label: str) -> dict[str, Any]:
    return next(
        f for f in served.qtest.state.fields_of(served.project_id, object_type) if f["label"] == label
    )


def _row(text: str, entity: str) -> list[int]:
    """The numbers of one row of the "What a load would send" table."""
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│|]", line) if c.strip()]
        if cells and cells[0] == entity and all(c.isdigit() for c in cells[1:]) and len(cells) == 6:
            return [int(c) for c in cells[1:]]
    raise AssertionError(f"no row for {entity} in:\n{text}")


@pytest.mark.e2e
def test_clean_dry_run_lists_counts_per_type_and_writes_nothing(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None
) -> None:
    gets_before = served.qtest.stats.total(method="GET")
    code, text = _dry_run(served, capsys)
    assert code == 0, text
    assert "Dry run: nothing was written to qTest project" in text
    # Planned, Create, Update, Unchanged, Not planned.
    assert _row(text, "module") == [33, 33, 0, 0, 0]
    assert _row(text, "test case") == [60, 60, 0, 0, 0]
    assert _row(text, "release") == [2, 2, 0, 0, 0]
    assert _row(text, "test run") == [72, 72, 0, 0, 0]
    assert _row(text, "test log") == [83, 83, 0, 0, 4]  # 4 executions without an end date
    for check in ("plan", "fields", "required", "permissions"):
        assert f"[ok]   {check}:" in text
    # The demo config maps a cycle custom field to a test-suite field: a true warning, not blocking.
    assert "[warn] mappings:" in text
    assert "'Sprint Number', which qTest test-cycles do not have" in text
    assert "Preflight passed with 1 warning: `ztoq migrate run` would send 265 entities" in text
    assert served.qtest.stats.total(method="GET") > gets_before


@pytest.mark.e2e
def test_removed_allowed_value_is_named_stale_plan_blocks_fresh_plan_degrades(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None
) -> None:
    assert _dry_run(served, capsys)[0] == 0
    priority = _field(served, "test-cases", "Priority")
    with served.qtest.state.lock:
        low = next(v for v in priority["allowed_values"] if v["label"] == "Low")
        priority["allowed_values"].remove(low)
    # The stored plan (made before the change) is checked against today's qTest fields.
    code, text = _dry_run(served, capsys, "--phases", "load")
    assert code == 1, text
    field = f"test-cases field 'Priority' (id {priority['id']})"
    assert f"[FAIL] {field} no longer offers value {low['value']} ('Low'); qTest refuses it" in text
    assert re.search(r"\(19 test cases: DEMO-T\d+", text), text
    assert "[FAIL] fields:" in text
    # A fresh extract + transform plans around it: the default is used, and the dry run says so.
    code, text = _dry_run(served, capsys)
    assert code == 0, text
    assert "priority_defaulted" in text
    assert "qTest field 'Priority' has no value 'Low'; its default 'Medium' is used" in text
    assert "[ok]   fields:" in text


@pytest.mark.e2e
def test_required_field_without_default_blocks_with_its_name(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None
) -> None:
    assert _dry_run(served, capsys)[0] == 0
    fields = served.qtest.state.fields_of(served.project_id, "test-cases")
    risk = make_field(990001, "Risk Level", 3, order=99, required=True, values=[(990002, "High", False)])
    with served.qtest.state.lock:
        fields.append(risk)
    # Against the stored plan: the preflight's own required-field check.
    code, report = _dry_run_json(served, capsys, "--phases", "load")
    assert code == 1
    assert report["checks"]["required"] == "failed"
    [finding] = [f for f in report["findings"] if f["check"] == "required"]
    assert finding["entity_type"] == "test_case"
    assert finding["count"] == 60
    assert "qTest requires test-cases field 'Risk Level' (id 990001), which has no default" in finding["text"]
    # After a fresh transform, the test cases cannot even be planned: the plan check names the field.
    code, text = _dry_run(served, capsys)
    assert code == 1, text
    assert "[FAIL] plan:" in text
    assert "Required qTest field 'Risk Level' has no Zephyr value and no default" in text
    assert "(60 test cases: DEMO-T" in text


@pytest.mark.e2e
def test_removed_permission_is_named(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None
) -> None:
    state = served.qtest.state
    with state.lock:
        state.project(served.project_id).profiles[state.admin_id] = {
            "test_case": {"approve": False},
            "test_run": {"execute": False},
            "release": {"edit": False},  # not needed by a first load: a warning only
        }
    code, report = _dry_run_json(served, capsys)
    assert code == 1
    by_text = {f["text"]: f for f in report["findings"] if f["check"] == "permissions"}
    approve = next(f for t, f in by_text.items() if "test_case.approve" in t)
    execute = next(f for t, f in by_text.items() if "test_run.execute" in t)
    edit = next(f for t, f in by_text.items() if "release.edit" in t)
    assert approve["severity"] == execute["severity"] == BLOCKING
    assert "60 test cases to approve" in approve["text"]
    assert "83 test logs to submit" in execute["text"]
    assert edit["severity"] == WARNING
    assert "this run does not need it" in edit["text"]
    assert report["checks"]["permissions"] == "failed"


@pytest.mark.e2e
def test_mapping_naming_a_missing_value_warns_or_blocks(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None
) -> None:
    config = served.config(
        mappings={
            "priority": {"Normal": "Mediumm"},
            "execution_status": {"Retest Needed": "Re-run"},
            "users": {"5b10a2844c20165700ede21g": "nobody@example.com"},
            "default_user": "admin@example.com",
            "environment_field": "Browser Env",
        }
    )
    code, text = _dry_run(served, capsys, config=config)
    assert code == 0, text  # each falls back to a default: degraded, not failed
    assert (
        "[warn] mappings.priority maps 'Normal' to 'Mediumm', which qTest test-cases field 'Priority' "
        "does not offer (choices: Urgent, High, Medium, Low); its default 'Medium' is used" in text
    )
    assert "mappings.execution_status maps 'Retest Needed' to 'Re-run', which qTest does not offer" in text
    assert "qTest user 'nobody@example.com', who is not an active member" in text
    assert "mappings.environment_field 'Browser Env' is not a field of qTest test-runs" in text
    # A required Priority field without a default turns the same mistake into a blocking one.
    priority = _field(served, "test-cases", "Priority")
    with served.qtest.state.lock:
        priority["required"] = True
        priority["default_value"] = None
        for value in priority["allowed_values"]:
            value["is_default"] = False
    code, text = _dry_run(served, capsys, config=config)
    assert code == 1, text
    assert "[FAIL] mappings.priority maps 'Normal' to 'Mediumm'" in text
    assert "the field is required and has no default, so those entities fail" in text


@pytest.mark.e2e
def test_custom_field_map_naming_a_missing_field_warns(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None, tmp_path: Path
) -> None:
    field_map = tmp_path / "custom_fields_map.yaml"
    field_map.write_text(
        yaml.safe_dump(
            {"test_case": {"Requirement ID": "Requirement Ref"}, "test_plan": {"Release Train": "Train"}}
        )
    )
    code, text = _dry_run(served, capsys, "--custom-field-map", str(field_map))
    assert code == 0, text
    assert (
        "custom_fields.test_case maps Zephyr field 'Requirement ID' to qTest field 'Requirement Ref', which "
        "qTest test-cases do not have" in text
    )
    assert "custom_fields.test_plan maps Zephyr field 'Release Train' to qTest field 'Train'" in text
    assert "[warn] mappings:" in text


@pytest.mark.e2e
def test_real_run_after_a_dry_run_works_and_a_second_dry_run_sends_nothing(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    config = served.config()
    writes_before = served.qtest.stats.total(write_only=True)
    assert _dry_run(served, capsys, config=config)[0] == 0
    assert served.qtest.stats.total(write_only=True) == writes_before
    capsys.readouterr()
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0, capsys.readouterr()
    assert served.qtest.stats.total(write_only=True) > writes_before
    after_run = served.qtest.stats.total(write_only=True)
    code, report = _dry_run_json(served, capsys)
    assert code == 0
    assert served.qtest.stats.total(write_only=True) == after_run
    by_type = {c["entity_type"]: c for c in report["counts"]}
    assert by_type["test_case"] == {
        "entity_type": "test_case",
        "planned": 60,
        "create": 0,
        "update": 0,
        "unchanged": 60,
        "not_planned": 0,
        "send": 0,
    }
    assert sum(c["send"] for c in report["counts"]) == 0


# -- the pure checks ----------------------------------------------------------------------------------------

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def _target(**extra_fields: Any) -> TargetFields:
    settings = {
        "test-cases": [
            {
                "id": 1,
                "label": "Priority",
                "data_type": 3,
                "allowed_values": [
                    {"value": 11, "label": "High"},
                    {"value": 12, "label": "Medium", "is_default": True},
                    {"value": 13, "label": "Old", "is_active": False},
                ],
            },
            {
                "id": 2,
                "label": "Areas",
                "data_type": 17,
                "multiple": True,
                "allowed_values": [{"value": 21, "label": "UI"}],
            },
            {"id": 3, "label": "Owner", "data_type": 5},
            {"id": 4, "label": "Risk", "data_type": 1, "required": True},
            {"id": 5, "label": "Name", "data_type": 1, "required": True},
            {"id": 6, "label": "Gone", "data_type": 1, "is_active": False},
            {
                "id": 7,
                "label": "Status",
                "data_type": 3,
                "allowed_values": [{"value": 71, "label": "New", "is_default": True}],
            },
            *extra_fields.get("cases", []),
        ],
        "test-runs": [
            {
                "id": 30,
                "label": "Environment",
                "data_type": 3,
                "allowed_values": [{"value": 31, "label": "Chrome"}],
            }
        ],
    }
    return TargetFields.from_settings(
        settings,
        execution_statuses=[
            {"id": 601, "name": "Passed"},
            {"id": 605, "name": "Unexecuted", "is_default": True},
        ],
        users=[{"id": 500, "username": "ada@example.com"}],
    )


NAMES = Names.build(
    [
        {"test-cases": [{"id": 6, "label": "Gone", "is_active": False}]},
        {
            "test-cases": [
                {"id": 1, "label": "Priority", "allowed_values": [{"value": 13, "label": "Old"}]},
                {"id": 9, "label": "Deleted"},
            ]
        },
    ],
    [[{"id": 603, "name": "Incomplete"}]],
)


def _case(*props: tuple[int, Any]) -> dict[str, Any]:
    return {
        "name": "x",
        "properties": [{"field_id": f, "field_value": v} for f, v in props]
        + [{"field_id": 4, "field_value": "r"}],
    }


def test_check_entity_accepts_a_valid_body() -> None:
    body = _case((1, "11"), (2, "[21]"), (3, "500"), (7, "71"))
    assert check_entity("test_case", body, _target(), NAMES) == []


def test_check_entity_names_missing_and_inactive_fields_and_values() -> None:
    body = _case((1, "13"), (2, "[21,22]"), (6, "x"), (9, "y"), (3, "501"))
    messages = [i.message for i in check_entity("test_case", body, _target(), NAMES)]
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
    issues = check_entity("test_case", _case((1, "[11,12]")), _target(), NAMES)
    assert [i.code for i in issues] == ["single_value_field"]


def test_check_entity_checks_log_and_step_statuses() -> None:
    body = {
        "status": {"id": 603},
        "test_step_logs": [{"status": {"id": 601}}, {"status": {"id": 603}}, {"status": {"id": 604}}],
    }
    issues = check_entity("test_log", body, _target(), NAMES)
    assert [i.message for i in issues] == [
        "execution status 603 ('Incomplete') is no longer offered by qTest; qTest refuses the log",
        "execution status 604 is no longer offered by qTest; qTest refuses the log",
    ]


def test_missing_required_ignores_body_fields_values_and_defaults() -> None:
    target = _target(
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
    assert missing_required("test_case", {"properties": []}, target) == [target.field("test-cases", "Risk")]
    assert missing_required("test_case", {"properties": [{"field_id": 4, "field_value": "x"}]}, target) == []
    # An empty value does not count as a value.
    assert [
        f.label
        for f in missing_required("test_case", {"properties": [{"field_id": 4, "field_value": ""}]}, target)
    ] == ["Risk"]
    assert missing_required("module", {}, target) == []
    [issue] = required_issues("test_case", {}, target, NAMES)
    assert issue.severity == BLOCKING
    assert "'Risk' (id 4), which has no default" in issue.message


def test_grouper_counts_entities_and_keeps_a_few_examples() -> None:
    grouper = Grouper()
    for n in range(8):
        grouper.add("test_case", f"P-T{n}", check_entity("test_case", _case((1, "13")), _target(), NAMES))
    [finding] = grouper.findings()
    assert finding.count == 8
    assert finding.examples == ("P-T0", "P-T1", "P-T2", "P-T3", "P-T4")
    assert finding.text().endswith("(8 test cases: P-T0, P-T1, P-T2, P-T3, P-T4, ...)")


def _work(entity_type: str, mapping: dict[str, Any] | None, source_hash: str | None = "s1") -> LoadWork:
    planned = PlannedRecord("P", entity_type, "K", {}, [], 0, "", "h2", source_hash, NOW, "planned")
    if mapping is None:
        return LoadWork(planned, None)
    values: dict[str, Any] = {
        "target_id": 7,
        "target_pid": None,
        "target_version": None,
        "state": "created",
        "intent_hash": None,
        "loaded_hash": "h1",
        "web_url": None,
        "attempts": 1,
        "last_error": None,
        "loaded_source_hash": None,
    }
    values.update(mapping)
    return LoadWork(planned, MappingRecord("P", entity_type, "K", created_at=NOW, updated_at=NOW, **values))


def test_classify_mirrors_the_loader() -> None:
    assert classify(_work("test_case", None)) == "create"
    assert classify(_work("test_case", {"state": "intent", "target_id": None})) == "create"
    assert classify(_work("test_case", {"state": "deleted"})) == "create"
    assert classify(_work("test_case", {})) == "update"
    assert classify(_work("test_log", {"loaded_source_hash": "s1"})) == "unchanged"
    assert classify(_work("test_log", {"loaded_source_hash": "s0"})) == "update"


def test_needed_permissions_follow_what_would_be_sent() -> None:
    counts = [
        TypeCounts("test_case", planned=5, create=2, update=1),
        TypeCounts("module", planned=3, unchanged=3),
        TypeCounts("test_log", planned=4, create=4),
    ]
    needed = needed_permissions(counts, approve=True)
    assert set(needed) == {
        "test_case.view",
        "test_case.create",
        "test_case.edit",
        "test_case.approve",
        "module.view",
        "test_run.view",
        "test_run.execute",
    }
    assert "2 test cases to create" in needed["test_case.create"]
    assert "test_case.approve" not in needed_permissions(counts, approve=False)


def test_check_permissions_blocks_what_is_needed_and_warns_about_the_rest() -> None:
    profile = {"test_case": {"create": False, "edit": True}, "module": {"delete": False, "edit": False}}
    findings = check_permissions(profile, {"test_case.create": "2 test cases to create"})
    assert [(f.severity, f.text().split(",")[0]) for f in findings] == [
        (BLOCKING, "The token's user lacks qTest permission test_case.create"),
        (WARNING, "The token's user lacks qTest permission module.edit"),
    ]
    [unread] = check_permissions(None, {}, profile_error="qTest answered 404")
    assert unread.severity == WARNING
    assert "qTest answered 404" in unread.message


def _config(**mappings: Any) -> ZtoqConfig:
    return build_config(
        {
            "zephyr": {"project_key": "P"},
            "qtest": {
                "base_url": "https://x.qtestnet.com",
                "project_id": 9,
                "source_key_field": "Zephyr Key",
            },
            "mappings": mappings,
            "custom_fields": {"test_execution": {"Browser": "Environment"}, "test_case": {"Team": "Squad"}},
        }
    )


def test_check_mappings_names_every_missing_value_user_and_field() -> None:
    config = _config(
        priority={"Normal": "Medium", "Major": "Highest"},
        status={"Draft": "Nuevo"},
        execution_status={"Pass": "Passed", "Retest": "Retry"},
        users={"acc-1": "ada@example.com", "acc-2": 777},
        default_user="ghost@example.com",
        environment_field="Environment",
    )
    findings = check_mappings(config, _target())
    texts = [f.text() for f in findings]
    assert all(isinstance(f, Finding) and f.check == "mappings" and f.severity == WARNING for f in findings)
    assert texts == [
        "mappings.priority maps 'Major' to 'Highest', which qTest test-cases field 'Priority' does not "
        "offer (choices: High, Medium); its default 'Medium' is used and the Zephyr value is kept in text.",
        "mappings.status maps 'Draft' to 'Nuevo', which no qTest 'Status' field offers (test-cases: New); "
        "the default status is used and the Zephyr value is kept in text.",
        "mappings.execution_status maps 'Retest' to 'Retry', which qTest does not offer (statuses: "
        "Passed, Unexecuted); 'Unexecuted' is used and the Zephyr status is kept in the note.",
        "mappings.users maps Jira account acc-2 to qTest user 777, who is not an active member of qTest "
        "project 9; that person is named in text instead.",
        "mappings.default_user 'ghost@example.com' is not an active member of qTest project 9; unmapped "
        "users are only named in text.",
        "qtest.source_key_field 'Zephyr Key' is not a field of qTest test-cases, releases, test-runs; "
        "their Zephyr keys are written as the last line of the description or note instead.",
        "custom_fields.test_case maps Zephyr field 'Team' to qTest field 'Squad', which qTest test-cases "
        "do not have (fields: Priority, Areas, Owner, Risk, Name, Status); the value is kept in text.",
    ]


def test_check_mappings_blocks_when_a_required_field_has_no_fallback() -> None:
    target = TargetFields.from_settings(
        {
            "test-cases": [
                {
                    "id": 1,
                    "label": "Priority",
                    "data_type": 3,
                    "required": True,
                    "allowed_values": [{"value": 2, "label": "High"}],
                }
            ]
        },
        execution_statuses=[{"id": 601, "name": "Passed"}],
    )
    config = _config(priority={"Normal": "Medium"}, execution_status={"Retest": "Retry"})
    blocking = [f for f in check_mappings(config, target) if f.blocking]
    assert [f.text().split(",")[0] for f in blocking] == [
        "mappings.priority maps 'Normal' to 'Medium'",
        "mappings.execution_status maps 'Retest' to 'Retry'",
    ]
    assert "there is no default status, so those test logs fail" in blocking[1].message
