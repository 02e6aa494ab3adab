"""The preflight's checks of the token's permissions and of the configuration: pure, no I/O."""

from __future__ import annotations

from typing import Any

from preflight_builders import config, target

from ztoq.entities import ENTITY_TYPES
from ztoq.mapping.lookups import TargetFields
from ztoq.pipeline.preflight_checks import BLOCKING, WARNING, Finding, TypeCounts
from ztoq.pipeline.preflight_config_checks import (
    check_mappings,
    check_permissions,
    custom_field_object_type,
    denied,
    migration_permissions,
    needed_permissions,
)
from ztoq.vendor import QTEST_PERMISSION_ACTIONS, QTEST_PERMISSION_AREAS

# -- permissions -------------------------------------------------------------------------------------------


def test_migration_permissions_are_those_ztoq_has_always_asked_for() -> None:
    assert [(p.name, p.purpose) for p in migration_permissions(approve=True)] == [
        ("module.create", "create modules"),
        ("module.edit", "update modules"),
        ("module.view", "read modules back (recovery, validation)"),
        ("test_case.create", "create test cases"),
        ("test_case.edit", "update test cases"),
        ("test_case.view", "read test cases back (recovery, validation)"),
        ("test_case.approve", "approve test cases, as qtest.approve_test_cases is on"),
        ("release.create", "create releases"),
        ("release.edit", "update releases"),
        ("release.view", "read releases back (recovery, validation)"),
        ("test_cycle.create", "create test cycles"),
        ("test_cycle.edit", "update test cycles"),
        ("test_cycle.view", "read test cycles back (recovery, validation)"),
        ("test_run.create", "create test runs"),
        ("test_run.edit", "update test runs"),
        ("test_run.view", "read test runs and logs back (recovery, validation)"),
        ("test_run.execute", "submit test logs"),
    ]
    assert "test_case.approve" not in {p.name for p in migration_permissions(approve=False)}


def test_migration_permissions_cover_every_registered_type() -> None:
    perms = migration_permissions()
    areas = {p.area for p in perms}
    assert areas == {t.permission_area for t in ENTITY_TYPES}
    assert areas <= set(QTEST_PERMISSION_AREAS)
    assert {p.action for p in perms} <= set(QTEST_PERMISSION_ACTIONS)
    for registered in ENTITY_TYPES:
        wanted = "execute" if registered.needs_execute else "create"
        assert f"{registered.permission_area}.{wanted}" in {p.name for p in perms}, registered.name


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
    assert needed["test_run.execute"] == "4 test logs to submit"
    assert needed["test_case.approve"] == "3 test cases to approve, as qtest.approve_test_cases is on"
    assert "test_case.approve" not in needed_permissions(counts, approve=False)


def test_types_sharing_an_area_give_every_reason() -> None:
    counts = [TypeCounts("cycle_folder", planned=2, create=2), TypeCounts("test_cycle", planned=1, update=1)]
    needed = needed_permissions(counts, approve=True)
    assert needed["test_cycle.view"] == "2 cycle folders to validate; 1 test cycle to validate"
    assert needed["test_cycle.create"] == "2 cycle folders to create"
    assert needed["test_cycle.edit"] == "1 test cycle to update"
    assert needed_permissions([TypeCounts("widget", planned=3, create=3)], approve=True) == {}


def test_only_an_explicit_false_denies() -> None:
    profile: dict[str, Any] = {"test_case": {"create": False, "edit": True}, "module": "odd"}
    assert denied(profile, "test_case.create")
    assert not denied(profile, "test_case.edit")
    assert not denied(profile, "test_case.approve")
    assert not denied(profile, "module.create")
    assert not denied(profile, "release.view")


def test_check_permissions_blocks_what_is_needed_and_warns_about_the_rest() -> None:
    profile = {"test_case": {"create": False, "edit": True}, "module": {"delete": False, "edit": False}}
    findings = check_permissions(profile, {"test_case.create": "2 test cases to create"})
    assert [(f.severity, f.text().split(",")[0]) for f in findings] == [
        (BLOCKING, "The token's user lacks qTest permission test_case.create"),
        (WARNING, "The token's user lacks qTest permission module.edit"),
    ]
    assert findings[0].message == (
        "The token's user lacks qTest permission test_case.create, needed for 2 test cases to create; "
        "qTest would refuse those requests (403)."
    )
    assert findings[1].message == (
        "The token's user lacks qTest permission module.edit, needed to update modules; this run does not "
        "need it, a later one may."
    )


def test_permissions_that_cannot_be_read_are_a_warning() -> None:
    [unread] = check_permissions(None, {}, profile_error="qTest answered 404")
    assert (unread.severity, unread.code) == (WARNING, "permissions_unreadable")
    assert unread.message == (
        "The token user's permissions could not be read (qTest answered 404); they were not checked."
    )
    [empty] = check_permissions({"id": 3}, {"test_case.create": "1 test case to create"})
    assert empty.message == "qTest reported no permissions for the token's user; they were not checked."


def test_a_profile_granting_everything_passes() -> None:
    everything = {area: dict.fromkeys(QTEST_PERMISSION_ACTIONS, True) for area in QTEST_PERMISSION_AREAS}
    assert check_permissions(everything, {"test_case.create": "1 test case to create"}) == []


# -- the configuration --------------------------------------------------------------------------------------


def test_custom_field_sections_name_the_object_type_transform_maps_them_to() -> None:
    assert custom_field_object_type("test_case") == "test-cases"
    assert custom_field_object_type("test_execution") == "test-runs"
    assert custom_field_object_type("test_plan") == "releases"
    assert custom_field_object_type("test_cycle") == "test-cycles"
    assert custom_field_object_type("attachment") is None


def test_a_configuration_naming_real_values_passes() -> None:
    cfg = config(priority={"Normal": "Medium"}, status={"Draft": "New"}, execution_status={"Pass": "Passed"})
    fields = target(
        cases=[
            {"id": 40, "label": "Zephyr Key", "data_type": 1},
            {"id": 41, "label": "Squad", "data_type": 1},
        ],
        runs=[{"id": 42, "label": "Zephyr Key", "data_type": 1}],
    )
    assert [f.text() for f in check_mappings(cfg, fields)] == [
        "qtest.source_key_field 'Zephyr Key' is not a field of qTest releases; their Zephyr keys are written "
        "as the last line of the description or note instead."
    ]


def test_check_mappings_names_every_missing_value_user_and_field() -> None:
    cfg = config(
        priority={"Normal": "Medium", "Major": "Highest"},
        status={"Draft": "Nuevo"},
        execution_status={"Pass": "Passed", "Retest": "Retry"},
        users={"acc-1": "ada@example.com", "acc-2": 777},
        default_user="ghost@example.com",
        environment_field="Environment",
    )
    findings = check_mappings(cfg, target())
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
    fields = TargetFields.from_settings(
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
    cfg = config(priority={"Normal": "Medium"}, execution_status={"Retest": "Retry"})
    blocking = [f for f in check_mappings(cfg, fields) if f.blocking]
    assert [f.text().split(",")[0] for f in blocking] == [
        "mappings.priority maps 'Normal' to 'Medium'",
        "mappings.execution_status maps 'Retest' to 'Retry'",
    ]
    assert "there is no default status, so those test logs fail" in blocking[1].message


def test_mappings_of_fields_qtest_does_not_have_warn() -> None:
    cfg = config(
        priority={"Normal": "Medium"}, status={"Draft": "New"}, test_case_fields={"owner": "Owner X"}
    )
    empty = TargetFields.from_settings({})
    texts = [f.text() for f in check_mappings(cfg, empty)]
    assert "mappings.priority is set, but qTest test-cases have no 'Priority' field." in texts
    assert "mappings.status is set, but no qTest object type has a 'Status' field." in texts
    assert (
        "mappings.test_case_fields maps 'owner' to qTest field 'Owner X', which qTest test-cases do not "
        "have; the value is kept in text."
    ) in texts
    assert any(t.startswith("custom_fields.test_execution maps Zephyr field 'Browser'") for t in texts)
