"""Zephyr Scale Server/Data Center v1 JSON -> canonical records: pure functions, no I/O.

Lenient like the Cloud decoder (:mod:`ztoq.sources.zephyr_cloud.decode`): a member that is
missing, null or of an unexpected type becomes None (or empty) in the record, and nothing here
raises on odd input. What differs from Cloud is what the wire holds:

* **Names, not ids.** Statuses, priorities, environments, components and Jira versions are
  names (``"Approved"``), so they become ``Ref(name=...)`` and the lookup tables are made of
  the names the stored rows use (:func:`options`), each an ``Option(id=None, name=...)``.
* **Paths, not folder ids.** A folder is a path (``/Orbiter/Cargo Bay``); v1 cannot list
  folders, so they are rebuilt from the paths the stored rows carry (:func:`folders`), keyed
  ``KIND:path`` (``TEST_CASE:/Orbiter``, one tree per kind) and referred to by that key.
* **Inline scripts.** A test case carries its steps or its plain/BDD text in ``testScript``,
  and its test data in ``parameters`` (data-driven test cases); no part is read apart.
* **Results per run.** A test result (an execution) belongs to a test run (a cycle) by key.
  Its ``scriptResults`` are numbered over rows x steps for a data-driven test case, so they are
  split back into (step, row) with the executed test case's shape (:func:`execution`).
* **Links by key.** Issue links are Jira issue keys; a test case's links are coverage links.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ztoq.sources.json_values import fields as _fields
from ztoq.sources.json_values import items as _list
from ztoq.sources.json_values import labels as _labels
from ztoq.sources.json_values import number as _number
from ztoq.sources.json_values import text as _text
from ztoq.sources.records import (
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
    TestData,
    TestDataVariable,
    TestExecution,
    TestPlan,
    TestScript,
    TestStep,
)
from ztoq.vendor import ZEPHYR_ISSUE_LINK_COVERAGE

#: ``testScript.type`` of the scripts written as one text.
_TEXT_SCRIPTS = {"PLAIN_TEXT": ScriptKind.PLAIN, "BDD": ScriptKind.BDD}
#: ``testScript.type`` of a script written as steps.
STEP_BY_STEP = "STEP_BY_STEP"
#: The custom field name a test run's ``iteration`` is kept under.
ITERATION_FIELD = "Iteration"


def _index(value: Any) -> int | None:
    """A 0-based position: a JSON integer, not negative."""
    number = _number(value)
    return number if number is not None and number >= 0 else None


def _name(value: Any) -> str | None:
    """A non-empty name, key or user key."""
    return value if isinstance(value, str) and value else None


def name_ref(value: Any) -> Ref | None:
    """A reference by name (a status, a priority, a key); None for an empty or non-text value."""
    name = _name(value)
    return None if name is None else Ref(name=name)


# -- folders -------------------------------------------------------------------------------------


def folder_path(value: Any) -> str | None:
    """A folder path normalised (``//`` collapsed, trailing ``/`` dropped); None for the root or none."""
    if not isinstance(value, str):
        return None
    segments = [segment for segment in value.split("/") if segment]
    return "/" + "/".join(segments) if segments else None


def folder_key(kind: FolderKind, path: str) -> str:
    """How a folder is keyed and referred to: ``TEST_CASE:/Orbiter/Cargo Bay``."""
    return f"{kind.value}:{path}"


def folder_ref(kind: FolderKind, value: Any) -> Ref | None:
    """The folder a record is in, by key; None at the root."""
    path = folder_path(value)
    return None if path is None else Ref(name=folder_key(kind, path))


def folders(paths: Iterable[tuple[FolderKind, Any]]) -> list[Folder]:
    """Every folder (and every ancestor) of the ``(kind, path)`` pairs, in order of first appearance.

    A parent comes before its children. ``index`` is the folder's position among its siblings
    sorted by name (case-insensitively first, then exactly); paths are case-sensitive.
    """
    found: dict[str, tuple[FolderKind, str, str | None]] = {}
    for kind, value in paths:
        path = folder_path(value)
        if path is None:
            continue
        segments = path[1:].split("/")
        parent: str | None = None
        for depth in range(1, len(segments) + 1):
            current = "/" + "/".join(segments[:depth])
            found.setdefault(folder_key(kind, current), (kind, current, parent))
            parent = current
    siblings: dict[tuple[FolderKind, str | None], list[str]] = {}
    for kind, path, parent in found.values():
        siblings.setdefault((kind, parent), []).append(path.rpartition("/")[2])
    positions = {
        (kind, parent, name): position
        for (kind, parent), names in siblings.items()
        for position, name in enumerate(sorted(names, key=lambda n: (n.casefold(), n)))
    }
    return [
        Folder(
            key=key,
            name=path.rpartition("/")[2],
            kind=kind,
            parent=None if parent is None else Ref(name=folder_key(kind, parent)),
            index=positions[(kind, parent, path.rpartition("/")[2])],
            id=None,
        )
        for key, (kind, path, parent) in found.items()
    ]


def options(names: Iterable[Any]) -> list[Option]:
    """A lookup table of the names in use: ``Option(id=None, name)``, each name once, in first-seen order."""
    seen = dict.fromkeys(name for name in names if _name(name) is not None)
    return [Option(id=None, name=name) for name in seen]


def environment(raw: Any) -> Option | None:
    """A listed environment (``{"id", "name", ...}``); None for what is not an object."""
    if not isinstance(raw, Mapping):
        return None
    return Option(id=_number(raw.get("id")), name=_text(raw.get("name")))


# -- test cases ----------------------------------------------------------------------------------


def indexed(items: Any) -> list[tuple[int, Mapping[str, Any]]]:
    """The objects of a list with their ``index`` (their position when they have none), sorted by it."""
    pairs = [
        (_index(item.get("index")), position, item)
        for position, item in enumerate(_list(items))
        if isinstance(item, Mapping)
    ]
    ordered = sorted(pairs, key=lambda p: (p[1] if p[0] is None else p[0], p[1]))
    return [(position if index is None else index, item) for index, position, item in ordered]


def script_steps(raw: Mapping[str, Any]) -> list[tuple[int, Mapping[str, Any]]]:
    """The steps of a test case's step-by-step script with their indexes, in order (none otherwise)."""
    script = raw.get("testScript")
    if not isinstance(script, Mapping) or script.get("type") != STEP_BY_STEP:
        return []
    return indexed(script.get("steps"))


def step(raw: Mapping[str, Any]) -> TestStep:
    """One step: a call to another test case (``testCaseKey``), or written inline."""
    called = _name(raw.get("testCaseKey"))
    if called is not None:
        return TestStep(called_test_case=called)
    return TestStep(
        description=_text(raw.get("description")),
        test_data=_text(raw.get("testData")),
        expected_result=_text(raw.get("expectedResult")),
        fields=_fields(raw.get("customFields")),
    )


def text_script(raw: Any) -> TestScript | None:
    """A ``PLAIN_TEXT`` or ``BDD`` script; None for none, for steps, or for another type."""
    if not isinstance(raw, Mapping):
        return None
    kind = _TEXT_SCRIPTS.get(str(raw.get("type") or ""))
    text = raw.get("text")
    return TestScript(kind, text) if kind is not None and isinstance(text, str) else None


def test_data(raw: Any) -> TestData | None:
    """The ``parameters`` of a data-driven test case; None when it has no variables and no rows."""
    if not isinstance(raw, Mapping):
        return None
    variables = tuple(
        TestDataVariable(name=name, type=_text(v.get("type")), data_set=_text(v.get("dataSet")))
        for v in _list(raw.get("variables"))
        if isinstance(v, Mapping) and (name := _name(v.get("name"))) is not None
    )
    rows = tuple(dict(entry) for entry in _list(raw.get("entries")) if isinstance(entry, Mapping))
    return TestData(variables, rows) if variables or rows else None


def case_shape(raw: Mapping[str, Any]) -> tuple[int, int]:
    """``(steps, data rows)`` of a test case: how its results' ``scriptResults`` are numbered."""
    parameters = raw.get("parameters")
    entries = parameters.get("entries") if isinstance(parameters, Mapping) else None
    return len(script_steps(raw)), sum(1 for entry in _list(entries) if isinstance(entry, Mapping))


def _issue_keys(value: Any) -> list[str]:
    """Jira issue keys of ``issueLinks`` (keys, or objects with a ``key``)."""
    keys = (item.get("key") if isinstance(item, Mapping) else item for item in _list(value))
    return [key for key in keys if isinstance(key, str) and key]


def case(raw: Mapping[str, Any]) -> TestCase:
    """A ``TestCase``, with its steps or its script and its test data, all inline."""
    return TestCase(
        key=_name(raw.get("key")),
        id=None,
        name=_text(raw.get("name")),
        folder=folder_ref(FolderKind.TEST_CASE, raw.get("folder")),
        priority=name_ref(raw.get("priority")),
        status=name_ref(raw.get("status")),
        owner=_name(raw.get("owner")),
        component=name_ref(raw.get("component")),
        labels=_labels(raw.get("labels")),
        estimated_time=_number(raw.get("estimatedTime")),
        created_on=_text(raw.get("createdOn")),
        objective=_text(raw.get("objective")),
        precondition=_text(raw.get("precondition")),
        custom_fields=_fields(raw.get("customFields")),
        links=Links(
            issues=tuple(
                IssueLink(key=key, type=ZEPHYR_ISSUE_LINK_COVERAGE)
                for key in _issue_keys(raw.get("issueLinks"))
            )
        ),
        steps=tuple(step(s) for _, s in script_steps(raw)),
        script=text_script(raw.get("testScript")),
        test_data=test_data(raw.get("parameters")),
    )


# -- plans, runs, results ------------------------------------------------------------------------


def _issues(value: Any) -> Links:
    return Links(issues=tuple(IssueLink(key=key) for key in _issue_keys(value)))


def plan(raw: Mapping[str, Any]) -> TestPlan:
    """A ``TestPlan``; its ``testRuns`` name the test runs (cycles) it groups, by key."""
    runs = (item.get("key") if isinstance(item, Mapping) else item for item in _list(raw.get("testRuns")))
    return TestPlan(
        key=_name(raw.get("key")),
        name=_text(raw.get("name")),
        status=name_ref(raw.get("status")),
        owner=_name(raw.get("owner")),
        labels=_labels(raw.get("labels")),
        folder=folder_ref(FolderKind.TEST_PLAN, raw.get("folder")),
        objective=_text(raw.get("objective")),
        custom_fields=_fields(raw.get("customFields")),
        links=_issues(raw.get("issueLinks")),
        test_cycles=tuple(Ref(name=key) for key in runs if isinstance(key, str) and key),
    )


def cycle(raw: Mapping[str, Any]) -> TestCycle:
    """A ``TestCycle`` from a test run; its ``iteration`` becomes the custom field "Iteration".

    The iteration is kept only when the run has no custom field of that name already.
    """
    fields = _fields(raw.get("customFields"))
    iteration = _name(raw.get("iteration"))
    if iteration is not None and ITERATION_FIELD not in fields:
        fields[ITERATION_FIELD] = iteration
    issue = _name(raw.get("issueKey"))
    plan_key = _name(raw.get("testPlanKey"))
    return TestCycle(
        key=_name(raw.get("key")),
        name=_text(raw.get("name")),
        status=name_ref(raw.get("status")),
        owner=_name(raw.get("owner")),
        folder=folder_ref(FolderKind.TEST_CYCLE, raw.get("folder")),
        description=_text(raw.get("description")),
        planned_start_date=_text(raw.get("plannedStartDate")),
        planned_end_date=_text(raw.get("plannedEndDate")),
        jira_version=name_ref(raw.get("version")),
        custom_fields=fields,
        links=Links(issues=() if issue is None else (IssueLink(key=issue),)),
        test_plans=() if plan_key is None else (Ref(name=plan_key),),
    )


def step_results(raw: Any, shape: tuple[int, int] | None = None) -> tuple[StepResult, ...]:
    """The ``scriptResults`` of a test result, in index order.

    With ``shape`` ``(n steps, rows)`` of a data-driven test case (rows > 0, n > 0), index ``i``
    is step ``i % n`` of row ``i // n``; otherwise it is the step index and ``row`` is None.
    """
    steps, rows = shape or (0, 0)
    data_driven = steps > 0 and rows > 0
    return tuple(
        StepResult(
            index=index % steps if data_driven else index,
            status=name_ref(item.get("status")),
            actual_result=_text(item.get("comment")),
            row=index // steps if data_driven else None,
        )
        for index, item in indexed(raw)
    )


def execution(raw: Mapping[str, Any], shape: tuple[int, int] | None = None) -> TestExecution:
    """A ``TestExecution`` from a test result; ``shape``: the executed test case's (:func:`step_results`)."""
    version = raw.get("testCaseMajorVersion")
    has_version = isinstance(version, str | int) and not isinstance(version, bool) and version != ""
    return TestExecution(
        key=None,
        id=_number(raw.get("id")),
        test_case_key=_name(raw.get("testCaseKey")),
        test_case_version=str(version) if has_version else None,
        test_cycle=name_ref(raw.get("testRunKey")),
        status=name_ref(raw.get("status")),
        environment=name_ref(raw.get("environment")),
        actual_end_date=_name(raw.get("actualEndDate")) or _name(raw.get("executionDate")),
        execution_time=_number(raw.get("executionTime")),
        estimated_time=None,
        executed_by=_name(raw.get("executedBy")) or _name(raw.get("userKey")),
        assigned_to=_name(raw.get("assignedTo")),
        comment=_text(raw.get("comment")),
        automated=raw.get("automated") is True,
        custom_fields=_fields(raw.get("customFields")),
        links=_issues(raw.get("issueLinks")),
        steps=step_results(raw.get("scriptResults"), shape),
    )
