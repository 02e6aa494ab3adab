"""The entity registry is the one list of entity types: every per-type table agrees with it.

Adding a type to ``ztoq.entities.ENTITY_TYPES`` alone makes these tests fail, naming each table
that lacks it; a table naming a type the registry does not have fails the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from ztoq import entities, vendor
from ztoq.entities import BY_NAME, DELETE_ORDER, ENTITY_TYPES, LOAD_ORDER


def _tables() -> dict[str, Iterable[str]]:
    """Every table keyed by entity type, by the name a developer would look for."""
    from ztoq.pipeline.loaders import LOADERS
    from ztoq.pipeline.transform import PLANNERS
    from ztoq.pipeline.validate import VALIDATORS
    from ztoq.report.formatting import ENTITY_ORDER

    return {
        "pipeline.loaders.LOADERS": LOADERS,
        "pipeline.transform.PLANNERS": PLANNERS,
        "pipeline.validate.VALIDATORS": VALIDATORS,
        "report.formatting.ENTITY_ORDER": ENTITY_ORDER,
    }


@pytest.mark.parametrize("table", sorted(_tables()))
def test_every_table_names_exactly_the_registered_types(table: str) -> None:
    keys = list(_tables()[table])
    missing = [name for name in LOAD_ORDER if name not in keys]
    unregistered = [name for name in keys if name not in BY_NAME]
    assert not missing, f"{table} has no entry for the registered type(s) {', '.join(missing)}"
    assert not unregistered, f"{table} names type(s) the registry does not have: {', '.join(unregistered)}"


def test_names_are_unique_and_load_order_is_the_registry_order() -> None:
    assert len(BY_NAME) == len(ENTITY_TYPES)
    assert tuple(t.name for t in ENTITY_TYPES) == LOAD_ORDER


def test_parents_come_first_and_are_registered() -> None:
    for position, registered in enumerate(ENTITY_TYPES):
        for parent in registered.parents:
            assert parent in BY_NAME, f"{registered.name} names an unregistered parent {parent}"
            assert LOAD_ORDER.index(parent) <= position, f"{registered.name} loads before its parent {parent}"
        carried = registered.parent_option is not None or registered.body_parent is not None
        assert carried == bool(registered.parents), (
            f"{registered.name}: a type with parents says what carries its parent, and only it"
        )
        assert not (registered.parent_option and registered.body_parent), registered.name
        assert registered.kind, f"{registered.name} has no qTest kind"


def test_delete_order_is_the_reverse_load_order_of_what_is_deleted_alone() -> None:
    alone = [t.name for t in ENTITY_TYPES if t.deleted_alone]
    assert list(DELETE_ORDER) == list(reversed(alone))


def test_vendor_facts_of_each_type_are_real() -> None:
    for registered in ENTITY_TYPES:
        assert registered.permission_area in vendor.QTEST_PERMISSION_AREAS, registered.name
        assert registered.object_type is None or registered.object_type in (
            *vendor.QTEST_FIELD_OBJECT_TYPES,
            "test-cycles",  # qTest has no field settings for cycles; preflight knows it
        ), registered.name
        assert registered.folder_type is None or registered.folder_type in vendor.ZEPHYR_FOLDER_TYPES
        assert registered.sources, f"{registered.name} is planned from nothing"
        # A count comes from exactly one rule: folders, a one-to-one source type, or the plan.
        assert not (registered.folder_type and registered.counted_from), registered.name
        assert registered.counted_from is None or registered.counted_from in registered.sources


def test_nouns() -> None:
    assert entities.noun("test_case", 1) == "1 test case"
    assert entities.noun("cycle_folder", 3) == "3 cycle folders"
    assert entities.noun("attachment", 2) == "2 attachments"
    assert entities.noun(None, 2) == "2 entities"
