"""Test plans -> qTest releases (``ReleaseWithCustomFieldResource``).

A test plan groups test cycles the way a qTest release groups test cycles, so each plan becomes
one release and its linked cycles go under it (see :mod:`ztoq.mapping.cycles`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ztoq.config import ZtoqConfig
from ztoq.mapping.base import PlannedEntity
from ztoq.mapping.entity_rules import describe, entity_name, map_links, map_owner, new_properties, option_name
from ztoq.mapping.lookups import SourceLookups, TargetFields
from ztoq.mapping.text import text_to_html
from ztoq.sources.records import TestPlan


def plan_release(
    test_plan: TestPlan, lookups: SourceLookups, fields: TargetFields, config: ZtoqConfig
) -> PlannedEntity:
    """One test plan as a planned qTest release.

    Args:
        test_plan: the test plan.
        lookups: source statuses, folders, users, issue keys.
        fields: the qTest target's "releases" fields.
        config: ``mappings.status``, ``custom_fields.test_plan``, ``qtest.source_key_field``.

    Returns:
        Planned "release" keyed by the plan key (e.g. "PROJ-P1"): payload ``name``, ``description``
        (objective, "Zephyr fields" block, source key), ``properties``; None when it cannot be made.
    """
    key = test_plan.key or f"id-{test_plan.id}"
    props = new_properties("releases", lookups, fields, config)
    name = entity_name(test_plan.name, key, "test plan", props)
    props.map_choice(
        "Status",
        option_name(lookups.statuses, test_plan.status, "status"),
        config.mappings.status,
        "status_defaulted",
    )
    map_owner(props, test_plan.owner, "Owner")
    props.map_value("Labels", test_plan.labels)
    if test_plan.folder is not None:
        props.map_value("Folder", lookups.folder_path(test_plan.folder))
    props.map_custom_fields(test_plan.custom_fields, config.custom_fields.test_plan)
    map_links(test_plan.links, lookups, props, requirements=False)
    description = describe(text_to_html(test_plan.objective), props, key, config)
    props.finish()
    return PlannedEntity(
        "release",
        key,
        None
        if props.failed
        else {"name": name, "description": description, "properties": props.properties()},
        problems=props.problems,
    )


def plan_releases(
    test_plans: Sequence[TestPlan], lookups: SourceLookups, fields: TargetFields, config: ZtoqConfig
) -> list[PlannedEntity]:
    """Every test plan as a release, in the order given."""
    return [plan_release(p, lookups, fields, config) for p in test_plans]
