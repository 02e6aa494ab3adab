"""Test cycles -> qTest test cycles (``TestCycleResource``), placed under a release or folder.

Where a cycle goes:

* linked to a test plan: under that plan's release (``parent_type`` "release");
* linked to several plans: under the first, the others named in its description
  (Problem "multiple_plans"): qTest gives a test cycle one parent;
* linked to no plan: in the test-cycle tree mirroring Zephyr's TEST_CYCLE folders, under the
  "cycle_folder" of its folder (or the root cycle folder), ``parent_type`` "test-cycle".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.mapping.base import PlannedEntity, ref
from ztoq.mapping.entity_rules import (
    describe,
    entity_name,
    map_links,
    map_owner,
    new_properties,
    option_name,
    reference_name,
)
from ztoq.mapping.lookups import SourceLookups, TargetFields
from ztoq.mapping.modules import ROOT_KEY
from ztoq.mapping.properties import PropertySet
from ztoq.mapping.text import text_to_html
from ztoq.sources.records import Ref, TestCycle
from ztoq.vendor import QTEST_PARENT_CYCLE, QTEST_PARENT_RELEASE

ADHOC_KEY = "adhoc"


def _plan_key(plan: Ref, lookups: SourceLookups) -> str | None:
    """The key of a linked plan: by its number (Cloud), or its key when that plan was extracted (Server)."""
    if plan.id is not None:
        return lookups.test_plan_keys.get(plan.id)
    known = plan.name in lookups.all_test_plan_keys or plan.name in lookups.test_plan_keys.values()
    return plan.name if known else None


def linked_plan_keys(cycle: TestCycle, lookups: SourceLookups, props: PropertySet) -> list[str]:
    """Keys of the plans a cycle is linked to, from both sides, in link order, without duplicates."""
    keys: list[str] = []
    unknown: list[str] = []
    for plan in cycle.test_plans:
        plan_key = _plan_key(plan, lookups)
        if plan_key is None:
            unknown.append(str(plan.shown))
        elif plan_key not in keys:
            keys.append(plan_key)
    # Plans name their cycles by id (Cloud) or by key (Server): look the cycle up both ways.
    names = [name for name in (cycle.id, cycle.key) if name is not None]
    for plan_key in (k for name in names for k in lookups.plan_keys_by_cycle.get(name, ())):
        if plan_key not in keys:
            keys.append(plan_key)
    if unknown:
        props.keep_in_text(
            "Unknown test plans",
            ", ".join(unknown),
            "unknown_test_plan",
            f"The cycle is linked to test plan(s) {', '.join(unknown)} that were not extracted; "
            "they are named in the description.",
            severity="degraded",
        )
    return keys


def _parent(cycle: TestCycle, lookups: SourceLookups, props: PropertySet) -> dict[str, Any]:
    plans = linked_plan_keys(cycle, lookups, props)
    if plans:
        if len(plans) > 1:
            props.keep_in_text(
                "Other test plans",
                ", ".join(plans[1:]),
                "multiple_plans",
                f"The cycle is linked to {len(plans)} test plans; qTest gives a test cycle one release, "
                f"so it goes under {plans[0]} and the others are named in the description.",
            )
        return {"parent": ref("release", plans[0]), "parent_type": QTEST_PARENT_RELEASE}
    folder = cycle.folder
    if folder is not None and folder.key not in lookups.folders:
        props.problem(
            "degraded",
            "missing_folder",
            f"Folder {folder.shown} of the cycle does not exist in Zephyr; the cycle goes under the root "
            "cycle.",
            "folder",
            folder_id=folder.shown,
        )
        folder = None
    parent_key = ROOT_KEY if folder is None else folder.key
    return {"parent": ref("cycle_folder", parent_key), "parent_type": QTEST_PARENT_CYCLE}


def plan_test_cycle(
    cycle: TestCycle, lookups: SourceLookups, fields: TargetFields, config: ZtoqConfig
) -> PlannedEntity:
    """One test cycle as a planned qTest test cycle.

    Description, planned dates, owner, status, Jira version and custom fields go into qTest
    "test-cycles" fields with the same label ("Planned Start Date", "Owner", ...) or the
    configured one (``custom_fields.test_cycle``) when the target has them, otherwise into the
    "Zephyr fields" block. ``properties`` is sent only when non-empty: qTest's test cycle
    resource documents none.

    Returns:
        Planned "test_cycle" keyed by the cycle key (e.g. "PROJ-R1"); ``parent`` and ``parent_type`` hold
        ``parent_id`` (a release or cycle_folder reference) and ``parent_type``.
    """
    key = cycle.key or f"id-{cycle.id}"
    props = new_properties("test-cycles", lookups, fields, config)
    name = entity_name(cycle.name, key, "test cycle", props)
    placement = _parent(cycle, lookups, props)
    props.map_value("Planned Start Date", cycle.planned_start_date)
    props.map_value("Planned End Date", cycle.planned_end_date)
    map_owner(props, cycle.owner, "Owner")
    props.map_choice(
        "Status",
        option_name(lookups.statuses, cycle.status, "status"),
        config.mappings.status,
        "status_defaulted",
    )
    if cycle.jira_version is not None:
        props.map_value("Jira Version", reference_name(cycle.jira_version, lookups.version_names, "version"))
    props.map_custom_fields(cycle.custom_fields, config.custom_fields.test_cycle)
    map_links(cycle.links, lookups, props, requirements=False)
    description = describe(text_to_html(cycle.description), props, key, config)
    props.finish()
    payload: dict[str, Any] = {"name": name, "description": description}
    if props.values:
        payload["properties"] = props.properties()
    return PlannedEntity(
        "test_cycle", key, None if props.failed else payload, **placement, problems=props.problems
    )


def plan_test_cycles(
    cycles: Sequence[TestCycle], lookups: SourceLookups, fields: TargetFields, config: ZtoqConfig
) -> list[PlannedEntity]:
    """Every test cycle, in the order given (plan the cycle folders with ``plan_cycle_folders``)."""
    return [plan_test_cycle(c, lookups, fields, config) for c in cycles]


def plan_adhoc_cycle(config: ZtoqConfig) -> PlannedEntity:
    """The test cycle receiving executions that belong to no Zephyr cycle (``qtest.adhoc_cycle``)."""
    return PlannedEntity(
        "test_cycle",
        ADHOC_KEY,
        {
            "name": config.qtest.adhoc_cycle,
            "description": "Zephyr Scale test executions that belong to no test cycle.",
        },
        parent=ref("cycle_folder", ROOT_KEY),
        parent_type=QTEST_PARENT_CYCLE,
    )
