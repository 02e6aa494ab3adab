"""Test cases -> qTest test cases (``TestCaseWithCustomFieldResource``).

A test case is never lost: a blank name gets a placeholder, an unknown folder puts it under the
root module, a value without a qTest field goes into the description. Only a required qTest field
that can get no value at all makes the test case fail, and then with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.mapping.base import PlannedEntity, ref
from ztoq.mapping.data_driven import keep_test_data
from ztoq.mapping.entity_rules import (
    describe,
    entity_name,
    map_links,
    new_properties,
    option_name,
    reference_name,
)
from ztoq.mapping.fields import (
    Kind,
    UnconvertibleValue,
    display,
    duration_minutes,
    duration_text,
    field_kind,
    is_empty,
)
from ztoq.mapping.lookups import SourceLookups, TargetFields
from ztoq.mapping.modules import ROOT_KEY
from ztoq.mapping.properties import PropertySet, lookup_label
from ztoq.mapping.steps import build_test_steps, call_levels
from ztoq.mapping.text import text_to_html
from ztoq.sources.records import Ref, TestCase

#: Test case members that have no fixed qTest home, by the name ``mappings.test_case_fields`` uses
#: (Zephyr's) and the block shows; the configuration may name a qTest field for each.
SYSTEM_FIELDS: tuple[tuple[str, Callable[[TestCase], Any]], ...] = (
    ("estimatedTime", lambda c: c.estimated_time),
    ("labels", lambda c: c.labels),
    ("component", lambda c: c.component),
    ("owner", lambda c: c.owner),
    ("createdOn", lambda c: c.created_on),
)

#: The qTest test case field each member lands in when ``mappings.test_case_fields`` names none
#: and the target has a field with that label (``ztoq fields apply`` creates them).
STANDARD_LABELS: dict[str, str] = {
    "estimatedTime": "Estimated Time",
    "labels": "Labels",
    "component": "Component",
    "owner": "Owner",
    "createdOn": "Created On",
}


def standard_label(member: str, configured: dict[str, str], props: PropertySet) -> str | None:
    """The qTest label of a test case member: configured, else its same-label field when it exists."""
    label = lookup_label(configured, member)
    if label is None and props.field(STANDARD_LABELS[member]) is not None:
        label = STANDARD_LABELS[member]
    return label


def _parent_module(test_case: TestCase, lookups: SourceLookups, props: PropertySet) -> dict[str, str]:
    folder = test_case.folder
    if folder is None:
        return ref("module", ROOT_KEY)
    if folder.key in lookups.folders:
        return ref("module", folder.key)
    props.problem(
        "degraded",
        "missing_folder",
        f"Folder {folder.shown} of the test case does not exist in Zephyr; the test case is placed "
        "directly under the root module.",
        "folder",
        folder_id=folder.shown,
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
    if name == "estimatedTime" and isinstance(value, int):
        shown = duration_text(value)
        if kind is Kind.NUMBER:
            try:
                props.map_value(name, duration_minutes(value), label, shown=shown)
            except UnconvertibleValue as exc:
                props.keep_in_text(
                    name, shown, "custom_field_unconvertible", f"{exc}; kept in text.", severity="degraded"
                )
            return
        if label:
            props.map_value(name, shown, label, shown=shown)
        else:
            props.keep_in_text(
                name, shown, "field_in_description", "estimatedTime has no qTest field mapped; kept in text."
            )
        return
    if isinstance(value, Ref):
        value = reference_name(value, lookups.component_names, "component")
    if name == "owner":
        if kind is Kind.USER:
            props.map_value(name, value, label, shown=lookups.user_label(value))
            return
        value = lookups.user_label(value)
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
    test_case: TestCase,
    lookups: SourceLookups,
    fields: TargetFields,
    config: ZtoqConfig,
    *,
    level: int = 0,
    broken_calls: frozenset[int] = frozenset(),
) -> PlannedEntity:
    """One test case as a planned qTest test case.

    Args:
        test_case: the test case, with its steps (inline and call-to-test) or its script, and
            its test data (kept as a table in the description: qTest test cases have none).
        lookups: source folders, statuses, priorities, known test case keys, ...
        fields: the qTest target's fields ("test-cases"), users.
        config: mappings, custom field map, ``qtest.source_key_field``, ``approve_test_cases``.
        level: call depth (from :func:`plan_test_cases`): a called case loads before its callers.
        broken_calls: indexes of call steps closing a call cycle (kept as text steps).

    Returns:
        Planned "test_case" keyed by the source key; payload None when it cannot be created.
    """
    key = test_case.key or f"id-{test_case.id}"
    props = new_properties("test-cases", lookups, fields, config)
    name = entity_name(test_case.name, key, "test case", props)
    parent = _parent_module(test_case, lookups, props)
    mappings = config.mappings
    props.map_choice(
        "Priority",
        option_name(lookups.priorities, test_case.priority, "priority"),
        mappings.priority,
        "priority_defaulted",
    )
    props.map_choice(
        "Status",
        option_name(lookups.statuses, test_case.status, "status"),
        mappings.status,
        "status_defaulted",
    )
    for member, value_of in SYSTEM_FIELDS:
        _map_system_field(
            member,
            value_of(test_case),
            lookups,
            props,
            standard_label(member, mappings.test_case_fields, props),
        )
    props.map_custom_fields(test_case.custom_fields, config.custom_fields.test_case)
    requirement_links = map_links(test_case.links, lookups, props, requirements=True)
    keep_test_data(props, test_case.test_data)

    known = lookups.test_case_keys | {key}
    test_steps = build_test_steps(key, test_case.steps, test_case.script, known, broken_calls, props.problems)
    description = describe(text_to_html(test_case.objective), props, key, config)
    props.finish()
    payload: dict[str, Any] | None = {
        "name": name,
        "description": description,
        "precondition": text_to_html(test_case.precondition),
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
    test_cases: Sequence[TestCase],
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
    keys = [str(tc.key) for tc in test_cases]
    levels, broken = call_levels({k: tc.steps for k, tc in zip(keys, test_cases, strict=True)})
    batch = replace(lookups, test_case_keys=lookups.test_case_keys | frozenset(keys))
    return [
        plan_test_case(
            tc,
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
