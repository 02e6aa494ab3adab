"""``ztoq fields plan`` decisions, without network or disk: value shapes, proposed data types,
where each Zephyr field lands, the fields to create once each, and the bodies ``apply`` sends."""

from __future__ import annotations

from typing import Any

import pytest

from ztoq.config import ZtoqConfig, build_config
from ztoq.errors import ConfigError
from ztoq.mapping.lookups import SourceLookups, TargetFields
from ztoq.pipeline.fields_apply import field_body
from ztoq.pipeline.fields_decide import (
    EXISTING,
    MISSING,
    UNAVAILABLE,
    FieldTally,
    decide_landing,
    propose_type,
    shape_of,
)
from ztoq.pipeline.fields_plan import FieldsPlan, FieldToCreate, Tallies, plan_from_tallies
from ztoq.pipeline.fields_plan import _execution as tally_execution
from ztoq.pipeline.fields_plan import _test_case as tally_test_case
from ztoq.sources.records import Option, Ref, TestCase, TestExecution
from ztoq.vendor import (
    QTEST_CHECKBOX,
    QTEST_DATE,
    QTEST_DATE_TIME,
    QTEST_MULTI_SELECT,
    QTEST_NUMBER,
    QTEST_PICK_LIST,
    QTEST_RICH_TEXT,
    QTEST_TEXT,
    QTEST_TEXT_AREA,
    QTEST_USER_LIST,
)

ADA = "5b10a2844c20165700ede21g"
GRACE = "5b10ac8d82e05b22cc7d4ef5"
NO_ONE: frozenset[str] = frozenset()


def tally(*values: Any, **flags: Any) -> FieldTally:
    found = FieldTally("test_case", "F", "F", "same label", **flags)
    for value in values:
        found.add(value)
    return found


def target(object_type: str, *fields: dict[str, Any]) -> TargetFields:
    return TargetFields.from_settings({object_type: list(fields)})


@pytest.mark.parametrize(
    ("value", "shape"),
    [
        (True, "bool"),
        (3, "number"),
        (2.5, "number"),
        ("2024-05-01", "date"),
        ("2024-05-01T10:00:00Z", "datetime"),
        ("2024-05-01T99:00", "text"),
        (["a"], "list"),
        ({"accountId": ADA}, "user"),
        ("line<br>two", "rich"),
        ("line\ntwo", "rich"),
        ("plain", "text"),
    ],
)
def test_shape_of(value: Any, shape: str) -> None:
    assert shape_of(value) == shape


def test_empty_values_are_not_counted() -> None:
    found = tally(None, "", "  ", [], "x")
    assert found.count == 1
    assert found.samples == ["x"]


def test_samples_are_three_distinct_and_short() -> None:
    found = tally("a", "a", "b", "c" * 80, "d")
    assert found.samples == ["a", "b", "c" * 57 + "..."]


@pytest.mark.parametrize(
    ("values", "data_type", "multiple", "choices"),
    [
        ((True, False, True), QTEST_CHECKBOX, True, ("Yes",)),
        ((1, 2.5, 3), QTEST_NUMBER, False, ()),
        (("2024-01-01", "2024-02-01"), QTEST_DATE, False, ()),
        (("2024-01-01", "2024-02-01T10:00:00Z"), QTEST_DATE_TIME, False, ()),
        ((["UI", "API"], ["ui"], ["DB"]), QTEST_MULTI_SELECT, True, ("API", "DB", "UI")),
        (("<p>rich</p>", "plain"), QTEST_RICH_TEXT, False, ()),
        (("Automated", "Manual", "Automated", "Manual"), QTEST_PICK_LIST, False, ("Automated", "Manual")),
        (("REQ-1", "REQ-2", "REQ-3"), QTEST_TEXT, False, ()),
        (("x" * 300, "y"), QTEST_TEXT_AREA, False, ()),
        (("UI, API", "API", "UI, DB", "DB"), QTEST_MULTI_SELECT, True, ("API", "DB", "UI")),
        ((1, "one"), QTEST_TEXT, False, ()),
    ],
)
def test_proposed_type_holds_the_values_as_they_are(
    values: tuple[Any, ...], data_type: int, multiple: bool, choices: tuple[str, ...]
) -> None:
    proposal = propose_type(tally(*values), NO_ONE, NO_ONE)
    assert (proposal.data_type, proposal.multiple, proposal.choices) == (data_type, multiple, choices)


def test_too_many_list_items_are_text() -> None:
    proposal = propose_type(tally(*[[f"label-{i}"] for i in range(101)]), NO_ONE, NO_ONE)
    assert proposal.data_type == QTEST_TEXT_AREA


def test_free_text_members_stay_text_even_when_repeated() -> None:
    assert propose_type(tally("5m", "5m", "5m", free_text=True), NO_ONE, NO_ONE).data_type == QTEST_TEXT


def test_users_become_a_user_list_only_when_mapped() -> None:
    owners = tally(ADA, GRACE, user=True)
    assert propose_type(owners, NO_ONE, frozenset({ADA})).data_type == QTEST_USER_LIST
    assert propose_type(owners, NO_ONE, NO_ONE).data_type == QTEST_TEXT
    # A custom text field holding only accounts the project's records name is a user picker.
    picker = tally(ADA, GRACE, ADA)
    assert propose_type(picker, frozenset({ADA, GRACE}), frozenset({GRACE})).data_type == QTEST_USER_LIST
    assert propose_type(picker, frozenset({ADA}), frozenset({GRACE})).data_type == QTEST_TEXT
    listed = propose_type(tally([{"accountId": ADA}]), NO_ONE, frozenset({ADA}))
    assert listed.data_type == QTEST_MULTI_SELECT  # a list of users whose type is not known is a list


def field(field_id: int, label: str, data_type: int, *choices: str, **more: Any) -> dict[str, Any]:
    values = [{"value": 900 + i, "label": c} for i, c in enumerate(choices)]
    return {"id": field_id, "label": label, "data_type": data_type, "allowed_values": values, **more}


def test_an_existing_field_with_a_negative_id_and_missing_choices() -> None:
    found = tally("Chrome", "Edge", "Chrome", "edge")
    found.label = "Environment"
    settings = target("test-runs", field(-185, "environment", QTEST_PICK_LIST, "Chrome"))
    landing = decide_landing(found, "test-runs", settings)
    assert landing.status == EXISTING
    assert landing.field_id == -185
    assert landing.missing_choices == ("Edge",)
    assert landing.type_name == "pick list"


def test_an_existing_multi_select_lacks_the_parts_of_server_texts() -> None:
    found = tally("UI, API", "API", "UI, Search")
    settings = target("test-cases", field(7, "F", QTEST_MULTI_SELECT, "UI", "API", multiple=True))
    assert decide_landing(found, "test-cases", settings).missing_choices == ("Search",)


def test_text_fields_lack_no_choices() -> None:
    settings = target("test-cases", field(7, "F", QTEST_TEXT))
    assert decide_landing(tally("a", "b"), "test-cases", settings).missing_choices == ()


def test_a_missing_field_is_proposed_and_test_cycles_have_none() -> None:
    missing = decide_landing(tally(True), "test-cases", target("test-cases"))
    assert missing.status == MISSING
    assert missing.data_type == QTEST_CHECKBOX
    assert missing.choices == ("Yes",)
    assert decide_landing(tally(True), "test-cycles", target("test-cases")).status == UNAVAILABLE
    row = missing.to_json()
    assert row["status"] == "missing"
    assert row["data_type_name"] == "checkbox"


def test_tallies_name_the_label_transform_uses() -> None:
    config = ZtoqConfig.model_validate(
        {
            "mappings": {
                "test_case_fields": {"owner": "Assigned To"},
                "users": {ADA: "ada@example.com"},
                "environment_field": "Env",
            },
            "custom_fields": {"test_case": {"Requirement ID": "Requirement"}},
        }
    )
    tallies = Tallies(config)
    case = TestCase(
        key="P-T1",
        labels=("smoke",),
        component=Ref(id=10301),
        owner=ADA,
        estimated_time=60000,
        custom_fields={"Requirement ID": "R-1", "Reviewer": GRACE, "Empty": None},
    )
    tally_test_case(tallies, case)
    tally_test_case(
        tallies,
        TestCase(
            key="P-T2", labels=("smoke", "P1"), component=Ref(id=10301), custom_fields={"Reviewer": GRACE}
        ),
    )
    execution = TestExecution(key="P-E1", environment=Ref(id=4), estimated_time=90000, executed_by=GRACE)
    tallies.people.clear()
    tally_execution(tallies, execution, SourceLookups.build(environments=[Option(4, "Chrome")]))
    settings = TargetFields.from_settings(
        {
            "test-cases": [
                field(12, "Assigned To", QTEST_USER_LIST),
                field(13, "Requirement", QTEST_TEXT),
                field(14, "Labels", QTEST_MULTI_SELECT, "smoke", multiple=True),
            ],
            "test-runs": [field(-185, "Env", QTEST_PICK_LIST, "Firefox")],
        }
    )
    plan = plan_from_tallies("P", 7, tallies, settings)
    rows = {(r.kind, r.name): r for r in plan.rows}
    assert ("test_case", "Empty") not in rows
    assert ("test_case", "createdOn") not in rows
    assert rows[("test_case", "owner")].label == "Assigned To"
    assert rows[("test_case", "owner")].via == "mappings.test_case_fields"
    assert rows[("test_case", "owner")].status == EXISTING
    assert rows[("test_case", "Requirement ID")].via == "custom_fields.test_case"
    assert rows[("test_case", "labels")].missing_choices == ("P1",)
    assert rows[("test_case", "labels")].count == 2
    component = rows[("test_case", "component")]
    assert (component.label, component.status, component.choices) == (
        "Component",
        MISSING,
        ("component 10301",),
    )
    assert rows[("test_case", "estimatedTime")].data_type == QTEST_NUMBER
    reviewer = rows[("test_case", "Reviewer")]
    assert reviewer.status == MISSING
    assert reviewer.data_type == QTEST_TEXT
    env = rows[("test_execution", "Environment")]
    assert (env.label, env.field_id, env.missing_choices) == ("Env", -185, ("Chrome",))
    assert rows[("test_execution", "Estimated time")].samples == ("1m 30s (90000 ms)",)
    assert next(r.kind for r in plan.rows) == "test_case"
    assert plan.rows[0].standard
    extend = plan.to_extend()
    assert {(c.label, c.choices) for c in extend} == {("Labels", ("P1",)), ("Env", ("Chrome",))}
    assert plan.to_json()["qtest_project_id"] == 7


def test_fields_to_create_once_per_label_with_merged_choices() -> None:
    rows = [
        decide_landing(tally("A", "A", "B", "B"), "test-cases", TargetFields()),
        decide_landing(tally("B", "B", "C", "C"), "test-cases", TargetFields()),
        decide_landing(tally(1), "test-runs", TargetFields()),
    ]
    plan = FieldsPlan("P", 1, tuple(rows))
    created = plan.to_create()
    assert [(c.object_type, c.label, c.choices) for c in created] == [
        ("test-cases", "F", ("A", "B", "C")),
        ("test-runs", "F", ()),
    ]
    assert plan.to_json()["to_create"][0]["choices"] == ["A", "B", "C"]


def test_field_bodies() -> None:
    box = field_body(FieldToCreate("test-runs", "Automated", QTEST_CHECKBOX, True, ("Yes",)))
    assert box == {
        "label": "Automated",
        "data_type": QTEST_CHECKBOX,
        "required": False,
        "searchable": True,
        "is_active": True,
        "multiple": True,
        "allowed_values": [{"label": "Yes", "order": 1, "is_active": True}],
    }
    people = field_body(FieldToCreate("releases", "Owner", QTEST_USER_LIST, False, ("x",)))
    assert "allowed_values" not in people
    assert "multiple" not in people
    text = field_body(FieldToCreate("releases", "Train", QTEST_TEXT, False, ()))
    assert set(text) == {"label", "data_type", "required", "searchable", "is_active"}


def test_field_types_replace_the_proposed_type_of_a_missing_field_only() -> None:
    texts = tally("A", "A", "B", "B")
    chosen = decide_landing(texts, "test-cases", TargetFields(), configured=QTEST_TEXT_AREA)
    assert (chosen.data_type, chosen.choices, chosen.type_via) == (
        QTEST_TEXT_AREA,
        (),
        "field_types.test_case",
    )
    assert decide_landing(texts, "test-cases", TargetFields()).type_via == "proposed"
    as_list = decide_landing(
        tally("UI, API", "API"), "test-cases", TargetFields(), configured=QTEST_MULTI_SELECT
    )
    assert (as_list.multiple, as_list.choices) == (True, ("API", "UI"))
    boxes = decide_landing(tally(True, False), "test-runs", TargetFields(), configured=QTEST_CHECKBOX)
    assert boxes.choices == ("Yes",)
    existing = target("test-cases", field(-5, "F", QTEST_TEXT))
    kept = decide_landing(texts, "test-cases", existing, configured=QTEST_NUMBER)
    assert (kept.status, kept.data_type, kept.type_via) == (EXISTING, QTEST_TEXT, "")


def test_field_types_in_the_configuration() -> None:
    config = ZtoqConfig.model_validate({"field_types": {"test_case": {"Legacy ID": "Text-Area", "Size": 7}}})
    assert config.field_types.test_case == {"Legacy ID": "text area", "Size": "number"}
    assert config.field_types.code_of("test_case", "legacy id") == QTEST_TEXT_AREA
    assert config.field_types.code_of("test_plan", "Legacy ID") is None
    tallies = Tallies(config)
    tallies.custom("test_case", {"Legacy ID": "L-1", "Size": 3})
    plan = plan_from_tallies("P", 1, tallies, TargetFields())
    assert [(c.label, c.data_type) for c in plan.to_create()] == [("Legacy ID", QTEST_TEXT_AREA), ("Size", 7)]
    with pytest.raises(ConfigError, match=r"field_types\.test_case.*'textbox'.*text area"):
        build_config({"field_types": {"test_case": {"Legacy ID": "textbox"}}})


def test_pick_lists_with_negative_ids_are_extended_by_their_id() -> None:
    settings = target("test-runs", field(-185, "Environment", QTEST_PICK_LIST, "Chrome"))
    found = tally("Chrome", "Edge")
    found.label = "Environment"
    plan = FieldsPlan("P", 1, (decide_landing(found, "test-runs", settings),))
    assert [(c.field_id, c.choices) for c in plan.to_extend()] == [(-185, ("Edge",))]
