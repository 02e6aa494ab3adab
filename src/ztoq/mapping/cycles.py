"""Zephyr test cycles -> qTest test cycles (``TestCycleResource``), placed under a release or folder.

Where a cycle goes:

* linked to a test plan: under that plan's release (``parent_type`` "release");
* linked to several plans: under the first, the others named in its description
  (Problem "multiple_plans"): qTest gives a test cycle one parent;
* linked to no plan: in the test-cycle tree mirroring Zephyr's TEST_CYCLE folders, under the
  "cycle_folder" of its folder (or the root cycle folder), ``parent_type`` "test-cycle".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.mapping.base import PlannedEntity, ref
from ztoq.mapping.common import describe, entity_name, map_links, map_owner, new_properties, option_name
from ztoq.mapping.fields import display
from ztoq.mapping.lookups import SourceLookups, TargetFields, link_id
from ztoq.mapping.modules import ROOT_KEY
from ztoq.mapping.properties import PropertySet
from ztoq.mapping.text import text_to_html
from ztoq.vendor import QTEST_PARENT_CYCLE, QTEST_PARENT_RELEASE

ADHOC_KEY = "adhoc"


def linked_plan_keys(cycle: Mapping[str, Any], lookups: SourceLookups, props: PropertySet) -> list[str]:
    """Keys of the plans a cycle is linked to, from both sides, in link order, without duplicates."""
    keys: list[str] = []
    unknown: list[str] = []
    for link in (cycle.get("links") or {}).get("testPlans") or ():
        plan_id = link.get("testPlanId") if isinstance(link, Mapping) else None
        plan_key = lookups.test_plan_keys.get(plan_id) if isinstance(plan_id, int) else None
        if plan_key is None:
            unknown.append(str(plan_id))
        elif plan_key not in keys:
            keys.append(plan_key)
    cycle_id = link_id(cycle)
    for plan_key in lookups.plan_keys_by_cycle.get(cycle_id, ()) if cycle_id is not None else ():
        if plan_key not in keys:
            keys.append(plan_key)
    if unknown:
        props.keep_in_text(
            "Unknown test plans",
            ", ".join(unknown),
            "unknown_test_plan",
            f"The cycle is linked to test plan(s) {', '.join(unknown)} that were not extracted; "
            "they are named in the description.",
        )
    return keys


def _parent(cycle: Mapping[str, Any], lookups: SourceLookups, props: PropertySet) -> dict[str, Any]:
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
    folder_id = link_id(cycle.get("folder"))
    if folder_id is not None and folder_id not in lookups.folders:
        props.problem(
            "degraded",
            "missing_folder",
            f"Folder {folder_id} of the cycle does not exist in Zephyr; the cycle goes under the root cycle.",
            "folder",
            folder_id=folder_id,
        )
        folder_id = None
    parent_key = ROOT_KEY if folder_id is None else str(folder_id)
    return {"parent": ref("cycle_folder", parent_key), "parent_type": QTEST_PARENT_CYCLE}


def plan_test_cycle(
    cycle: Mapping[str, Any], lookups: SourceLookups, fields: TargetFields, config: ZtoqConfig
) -> PlannedEntity:
    """One Zephyr test cycle as a planned qTest test cycle.

    Description, planned dates, owner, status, Jira version and custom fields go into qTest
    "test-cycles" fields with the same label ("Planned Start Date", "Owner", ...) or the
    configured one (``custom_fields.test_cycle``) when the target has them, otherwise into the
    "Zephyr fields" block. ``properties`` is sent only when non-empty: qTest's test cycle
    resource documents none.

    Returns:
        Planned "test_cycle" keyed by the cycle key (e.g. "PROJ-R1"); ``parent`` and ``parent_type`` hold
        ``parent_id`` (a release or cycle_folder reference) and ``parent_type``.
    """
    key = str(cycle.get("key") or f"id-{cycle.get('id')}")
    props = new_properties("test-cycles", lookups, fields, config)
    name = entity_name(cycle.get("name"), key, "test cycle", props)
    placement = _parent(cycle, lookups, props)
    props.map_value("Planned Start Date", cycle.get("plannedStartDate"))
    props.map_value("Planned End Date", cycle.get("plannedEndDate"))
    map_owner(props, cycle.get("owner"), "Owner")
    props.map_choice(
        "Status",
        option_name(lookups.statuses, cycle.get("status"), "status"),
        config.mappings.status,
        "status_defaulted",
    )
    version_id = link_id(cycle.get("jiraProjectVersion"))
    if version_id is not None:
        props.map_value("Jira Version", lookups.version_names.get(version_id, f"version {version_id}"))
    props.map_custom_fields(cycle.get("customFields"), config.custom_fields.test_cycle)
    map_links(cycle.get("links"), lookups, props, requirements=False)
    description = describe(text_to_html(display(cycle.get("description"))), props, key, config)
    props.finish()
    payload: dict[str, Any] = {"name": name, "description": description}
    if props.values:
        payload["properties"] = props.properties()
    return PlannedEntity(
        "test_cycle", key, None if props.failed else payload, **placement, problems=props.problems
    )


def plan_test_cycles(
    cycles: Sequence[Mapping[str, Any]], lookups: SourceLookups, fields: TargetFields, config: ZtoqConfig
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
