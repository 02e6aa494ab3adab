"""Zephyr Scale Cloud v2 JSON -> canonical records: one pure function per stored object.

Lenient by design, like the API it reads: a member that is missing, null or of another type than
the OpenAPI document says becomes None (or empty) in the record, and mapping decides what that
means. References (``{"id": 10, "self": ...}``) become :class:`~ztoq.sources.records.Ref` by
number; an id may arrive as a number or as a string of digits. Nothing here raises on odd input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ztoq.sources.json_values import fields as _fields
from ztoq.sources.json_values import items as _list
from ztoq.sources.json_values import labels as _labels
from ztoq.sources.json_values import number as _number
from ztoq.sources.json_values import text as _text
from ztoq.sources.records import (
    CallParameter,
    Folder,
    FolderKind,
    IssueLink,
    Links,
    Option,
    Ref,
    ScriptKind,
    StepResult,
    TestCase,
    TestCycle,
    TestExecution,
    TestPlan,
    TestScript,
    TestStep,
    WebLink,
)
from ztoq.values import int_or_none

#: ``testCase.self`` of an execution: ``.../testcases/{key}/versions/{n}``.
_VERSION_URL = re.compile(r"/testcases/([^/]+)/versions/(\d+)")

_FOLDER_KINDS = {kind.value: kind for kind in FolderKind if kind is not FolderKind.OTHER}
_SCRIPT_KINDS = {kind.value: kind for kind in ScriptKind}


def ref(link: Any) -> Ref | None:
    """A reference such as ``{"id": 10, "self": "..."}``; None without a usable id."""
    record_id = int_or_none(link.get("id")) if isinstance(link, Mapping) else None
    return None if record_id is None else Ref(id=record_id)


def account(user: Any) -> str | None:
    """The Jira account id of a user link (``{"accountId": ..., "self": ...}``)."""
    if isinstance(user, Mapping):
        user = user.get("accountId")
    return user if isinstance(user, str) and user else None


def option(raw: Any) -> Option | None:
    """A status, priority or environment; None for what is not an object."""
    if not isinstance(raw, Mapping):
        return None
    return Option(id=int_or_none(raw.get("id")), name=_text(raw.get("name")))


def folder(raw: Any) -> Folder | None:
    """A folder; None without an id (nothing can refer to it)."""
    folder_id = int_or_none(raw.get("id")) if isinstance(raw, Mapping) else None
    if folder_id is None:
        return None
    kind: FolderKind | None = None
    if "folderType" in raw:
        # A folder without a type counts as one of every tree (None); an unknown type, of none.
        kind = _FOLDER_KINDS.get(str(raw["folderType"]), FolderKind.OTHER)
    return Folder(
        key=str(folder_id),
        name=_text(raw.get("name")),
        kind=kind,
        parent=ref({"id": raw.get("parentId")}),
        index=_number(raw.get("index")) or 0,
        id=folder_id,
    )


def issue_link(raw: Mapping[str, Any]) -> IssueLink:
    """A Jira issue link (``IssueLink``; the key may be given as ``key`` or ``issueKey``)."""
    key = next((raw[m] for m in ("key", "issueKey") if isinstance(raw.get(m), str) and raw[m]), None)
    return IssueLink(
        key=key,
        issue_id=int_or_none(raw.get("issueId")),
        type=str(raw.get("type") or ""),
        target=_text(raw.get("target")) or None,
    )


def links(raw: Any) -> Links:
    """The ``links`` member of a test case, plan, cycle or execution."""
    if not isinstance(raw, Mapping):
        return Links()
    web: list[WebLink] = []
    for link in raw.get("webLinks") or ():
        if isinstance(link, Mapping) and isinstance(link.get("url"), str):
            description = link.get("description")
            web.append(WebLink(link["url"], str(description) if description else None))
    return Links(
        issues=tuple(issue_link(i) for i in raw.get("issues") or () if isinstance(i, Mapping)),
        web_links=tuple(web),
    )


def _call_parameter(raw: Mapping[str, Any]) -> CallParameter:
    return CallParameter(_text(raw.get("name")), _text(raw.get("value")), _text(raw.get("type")))


def step(raw: Any) -> TestStep:
    """One ``TestStep``: ``inline``, or ``testCase`` (a call to another test case by key)."""
    raw = raw if isinstance(raw, Mapping) else {}
    call = raw.get("testCase")
    called = call.get("testCaseKey") if isinstance(call, Mapping) else None
    if isinstance(call, Mapping) and isinstance(called, str) and called:
        parameters = tuple(
            _call_parameter(p) for p in _list(call.get("parameters")) if isinstance(p, Mapping)
        )
        return TestStep(called_test_case=called, parameters=parameters)
    inline = raw.get("inline")
    inline = inline if isinstance(inline, Mapping) else {}
    fields = _fields(inline.get("customFields"))
    if "reflectRef" in inline:
        fields["reflectRef"] = inline["reflectRef"]
    return TestStep(
        description=_text(inline.get("description")),
        test_data=_text(inline.get("testData")),
        expected_result=_text(inline.get("expectedResult")),
        fields=fields,
    )


def text_script(raw: Any) -> TestScript | None:
    """A ``TestScript`` of type plain or bdd; None for none, or for another type."""
    if not isinstance(raw, Mapping):
        return None
    kind = _SCRIPT_KINDS.get(str(raw.get("type") or "").lower())
    text = raw.get("text")
    return TestScript(kind, text) if kind is not None and isinstance(text, str) else None


def case(raw: Mapping[str, Any], steps: Any = (), script: Any = None) -> TestCase:
    """A ``TestCase`` with its stored steps (``test_steps``) and script (``test_script``)."""
    return TestCase(
        key=_text(raw.get("key")),
        id=int_or_none(raw.get("id")),
        name=_text(raw.get("name")),
        folder=ref(raw.get("folder")),
        priority=ref(raw.get("priority")),
        status=ref(raw.get("status")),
        owner=account(raw.get("owner")),
        component=ref(raw.get("component")),
        labels=_labels(raw.get("labels")),
        estimated_time=_number(raw.get("estimatedTime")),
        created_on=_text(raw.get("createdOn")),
        objective=_text(raw.get("objective")),
        precondition=_text(raw.get("precondition")),
        custom_fields=_fields(raw.get("customFields")),
        links=links(raw.get("links")),
        steps=tuple(step(s) for s in _list(steps)),
        script=text_script(script),
    )


def plan(raw: Mapping[str, Any]) -> TestPlan:
    """A ``TestPlan``; its ``links.testCycles`` name the cycles it groups, by id."""
    members = raw.get("links")
    cycle_links = members.get("testCycles") if isinstance(members, Mapping) else None
    cycles = (
        int_or_none(link.get("testCycleId")) for link in _list(cycle_links) if isinstance(link, Mapping)
    )
    return TestPlan(
        key=_text(raw.get("key")),
        id=int_or_none(raw.get("id")),
        name=_text(raw.get("name")),
        status=ref(raw.get("status")),
        owner=account(raw.get("owner")),
        labels=_labels(raw.get("labels")),
        folder=ref(raw.get("folder")),
        objective=_text(raw.get("objective")),
        custom_fields=_fields(raw.get("customFields")),
        links=links(members),
        test_cycles=tuple(Ref(id=cycle_id) for cycle_id in cycles if cycle_id is not None),
    )


def _plan_ref(link: Any) -> Ref:
    plan_id = link.get("testPlanId") if isinstance(link, Mapping) else None
    return Ref(id=plan_id if isinstance(plan_id, int) and not isinstance(plan_id, bool) else None)


def cycle(raw: Mapping[str, Any]) -> TestCycle:
    """A ``TestCycle``; its ``links.testPlans`` name the plans it belongs to, by id."""
    members = raw.get("links")
    plan_links = members.get("testPlans") if isinstance(members, Mapping) else None
    return TestCycle(
        key=_text(raw.get("key")),
        id=int_or_none(raw.get("id")),
        name=_text(raw.get("name")),
        status=ref(raw.get("status")),
        owner=account(raw.get("owner")),
        folder=ref(raw.get("folder")),
        description=_text(raw.get("description")),
        planned_start_date=_text(raw.get("plannedStartDate")),
        planned_end_date=_text(raw.get("plannedEndDate")),
        jira_version=ref(raw.get("jiraProjectVersion")),
        custom_fields=_fields(raw.get("customFields")),
        links=links(members),
        test_plans=tuple(_plan_ref(link) for link in _list(plan_links)),
    )


def executed_test_case(raw: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """``(test case key, version)`` of an execution; the API gives both in ``testCase.self``."""
    link = raw.get("testCase")
    if not isinstance(link, Mapping):
        return None, None
    match = _VERSION_URL.search(str(link.get("self") or ""))
    key = link.get("key") or link.get("testCaseKey") or (match.group(1) if match else None)
    version = link.get("version") or (match.group(2) if match else None)
    return (str(key) if key else None), (str(version) if version is not None else None)


def _cycle_ref(link: Any) -> Ref | None:
    """The cycle of an execution: by key when the link has one, else by id; None for no link."""
    if not isinstance(link, Mapping) or not link:
        return None
    key = link.get("key")
    return Ref(id=int_or_none(link.get("id")), name=key if isinstance(key, str) and key else None)


def step_result(index: int, raw: Any) -> StepResult:
    """One ``TestExecutionStep`` (its ``inline`` part) at position ``index`` (from 0)."""
    inline = raw.get("inline") if isinstance(raw, Mapping) else None
    inline = inline if isinstance(inline, Mapping) else {}
    return StepResult(
        index=index,
        status=ref(inline.get("status")),
        actual_result=_text(inline.get("actualResult")),
        description=_text(inline.get("description")),
        test_data=_text(inline.get("testData")),
        expected_result=_text(inline.get("expectedResult")),
    )


def execution_steps_of(raw: Mapping[str, Any], steps_by_execution: Mapping[Any, Any]) -> Any:
    """The stored step results of an execution: found by its id, its key, or its id as text."""
    return (
        steps_by_execution.get(raw.get("id"))
        or steps_by_execution.get(raw.get("key"))
        or steps_by_execution.get(str(raw.get("id")))
        or ()
    )


def execution(raw: Mapping[str, Any], steps: Any = ()) -> TestExecution:
    """A ``TestExecution`` with its stored step results (``execution_steps``)."""
    case_key, version = executed_test_case(raw)
    return TestExecution(
        key=_text(raw.get("key")),
        id=_number(raw.get("id")),
        test_case_key=case_key,
        test_case_version=version,
        test_cycle=_cycle_ref(raw.get("testCycle")),
        status=ref(raw.get("testExecutionStatus")),
        environment=ref(raw.get("environment")),
        actual_end_date=_text(raw.get("actualEndDate")),
        execution_time=_number(raw.get("executionTime")),
        estimated_time=_number(raw.get("estimatedTime")),
        executed_by=_text(raw.get("executedById")),
        assigned_to=_text(raw.get("assignedToId")),
        comment=_text(raw.get("comment")),
        jira_version=ref(raw.get("jiraProjectVersion")),
        automated=raw.get("automated") is True,
        custom_fields=_fields(raw.get("customFields")),
        links=links(raw.get("links")),
        steps=tuple(step_result(i, s) for i, s in enumerate(_list(steps))),
    )
