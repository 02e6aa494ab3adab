"""Zephyr folder trees -> qTest modules and cycle folders (ztoq.mapping.modules)."""

from __future__ import annotations

import mapping_builders as mb

from ztoq.mapping.base import ref
from ztoq.mapping.modules import plan_cycle_folders, plan_modules
from ztoq.mapping.text import NAME_MAX_LENGTH, find_source_key


def by_key(plans: list) -> dict:  # type: ignore[type-arg]
    return {p.source_key: p for p in plans}


def test_root_module_named_after_the_project_by_default() -> None:
    plans = plan_modules(mb.folders([]), mb.config())
    assert len(plans) == 1
    root = plans[0]
    assert (root.entity_type, root.source_key, root.level) == ("module", "root", 0)
    assert root.body is not None
    assert root.body["name"] == "PROJ"
    assert root.options["parent_id"] is None
    assert "parent" not in root.options  # the stored form no longer carries a second, empty "parent"
    assert root.depends_on == []


def test_root_module_name_from_config() -> None:
    plans = plan_modules(mb.folders([]), mb.config(qtest={"root_module": "Migrated from Zephyr"}))
    assert plans[0].body == {
        "name": "Migrated from Zephyr",
        "description": "Test cases migrated from Zephyr Scale project PROJ.",
    }


def test_tree_depths_levels_refs_and_order() -> None:
    folders = [
        mb.folder(3, "Deep", 2),
        mb.folder(2, "Child", 1),
        mb.folder(1, "Top"),
        mb.folder(4, "Other top", index=1),
    ]
    plans = plan_modules(mb.folders(folders), mb.config())
    keys = [p.source_key for p in plans]
    assert keys == ["root", "1", "4", "2", "3"]
    plan = by_key(plans)
    assert {k: p.level for k, p in plan.items()} == {"root": 0, "1": 1, "4": 1, "2": 2, "3": 3}
    assert plan["1"].options == {"parent_id": ref("module", "root")}
    assert plan["3"].options == {"parent_id": ref("module", "2")}
    assert plan["3"].depends_on == [("module", "2")]
    assert plan["2"].body == {"name": "Child", "description": "Zephyr key: 2"}
    assert find_source_key(plan["2"].body["description"]) == "2"
    assert all(not p.problems for p in plans)
    # Every parent comes before its children.
    position = {k: i for i, k in enumerate(keys)}
    for p in plans[1:]:
        assert position[p.depends_on[0][1]] < position[p.source_key]


def test_siblings_follow_zephyr_index_then_id() -> None:
    folders = [mb.folder(9, "B", index=0), mb.folder(5, "C", index=2), mb.folder(7, "A", index=0)]
    assert [p.source_key for p in plan_modules(mb.folders(folders), mb.config())][1:] == ["7", "9", "5"]


def test_missing_parent_goes_under_root_with_a_problem() -> None:
    plans = by_key(
        plan_modules(mb.folders([mb.folder(5, "Orphan", 404), mb.folder(6, "Kid", 5)]), mb.config())
    )
    assert plans["5"].options == {"parent_id": ref("module", "root")}
    assert plans["5"].level == 1
    assert [p.code for p in plans["5"].problems] == ["missing_parent_folder"]
    assert plans["5"].problems[0].severity == "degraded"
    assert plans["6"].level == 2
    assert not plans["6"].problems


def test_folder_cycles_are_broken_and_never_loop() -> None:
    folders = [mb.folder(1, "A", 3), mb.folder(2, "B", 1), mb.folder(3, "C", 2), mb.folder(4, "Self", 4)]
    plans = by_key(plan_modules(mb.folders(folders), mb.config()))
    assert set(plans) == {"root", "1", "2", "3", "4"}
    assert [p.code for p in plans["1"].problems] == ["folder_cycle"]
    assert plans["1"].options == {"parent_id": ref("module", "root")}
    assert (plans["1"].level, plans["2"].level, plans["3"].level) == (1, 2, 3)
    assert [p.code for p in plans["4"].problems] == ["folder_cycle"]
    assert plans["4"].level == 1


def test_duplicate_sibling_names_are_both_kept() -> None:
    plans = plan_modules(mb.folders([mb.folder(1, "Same"), mb.folder(2, "Same")]), mb.config())
    assert [p.body["name"] for p in plans[1:] if p.body] == ["Same", "Same"]
    assert all(not p.problems for p in plans)


def test_blank_names_get_a_placeholder() -> None:
    plans = by_key(
        plan_modules(mb.folders([mb.folder(1, "  "), {**mb.folder(2, ""), "name": None}]), mb.config())
    )
    assert plans["1"].body is not None
    assert plans["1"].body["name"] == "(unnamed folder 1)"
    assert [p.code for p in plans["1"].problems] == ["unnamed_folder"]
    assert plans["2"].body is not None
    assert plans["2"].body["name"] == "(unnamed folder 2)"


def test_long_names_are_truncated_with_the_full_name_in_the_description() -> None:
    name = "Ω" * (NAME_MAX_LENGTH + 1)
    plan = by_key(plan_modules(mb.folders([mb.folder(1, name)]), mb.config()))["1"]
    assert plan.body is not None
    assert len(plan.body["name"]) == NAME_MAX_LENGTH
    assert f"Full name: {name}" in plan.body["description"]
    assert find_source_key(plan.body["description"]) == "1"
    assert [p.code for p in plan.problems] == ["name_truncated"]


def test_unicode_names_pass_through() -> None:
    plan = by_key(plan_modules(mb.folders([mb.folder(1, "Connexion ✓ 登录 🚀 שלום")]), mb.config()))["1"]
    assert plan.body is not None
    assert plan.body["name"] == "Connexion ✓ 登录 🚀 שלום"


def test_only_test_case_folders_become_modules() -> None:
    folders = [mb.folder(1, "Cases"), mb.folder(2, "Cycles", folderType="TEST_CYCLE"), {"id": 3, "name": "?"}]
    assert [p.source_key for p in plan_modules(mb.folders(folders), mb.config())] == ["root", "1", "3"]


def test_cycle_folders_mirror_the_test_cycle_tree() -> None:
    folders = [
        mb.folder(1, "Cases"),
        mb.folder(2, "Sprints", folderType="TEST_CYCLE"),
        mb.folder(3, "Sprint 1", 2, folderType="TEST_CYCLE"),
    ]
    plans = by_key(plan_cycle_folders(mb.folders(folders), mb.config()))
    assert set(plans) == {"root", "2", "3"}
    root = plans["root"]
    assert root.entity_type == "cycle_folder"
    assert root.body is not None
    assert root.body["name"] == "PROJ"
    assert root.options == {"parent_id": None, "parent_type": "root"}
    assert plans["2"].options == {"parent_id": ref("cycle_folder", "root"), "parent_type": "test-cycle"}
    assert plans["3"].options == {"parent_id": ref("cycle_folder", "2"), "parent_type": "test-cycle"}
    assert plans["3"].level == 2


def test_a_wide_deep_tree_is_fast_and_complete() -> None:
    folders = [mb.folder(i, f"F{i}", i - 1 if i > 1 else None) for i in range(1, 1001)]
    folders += [mb.folder(i, f"W{i}", 1) for i in range(2000, 4000)]
    plans = plan_modules(mb.folders(folders), mb.config())
    assert len(plans) == 3001
    assert max(p.level for p in plans) == 1000
