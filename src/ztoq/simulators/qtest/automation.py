"""Automation test logs of the qTest simulator: what ``auto-test-logs`` submissions create.

Tricentis' Swagger file (``submitAutomationLog``, ``submitAutomationTestLogs``,
``submitAutomationTestLogsWithTreeStructure``) describes the behaviour followed here:

* ``automation_content`` is the test case's fingerprint: "Before adding a Test Log, qTest Manager
  will look up Automation Content of existing Test Cases"; a new one is created otherwise, as an
  automation test case (Type Automation, Automation Yes, its Automation Content set);
* a run is reused when one of that test case already sits in the target container ("it will not
  create a duplicate one"), else created there; names and locations of existing test cases and
  runs are never updated;
* the step logs' ``order`` "must be continuous series of numbers, starting from zero"; without it
  the steps are "alphabetically sorted when creating or updating Test Case". The test case's steps
  follow the submitted ones: different steps save a new version (a guess on how "updated" is
  recorded).

A submission is checked completely (``automation_input.prepare``) before anything is created, so a refused
one leaves the project unchanged.
"""

from __future__ import annotations

from typing import Any

from ztoq.simulators.qtest.attachments import store_attachment
from ztoq.simulators.qtest.automation_input import LogEntry
from ztoq.simulators.qtest.fields import apply_properties
from ztoq.simulators.qtest.routes_design import add_version, automation_field
from ztoq.simulators.qtest.routes_modules import children_of, new_module
from ztoq.simulators.qtest.routing import Container, Req, member_ids
from ztoq.simulators.qtest.state import TestCase, TestLog, TestRun, TestSuite, Version
from ztoq.simulators.qtest.tables import Table
from ztoq.values import int_or_none

#: Module receiving new automation test cases (under ``parent_module`` or the root).
AUTOMATION_MODULE = "Automation"
#: Suite receiving runs created by the single submission without ``suitePerDay``.
AUTOMATION_SUITE = "Automation Test Suite"


def find_case(req: Req, content: str) -> TestCase | None:
    """The test case of the project whose Automation Content is ``content``.

    Args:
        req: The request.
        content: The automation content.

    Returns:
        The test case, or None.
    """
    field_id = automation_field(req.state, req.project_id, "Automation Content")
    if field_id is None:
        return None
    for case in req.state.in_project(req.state.test_cases, req.project_id):
        if case.latest.properties.get(field_id) == content:
            return case
    return None


def _allowed_value(req: Req, label: str, value: str) -> tuple[int, str] | None:
    field_id = automation_field(req.state, req.project_id, label)
    if field_id is None:
        return None
    for found in req.state.fields_of(req.project_id, "test-cases"):
        if found["id"] == field_id:
            for allowed in found.get("allowed_values") or []:
                if allowed["label"] == value:
                    return field_id, str(allowed["value"])
    return None


def sync_steps(req: Req, case: TestCase, entry: LogEntry) -> None:
    """Save a new version of ``case`` when the submitted steps differ from its latest version's.

    Args:
        req: The request.
        case: The test case.
        entry: The validated test log (``steps`` None: the steps are left alone).
    """
    if entry.steps is None:
        return
    latest = case.latest
    wanted = [(s.description, s.expected) for s in entry.steps]
    if [(s["description"], s["expected"]) for s in latest.steps] == wanted:
        return
    fields = req.state.fields_of(req.project_id, "test-cases")
    properties = apply_properties(
        fields, entry.case_properties, latest.properties, member_ids(req), creating=False
    )
    add_version(req.state, case, properties, _numbered(req, wanted), major=False)


def ensure_case(req: Req, entry: LogEntry, module_id: int) -> TestCase:
    """The automation test case of an entry: looked up by content, else created in ``module_id``.

    An existing test case keeps its name and module; its steps follow the submitted ones
    (:func:`sync_steps`).

    Args:
        req: The request.
        entry: The validated test log.
        module_id: Module of a new test case.

    Returns:
        The test case.
    """
    case = find_case(req, entry.content)
    if case is not None:
        sync_steps(req, case, entry)
        return case
    state, now = req.state, req.state.now()
    given: list[dict[str, Any]] = list(entry.case_properties)
    for label, value in (("Type", "Automation"), ("Automation", "Yes")):
        found = _allowed_value(req, label, value)
        if found is not None:
            given.append({"field_id": found[0], "field_value": found[1]})
    content_field = automation_field(state, req.project_id, "Automation Content")
    if content_field is not None:
        given.append({"field_id": content_field, "field_value": entry.content})
    case = TestCase(
        id=state.next_id("test-cases"),
        project_id=req.project_id,
        pid=state.next_pid(req.project_id, "test-cases"),
        parent_id=module_id,
        order=state.next_order(
            "test-cases",
            module_id,
            lambda: state.test_cases.count("parent", (req.project_id, module_id)),
        ),
        creator_id=req.user_id,
        created=now,
        modified=now,
    )
    case.versions.append(
        Version(
            id=state.next_id("versions"),
            # Automation test cases need no approval: they start approved (a guess).
            version="1.0",
            name=entry.name,
            description="",
            precondition="",
            properties=apply_properties(
                state.fields_of(req.project_id, "test-cases"), given, {}, member_ids(req), creating=True
            ),
            steps=_numbered(req, [(s.description, s.expected) for s in entry.steps or []]),
            created=now,
        )
    )
    state.test_cases[case.id] = case
    return case


def _numbered(req: Req, steps: list[tuple[str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "id": req.state.next_id("steps"),
            "description": description,
            "expected": expected,
            "order": n,
            "called_test_case_id": None,
            "parent_test_step_id": None,
        }
        for n, (description, expected) in enumerate(steps, start=1)
    ]


def automation_field_of_runs(req: Req) -> int | None:
    """ID of the test run system field "Status" of the request's project, if any."""
    for found in req.state.fields_of(req.project_id, "test-runs"):
        if found.get("system_field") and found["label"] == "Status":
            return int(found["id"])
    return None


def module_path(req: Req, names: list[str], parent_id: int | None) -> int | None:
    """The module at ``names`` below ``parent_id``, creating the missing ones.

    Args:
        req: The request.
        names: Module names, outermost first.
        parent_id: Where the path starts (None: the root).

    Returns:
        The innermost module (``parent_id`` when ``names`` is empty).
    """
    current = parent_id
    for name in names:
        parent = req.state.modules.get(current) if current is not None else None
        found = next((m for m in children_of(req.state, parent, req.project_id) if m.name == name), None)
        current = found.id if found is not None else new_module(req, name, current).id
    return current


def automation_module(req: Req, parent_id: int | None, *, skip: bool) -> int:
    """The module new automation test cases go to: ``Automation`` under ``parent_id`` (or root).

    Args:
        req: The request.
        parent_id: The ``parent_module`` of the submission.
        skip: ``skipCreatingAutomationModule``: use ``parent_id`` itself.

    Returns:
        The module ID.
    """
    if skip and parent_id is not None:
        return parent_id
    found = module_path(req, [AUTOMATION_MODULE], parent_id)
    assert found is not None
    return found


def placement(req: Req, kind: str, table: Table[Any], name: str, parent: Container) -> dict[str, Any]:
    """Identity and place of a new test cycle, suite or run of the request's project under ``parent``.

    Args:
        req: The request.
        kind: The kind of record: ``test-cycles``, ``test-suites`` or ``test-runs``.
        table: The state's records of that kind (counted once, for the order of the first new child).
        name: The name of the new record.
        parent: The container.

    Returns:
        The ``id``, ``project_id``, ``pid``, ``name``, ``parent_type``, ``parent_id`` and ``order``
        arguments of the new record: new IDs, and the order after its siblings'.
    """
    state, project_id = req.state, req.project_id
    return {
        "id": state.next_id(kind),
        "project_id": project_id,
        "pid": state.next_pid(project_id, kind),
        "name": name,
        "parent_type": parent[0],
        "parent_id": parent[1],
        "order": state.next_order(
            kind,
            (project_id, *parent),
            lambda: table.count("parent", (project_id, *parent)),
        ),
    }


def suite_in(req: Req, parent: Container, name: str) -> TestSuite:
    """The test suite ``name`` directly under ``parent``, created when missing.

    Args:
        req: The request.
        parent: The container.
        name: The suite name.

    Returns:
        The test suite.
    """
    state, project_id = req.state, req.project_id
    for suite in state.children(state.test_suites, project_id, parent):
        if suite.name == name:
            return suite
    now = state.now()
    suite = TestSuite(
        **placement(req, "test-suites", state.test_suites, name, parent),
        properties=apply_properties(
            state.fields_of(project_id, "test-suites"), None, {}, member_ids(req), creating=True
        ),
        created=now,
        modified=now,
    )
    state.test_suites[suite.id] = suite
    return suite


def ensure_run(req: Req, case: TestCase, parent: Container, name: str) -> TestRun:
    """The run of ``case`` directly in ``parent``, created (named ``name``) when missing.

    Args:
        req: The request.
        case: The test case.
        parent: The container.
        name: Name of a new run.

    Returns:
        The test run.
    """
    state, project_id = req.state, req.project_id
    for run in state.children(state.test_runs, project_id, parent):
        if run.test_case_id == case.id:
            return run
    now = state.now()
    run = TestRun(
        **placement(req, "test-runs", state.test_runs, name, parent),
        test_case_id=case.id,
        version_id=case.latest.id,
        properties=apply_properties(
            state.fields_of(project_id, "test-runs"), None, {}, member_ids(req), creating=True
        ),
        creator_id=req.user_id,
        created=now,
        modified=now,
    )
    state.test_runs[run.id] = run
    return run


def add_log(req: Req, run: TestRun, entry: LogEntry) -> TestLog:
    """Store an automation test log of ``run``, against its test case's latest version.

    Args:
        req: The request.
        run: The test run.
        entry: The validated test log.

    Returns:
        The test log.
    """
    state = req.state
    case = state.test_cases[run.test_case_id]
    version = case.latest
    run.properties = {**run.properties, **entry.run_properties}
    step_logs: list[dict[str, Any]] = []
    for position, step in enumerate(entry.steps or [], start=1):
        target = version.steps[position - 1] if position <= len(version.steps) else None
        step_logs.append(
            {
                "test_step_id": target["id"] if target else None,
                "test_step_log_id": state.next_id("step-logs"),
                "status_id": step.status_id,
                "description": step.description,
                "expected_result": step.expected,
                "actual_result": step.actual,
                "order": position,
                "exe_date": step.exe_date,
                "called_test_case_id": None,
                "parent_test_step_id": None,
            }
        )
    raw = entry.raw
    properties = dict(run.properties)
    status_field = automation_field_of_runs(req)
    if status_field is not None:
        # The log's Status property is its own result, as the run's becomes.
        properties[status_field] = str(entry.status["id"])
    log = TestLog(
        id=state.next_id("test-logs"),
        project_id=run.project_id,
        run_id=run.id,
        version_id=version.id,
        status_id=int(entry.status["id"]),
        exe_start=entry.exe_start,
        exe_end=entry.exe_end,
        submitted_by=req.user_id,
        created=state.now(),
        result_number=len(state.logs_of(run.id)) + 1,
        step_logs=step_logs,
        properties=properties,
        extra={
            "note": raw.get("note"),
            "name": entry.name or run.name,
            "planned_exe_time": int_or_none(raw.get("planned_exe_time")),
            "actual_exe_time": int_or_none(raw.get("actual_exe_time")),
            "build_number": raw.get("build_number"),
            "build_url": raw.get("build_url"),
            "defects": [],
            "automation_content": entry.content or None,
            "automation": True,
        },
    )
    state.put_log(log)
    run.modified = log.created
    for name, content_type, data in entry.attachments:
        store_attachment(req, "test-logs", log.id, name, content_type, data)
    for step, stored in zip(entry.steps or [], step_logs, strict=True):
        for name, content_type, data in step.attachments:
            step_log_id = int(stored["test_step_log_id"])
            store_attachment(req, "test-step-logs", step_log_id, name, content_type, data)
    return log
