"""Zephyr test cases -> qTest test cases (``TestCaseWithCustomFieldResource``).

A test case is never lost: a blank name gets a placeholder, an unknown folder puts it under the
root module, a value without a qTest field goes into the description. Only a required qTest field
that can get no value at all makes the test case fail, and then with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.mapping.base import PlannedEntity, ref
from ztoq.mapping.common import describe, entity_name, map_links, new_properties, option_name
from ztoq.mapping.fields import (
    Kind,
    UnconvertibleValue,
    display,
    duration_minutes,
    duration_text,
    field_kind,
    is_empty,
)
from ztoq.mapping.lookups import SourceLookups, TargetFields, link_id
from ztoq.mapping.modules import ROOT_KEY
from ztoq.mapping.properties import PropertySet, lookup_label
from ztoq.mapping.steps import build_test_steps, call_levels
from ztoq.mapping.text import text_to_html

#: Zephyr test case members that have no fixed qTest home; ``mappings.test_case_fields`` may name one.
SYSTEM_FIELDS: tuple[str, ...] = ("estimatedTime", "labels", "component", "owner", "createdOn")


def _parent_module(
    test_case: Mapping[str, Any], lookups: SourceLookups, props: PropertySet
) -> dict[str, str]:
    folder = test_case.get("folder")
    folder_id = link_id(folder)
    if folder_id is None:
        return ref("module", ROOT_KEY)
    if folder_id in lookups.folders:
        return ref("module", str(folder_id))
    props.problem(
        "degraded",
        "missing_folder",
        f"Folder {folder_id} of the test case does not exist in Zephyr; the test case is placed "
        "directly under the root module.",
        "folder",
        folder_id=folder_id,
    )
    return ref("module", ROOT_KEY)


def _map_system_field(
    name: str, value: Any, lookups: SourceLookups, props: PropertySet, label: str | None
) -> None:
    """estimatedTime, labels, component, owner, createdOn: to a configured field or the block."""
    if is_empty(value):
        return
    target = props.field(label) if label else None
    kind = field_kind(target) if target is not None else None
    if name == "estimatedTime" and isinstance(value, int) and not isinstance(value, bool):
        shown = duration_text(value)
        if kind is Kind.NUMBER:
            try:
                props.map_value(name, duration_minutes(value), label, shown=shown)
            except UnconvertibleValue as exc:
                props.keep_in_text(name, shown, "custom_field_unconvertible", f"{exc}; kept in text.")
            return
        if label:
            props.map_value(name, shown, label, shown=shown)
        else:
            props.keep_in_text(
                name, shown, "field_in_description", "estimatedTime has no qTest field mapped; kept in text."
            )
        return
    if name == "component":
        component_id = link_id(value)
        value = (
            lookups.component_names.get(component_id, f"component {component_id}") if component_id else value
        )
    if name == "owner":
        account = display(value)
        if kind is Kind.USER:
            props.map_value(name, account, label, shown=lookups.user_label(account))
            return
        value = lookups.user_label(account)
    if label:
        props.map_value(name, value, label)
    else:
        props.keep_in_text(
            name,
            text_to_html(display(value)),
            "field_in_description",
            f"Zephyr test case {name} has no qTest field mapped; the value is kept in text.",
        )


def plan_test_case(
    test_case: Mapping[str, Any],
    steps: Sequence[Mapping[str, Any]],
    script: Mapping[str, Any] | None,
    lookups: SourceLookups,
    fields: TargetFields,
    config: ZtoqConfig,
    *,
    level: int = 0,
    broken_calls: frozenset[int] = frozenset(),
) -> PlannedEntity:
    """One Zephyr test case as a planned qTest test case.

    Args:
        test_case: Zephyr TestCase JSON.
        steps: its TestStep JSON list (inline and call-to-test), in order; [] for none.
        script: its TestScript JSON (plain or bdd), or None.
        lookups: Zephyr folders, statuses, priorities, known test case keys, ...
        fields: the qTest target's fields ("test-cases"), users.
        config: mappings, custom field map, ``qtest.source_key_field``, ``approve_test_cases``.
        level: call depth (from :func:`plan_test_cases`): a called case loads before its callers.
        broken_calls: indexes of call steps closing a call cycle (kept as text steps).

    Returns:
        Planned "test_case" keyed by the Zephyr key; payload None when it cannot be created.
    """
    key = str(test_case.get("key") or f"id-{test_case.get('id')}")
    props = new_properties("test-cases", lookups, fields, config)
    name = entity_name(test_case.get("name"), key, "test case", props)
    parent = _parent_module(test_case, lookups, props)
    mappings = config.mappings
    props.map_choice(
        "Priority",
        option_name(lookups.priorities, test_case.get("priority"), "priority"),
        mappings.priority,
        "priority_defaulted",
    )
    props.map_choice(
        "Status",
        option_name(lookups.statuses, test_case.get("status"), "status"),
        mappings.status,
        "status_defaulted",
    )
    for member in SYSTEM_FIELDS:
        _map_system_field(
            member, test_case.get(member), lookups, props, lookup_label(mappings.test_case_fields, member)
        )
    props.map_custom_fields(test_case.get("customFields"), config.custom_fields.test_case)
    requirement_links = map_links(test_case.get("links"), lookups, props, requirements=True)

    known = lookups.test_case_keys | {key}
    test_steps = build_test_steps(key, steps, script, known, broken_calls, props.problems)
    description = describe(text_to_html(display(test_case.get("objective"))), props, key, config)
    props.finish()
    payload: dict[str, Any] | None = {
        "name": name,
        "description": description,
        "precondition": text_to_html(display(test_case.get("precondition"))),
        "parent_id": parent,
        "properties": props.properties(),
        "test_steps": test_steps,
    }
    return PlannedEntity(
        "test_case",
        key,
        None if props.failed else payload,
        level=level,
        problems=props.problems,
        approve=config.qtest.approve_test_cases,
        requirement_links=tuple(requirement_links),
    )


def plan_test_cases(
    test_cases: Sequence[Mapping[str, Any]],
    steps_by_key: Mapping[str, Sequence[Mapping[str, Any]]],
    scripts_by_key: Mapping[str, Mapping[str, Any] | None],
    lookups: SourceLookups,
    fields: TargetFields,
    config: ZtoqConfig,
) -> list[PlannedEntity]:
    """Every test case, with call levels computed and call cycles broken (never loops).

    A test case calling another of this batch gets a level one above its callee's; test cases
    outside the batch (already migrated) are taken as loaded. A call closing a cycle becomes a text
    step naming the called key (Problem "call_cycle").

    Returns:
        One Planned per test case, in the order given.
    """
    keys = [str(tc.get("key")) for tc in test_cases]
    levels, broken = call_levels({k: steps_by_key.get(k, ()) for k in keys})
    batch = replace(lookups, test_case_keys=lookups.test_case_keys | frozenset(keys))
    return [
        plan_test_case(
            tc,
            steps_by_key.get(key, ()),
            scripts_by_key.get(key),
            batch,
            fields,
            config,
            level=levels.get(key, 0),
            broken_calls=broken.get(key, frozenset()),
        )
        for tc, key in zip(test_cases, keys, strict=True)
    ]


def step_counts(planned: Iterable[PlannedEntity]) -> dict[str, int]:
    """Test case key -> number of qTest steps, from planned test cases (for ``SourceLookups``).

    Test logs match step results to steps by order only when the counts agree.
    """
    return {
        p.source_key: len(p.body.get("test_steps") or ())
        for p in planned
        if p.entity_type == "test_case" and p.body is not None
    }
