"""Lookup tables: the target's from qTest JSON, the source's from decoded records (ztoq.mapping.lookups)."""

from __future__ import annotations

import mapping_builders as mb
import pytest

from ztoq.mapping.lookups import TargetField, TargetFields, UserResolver
from ztoq.sources.records import Ref
from ztoq.vendor import QTEST_PICK_LIST, QTEST_TEXT


def test_fields_by_label_case_insensitively() -> None:
    fields = mb.target()
    priority = fields.field("test-cases", "  priority ")
    assert priority is not None
    assert priority.id == 2
    assert fields.field("test-cases", "Nope") is None
    assert fields.field("test-cases", None) is None
    assert fields.field("unknown-type", "Priority") is None
    assert priority.choice("HIGH") is not None
    assert priority.choice("Obsolete") is None  # inactive choices are dropped


def test_inactive_and_malformed_fields_are_ignored() -> None:
    fields = TargetFields.from_settings(
        {
            "test-cases": [
                mb.qfield(1, "Old", QTEST_TEXT, is_active=False),
                {"label": "No id"},
                {"id": 3},
                mb.qfield(4, "Kept", QTEST_TEXT),
            ]
        }
    )
    assert [f.label for f in fields.fields("test-cases")] == ["Kept"]


@pytest.mark.parametrize(
    ("default_value", "flagged", "expected"),
    [
        ("22", False, "22"),  # an allowed value's id
        ("Medium", False, "22"),  # an allowed value's label
        (None, True, "22"),  # flagged is_default
        (None, False, None),
        ("Unknown", False, None),
    ],
)
def test_default_of_a_pick_list(default_value: str | None, flagged: bool, expected: str | None) -> None:
    raw = mb.qfield(
        2,
        "Priority",
        QTEST_PICK_LIST,
        mb.choice(21, "High"),
        mb.choice(22, "Medium", default=flagged),
        default_value=default_value,
    )
    field = TargetField.from_resource(raw)
    assert field is not None
    assert field.default_field_value() == expected


def test_default_of_a_text_field_is_its_default_value() -> None:
    field = TargetField.from_resource(mb.qfield(1, "T", QTEST_TEXT, default_value="n/a"))
    assert field is not None
    assert field.default_field_value() == "n/a"
    empty = TargetField.from_resource(mb.qfield(1, "T", QTEST_TEXT, default_value=""))
    assert empty is not None
    assert empty.default_field_value() is None


def test_execution_statuses_and_users() -> None:
    fields = mb.target()
    passed = fields.execution_status("passed")
    assert passed is not None
    assert passed.id == 601
    default = fields.default_execution_status()
    assert default is not None
    assert default.name == "Unexecuted"
    assert fields.user("GRACE@example.com") is not None
    assert fields.user(501) is not None
    assert fields.user("501") is not None
    assert fields.user("nobody") is None
    no_default = TargetFields.from_settings({}, execution_statuses=[{"id": 1, "name": "Unexecuted"}])
    found = no_default.default_execution_status()
    assert found is not None
    assert found.id == 1
    assert TargetFields().default_execution_status() is None


def test_user_resolver() -> None:
    config = mb.config(
        mappings={"users": {mb.ADA: "ada@example.com", mb.GRACE: 502, "x": "nobody"}, "default_user": "grace"}
    )
    resolver = UserResolver.from_config(config, mb.target())
    assert resolver.resolve(mb.ADA) == 501
    assert resolver.resolve(mb.GRACE) == 502
    assert resolver.resolve("x") is None
    assert resolver.resolve(mb.GONE) is None
    assert resolver.default_id() == 502
    unknown_id = UserResolver({"a": 999}, None, mb.target())
    assert unknown_id.resolve("a") is None  # not a user of the target
    unchecked = UserResolver({"a": "999"}, "", TargetFields())
    assert unchecked.resolve("a") == 999  # no user list to check against
    assert unchecked.default_id() is None


def test_source_lookups_build() -> None:
    lookups = mb.build_lookups(
        folders=[mb.folder(1, "A"), mb.folder(2, "B", 1), mb.folder(3, "C", 2)],
        statuses=mb.STATUSES,
        test_cases=[{"key": "P-T1", "name": "One"}, {"name": "no key"}],
        test_cycles=[{"id": 5, "key": "P-R1"}],
        test_plans=[
            {"id": 9, "key": "P-P1", "links": {"testCycles": [{"id": 1, "testCycleId": 5}]}},
            {"id": 10, "key": "P-P2", "links": {"testCycles": [{"id": 2, "testCycleId": 5}]}},
        ],
    )
    assert lookups.test_case_keys == frozenset({"P-T1"})
    assert lookups.test_case_names == {"P-T1": "One"}
    assert lookups.test_cycle_keys == {5: "P-R1"}
    assert lookups.test_plan_keys == {9: "P-P1", 10: "P-P2"}
    assert lookups.plan_keys_by_cycle == {5: ("P-P1", "P-P2")}
    assert lookups.name_of(lookups.statuses, mb.ref({"id": 2})) == "Approved"
    assert lookups.name_of(lookups.statuses, mb.ref({"id": 999})) is None
    assert lookups.name_of(lookups.statuses, mb.ref(None)) is None
    assert lookups.folder_path(Ref(3)) == "A/B/C"
    assert lookups.folder_path(Ref(42)) == "42"


def test_folder_path_survives_cycles() -> None:
    lookups = mb.build_lookups(folders=[mb.folder(1, "A", 2), mb.folder(2, "B", 1)])
    assert lookups.folder_path(Ref(1)) in ("B/A", "A/B")


def test_user_label() -> None:
    lookups = mb.lookups()
    assert lookups.user_label(mb.ADA) == f"Ada Lovelace ({mb.ADA})"
    assert lookups.user_label(mb.GONE) == mb.GONE
