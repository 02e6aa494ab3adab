"""Write operations on test cycles, plans, executions and links (same rules as ``writes.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ztoq.simulators.zephyr.loading import links_key
from ztoq.simulators.zephyr.pagination import ZephyrApiError
from ztoq.simulators.zephyr.state import Entity, ZephyrState
from ztoq.simulators.zephyr.validation import (
    CASE_KEY_RE,
    Body,
    bad,
    custom_fields,
    folder_for,
    jira_link,
    jira_user,
    owning_project,
    project_of,
    same_project,
    status_by_id,
    status_named,
)

#: How deep call-to-test steps are expanded into an execution's steps (cycles are cut off).
_MAX_CALL_DEPTH = 5
_IMMUTABLE = (
    "The test execution you are trying to update is immutable. "
    "Please check if there's a more recent execution for this test case"
)


def _put(target: Entity, name: str, value: Any) -> None:
    if value is not None:
        target[name] = value


# -- test cycles and plans ---------------------------------------------------------------------------


def create_test_cycle(state: ZephyrState, data: Any) -> Entity:
    """``POST /testcycles`` (TestCycleInput); the status defaults to the project's default."""
    body = Body(data)
    project = project_of(state, body)
    cycle: Entity = {"name": body.name(), "project": {"id": project["id"]}}
    version_id = body.integer("jiraProjectVersion", minimum=1)
    if version_id is not None:
        cycle["jiraProjectVersion"] = jira_link(state, "version", version_id)
    status = status_named(state, project, "TEST_CYCLE", body.text("statusName", max_len=255, min_len=1))
    cycle["status"] = {"id": status["id"]}
    folder_id = body.integer("folderId", minimum=1)
    if folder_id is not None:
        cycle["folder"] = {"id": folder_for(state, project, "TEST_CYCLE", folder_id)["id"]}
    _put(cycle, "description", body.text("description"))
    _put(cycle, "plannedStartDate", body.date_time("plannedStartDate"))
    _put(cycle, "plannedEndDate", body.date_time("plannedEndDate"))
    owner = body.account("ownerId")
    if owner is not None:
        cycle["owner"] = jira_user(state, owner)
    cycle["customFields"] = custom_fields(body)
    with state.lock:
        cycle = {"id": state.allocate_id("testcycles"), "key": state.allocate_key(project, "R"), **cycle}
        state.testcycles[cycle["id"]] = cycle
        state.cycle_ids[cycle["key"]] = cycle["id"]
        state.links[cycle["key"]] = {"issues": [], "webLinks": [], "testPlans": []}
        state.touch()
    return cycle


def update_test_cycle(state: ZephyrState, id_or_key: str, data: Any) -> Entity:
    """``PUT /testcycles/{idOrKey}`` (a whole TestCycle).

    Unspecified fields are cleared, except the planned dates, which "Setting it as null or
    excluding it from the request will leave the field values unchanged" (spec).
    """
    current = state.cycle(id_or_key)
    body = Body(data)
    if body.integer("id", minimum=1, required=True) != current["id"] or body.text(
        "key", required=True
    ) != current.get("key"):
        raise bad(f"The id and key in the body must be those of test cycle '{id_or_key}'.")
    project = state.projects.get(body.link_id("project", required=True) or 0)
    if project is None or project["id"] != (current.get("project") or {}).get("id"):
        raise bad("Provided project does not match the current project.")
    status = status_by_id(state, project, "TEST_CYCLE", body.link_id("status", required=True) or 0)
    cycle: Entity = {
        "id": current["id"],
        "key": current["key"],
        "name": body.name(),
        "project": {"id": project["id"]},
    }
    version_id = body.link_id("jiraProjectVersion")
    if version_id is not None:
        cycle["jiraProjectVersion"] = jira_link(state, "version", version_id)
    cycle["status"] = {"id": status["id"]}
    folder_id = body.link_id("folder")
    if folder_id is not None:
        cycle["folder"] = {"id": folder_for(state, project, "TEST_CYCLE", folder_id)["id"]}
    _put(cycle, "description", body.text("description"))
    for field in ("plannedStartDate", "plannedEndDate"):
        _put(cycle, field, body.date_time(field) or current.get(field))
    owner = body.obj("owner")
    if owner is not None:
        account = Body(owner).account("accountId")
        if account is None:
            raise bad("owner.accountId must not be null")
        cycle["owner"] = jira_user(state, account)
    _put(cycle, "customFields", body.obj("customFields"))
    with state.lock:
        state.testcycles[cycle["id"]] = cycle
        state.touch()
    return cycle


def create_test_plan(state: ZephyrState, data: Any) -> Entity:
    """``POST /testplans`` (TestPlanInput)."""
    body = Body(data)
    project = project_of(state, body)
    plan: Entity = {"name": body.name(), "project": {"id": project["id"]}}
    _put(plan, "objective", body.text("objective"))
    status = status_named(state, project, "TEST_PLAN", body.text("statusName", max_len=255, min_len=1))
    plan["status"] = {"id": status["id"]}
    folder_id = body.integer("folderId", minimum=1)
    if folder_id is not None:
        plan["folder"] = {"id": folder_for(state, project, "TEST_PLAN", folder_id)["id"]}
    owner = body.account("ownerId")
    if owner is not None:
        plan["owner"] = jira_user(state, owner)
    plan["customFields"] = custom_fields(body)
    plan["labels"] = body.labels() or []
    with state.lock:
        plan = {"id": state.allocate_id("testplans"), "key": state.allocate_key(project, "P"), **plan}
        state.testplans[plan["id"]] = plan
        state.plan_ids[plan["key"]] = plan["id"]
        state.links[plan["key"]] = {"issues": [], "webLinks": [], "testCycles": []}
        state.touch()
    return plan


# -- test executions ----------------------------------------------------------------------------------


def script_steps(state: ZephyrState, key: str, depth: int = 0) -> tuple[list[Entity], bool]:
    """The inline steps an execution of a test case runs (call-to-test steps expanded in place).

    The second value is True when the script has call-to-test steps (with or without
    parameters) or the test case has a test data table, which the spec says ``POST
    /testexecutions`` cannot record step results for. A step's inline ``testData`` text is an
    ordinary optional field, not a test data table (see docs/simulators-zephyr.md).
    """
    steps: list[Entity] = []
    special = depth == 0 and key in data_driven_cases(state)
    for step in state.teststeps.get(key, []):
        inline = step.get("inline")
        called = step.get("testCase")
        if isinstance(inline, dict):
            steps.append({k: inline[k] for k in ("description", "testData", "expectedResult") if k in inline})
        elif isinstance(called, dict) and depth < _MAX_CALL_DEPTH:
            special = True
            steps.extend(script_steps(state, str(called.get("testCaseKey")), depth + 1)[0])
    return steps, special


def data_driven_cases(state: ZephyrState) -> frozenset[str]:
    """Keys of test cases with a test data table: an execution of theirs has rows.

    The v2 API serves no test data table; its trace is the ``testDataRowNumber`` of the steps
    of a data-driven execution (one group of steps per row).
    """

    def compute() -> frozenset[str]:
        keys = set()
        for ident, steps in state.executionsteps.items():
            execution = state.testexecutions.get(ident)
            if execution is not None and any(_has_row(step) for step in steps):
                keys.add(state.case_key_of_execution(execution))
        return frozenset(key for key in keys if key is not None)

    return frozenset(state.cached(("data-driven-cases",), compute))


def _has_row(step: Entity) -> bool:
    inline = step.get("inline")
    return isinstance(inline, dict) and inline.get("testDataRowNumber") is not None


def create_test_execution(state: ZephyrState, data: Any) -> Entity:
    """``POST /testexecutions`` (TestExecutionInput); returns the stored execution.

    The execution runs the current version of the test case; its steps are the case's steps
    with ``testScriptResults`` applied in order (steps without a result get the project's
    default execution status). The cycle's Jira version is copied onto the execution.
    """
    body = Body(data)
    project = project_of(state, body)
    case_key = body.text("testCaseKey", required=True)
    assert case_key is not None
    if not CASE_KEY_RE.match(case_key) or case_key not in state.testcase_versions:
        raise bad(f"Test case '{case_key}' does not exist or you do not have access to it.")
    case = state.current_case(case_key)
    same_project(case, project)
    cycle_key = body.text("testCycleKey", required=True)
    assert cycle_key is not None
    try:
        cycle = state.cycle(cycle_key)
    except ZephyrApiError as exc:
        raise bad(f"Test cycle '{cycle_key}' does not exist or you do not have access to it.") from exc
    same_project(cycle, project)
    status = status_named(state, project, "TEST_EXECUTION", body.text("statusName", required=True, min_len=1))
    environment = _environment(state, project, body.text("environmentName"))
    steps, special = script_steps(state, case_key)
    results = _step_results(state, project, body.raw("testScriptResults"), len(steps), special)
    default = state.default_status(int(project["id"]), "TEST_EXECUTION")
    executed: list[Entity] = []
    for index, step in enumerate(steps):
        inline = dict(step)
        result_status, actual = results[index] if index < len(results) else (default, None)
        _put(inline, "actualResult", actual)
        if result_status is not None:
            inline["status"] = {"id": result_status["id"]}
        executed.append({"inline": inline})
    execution: Entity = {"project": {"id": project["id"]}, "testCase": {"id": case["id"]}}
    if environment is not None:
        execution["environment"] = {"id": environment["id"]}
    _put(execution, "jiraProjectVersion", cycle.get("jiraProjectVersion"))
    execution["testExecutionStatus"] = {"id": status["id"]}
    _put(execution, "actualEndDate", body.date_time("actualEndDate"))
    _put(execution, "estimatedTime", case.get("estimatedTime"))
    _put(execution, "executionTime", body.integer("executionTime", minimum=0))
    _put(execution, "executedById", body.account("executedById"))
    _put(execution, "assignedToId", body.account("assignedToId"))
    _put(execution, "comment", body.text("comment"))
    execution["automated"] = False
    execution["testCycle"] = {"id": cycle["id"]}
    execution["customFields"] = custom_fields(body)
    with state.lock:
        execution = {
            "id": state.allocate_id("testexecutions"),
            "key": state.allocate_key(project, "E"),
            **execution,
        }
        state.testexecutions[execution["id"]] = execution
        state.execution_ids[execution["key"]] = execution["id"]
        state.executionsteps[execution["id"]] = state.number_new_steps(
            "execution", execution["id"], executed, 0
        )
        state.links[execution["key"]] = {"issues": []}
        state.touch()
    return execution


def _environment(state: ZephyrState, project: Entity, name: str | None) -> Entity | None:
    if name is None:
        return None
    environment = state.find_named(state.environments, int(project["id"]), name)
    if environment is None:
        raise bad(f"Environment '{name}' does not exist in project '{project['key']}'.")
    return environment


def _step_results(
    state: ZephyrState, project: Entity, raw: Any, step_count: int, special: bool
) -> list[tuple[Entity, str | None]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise bad("testScriptResults must be a list.")
    if raw and special:
        raise bad("Test cases with call to test, parameters and test data are not supported.")
    if len(raw) > step_count:
        raise bad(f"testScriptResults has {len(raw)} results but the test script has {step_count} steps.")
    results = []
    for item in raw:
        part = Body(item)
        status = status_named(
            state, project, "TEST_EXECUTION", part.text("statusName", required=True, min_len=1)
        )
        part.date_time("actualEndDate")  # validated; the spec's TestExecutionStep has no date to keep it in
        results.append((status, part.text("actualResult")))
    return results


def update_test_execution(state: ZephyrState, id_or_key: str, data: Any) -> Entity:
    """``PUT /testexecutions/{idOrKey}`` (TestExecutionUpdate).

    Fields present in the body are set (null clears an optional one); absent fields are kept,
    since unlike the test case and cycle updates the spec does not say they are cleared.
    """
    current = state.execution(id_or_key)
    body = Body(data)
    project = owning_project(state, current)
    updated = dict(current)
    if "statusName" in body.data:
        name = body.text("statusName", required=True, min_len=1)
        updated["testExecutionStatus"] = {"id": status_named(state, project, "TEST_EXECUTION", name)["id"]}
    if "environmentName" in body.data:
        environment = _environment(state, project, body.text("environmentName"))
        updated.pop("environment", None)
        if environment is not None:
            updated["environment"] = {"id": environment["id"]}
    readers: dict[str, Callable[[], Any]] = {
        "actualEndDate": lambda: body.date_time("actualEndDate"),
        "executionTime": lambda: body.integer("executionTime", minimum=0),
        "executedById": lambda: body.account("executedById"),
        "assignedToId": lambda: body.account("assignedToId"),
        "comment": lambda: body.text("comment"),
    }
    for field, read in readers.items():
        if field in body.data:
            updated.pop(field, None)
            _put(updated, field, read())
    with state.lock:
        state.testexecutions[updated["id"]] = updated
        state.touch()
    return updated


def update_execution_steps(state: ZephyrState, id_or_key: str, data: Any) -> None:
    """``PUT /testexecutions/{idOrKey}/teststeps`` (TestStepsUpdate), with the spec's 404/409/422.

    409 when a more recent execution of the same cycle item exists (only the last is mutable);
    422 when the execution has test data (rows of a test data table, ``testDataRowNumber``; a
    step's inline ``testData`` text is not one), or when the number of steps sent differs.
    """
    try:
        execution = state.execution(id_or_key)
    except ZephyrApiError as exc:
        raise ZephyrApiError(404, "Test execution does not exist or you do not have access to it") from exc
    if int(execution["id"]) not in state.last_execution_ids():
        raise ZephyrApiError(409, _IMMUTABLE)
    current = state.executionsteps.get(int(execution["id"]), [])
    if any(_has_row(step) for step in current):
        raise ZephyrApiError(422, "Update of test execution containing test data is not supported")
    body = Body(data)
    sent = body.raw("steps")
    if not isinstance(sent, list):
        raise bad("steps must not be null")
    if len(sent) != len(current):
        raise ZephyrApiError(422, "Sent steps are not matching test execution steps")
    project = owning_project(state, execution)
    updated = []
    for step, change in zip(current, sent, strict=True):
        part = Body(change)
        inline = dict(step.get("inline", {}))
        _put(inline, "actualResult", part.text("actualResult"))
        name = part.text("statusName", min_len=1)
        if name is not None:
            inline["status"] = {"id": status_named(state, project, "TEST_EXECUTION", name)["id"]}
        updated.append({**step, "inline": inline})
    with state.lock:
        state.executionsteps[int(execution["id"])] = updated
        state.touch()


# -- links ----------------------------------------------------------------------------------------------


def link_owner(state: ZephyrState, kind: str, ident: str) -> Entity:
    """The entity a link endpoint's path names (kind: testcase, testcycle, testplan, testexecution)."""
    if kind == "testcase":
        return state.current_case(ident)
    if kind == "testcycle":
        return state.cycle(ident)
    if kind == "testplan":
        return state.plan(ident)
    return state.execution(ident)


def _append(state: ZephyrState, owner: Entity, list_name: str, item: Entity) -> None:
    key = links_key(owner)
    current = state.links.get(key) or {}
    state.links[key] = {**current, list_name: [*(current.get(list_name) or []), item]}


def add_issue_link(state: ZephyrState, kind: str, ident: str, data: Any) -> Entity:
    """``POST /<entity>/{id}/links/issues`` (IssueLinkInput); returns the link item.

    Test case links are coverage (``COVERAGE``); other entities' issue links are ``RELATED``.
    An issue linked twice answers 400.
    """
    owner = link_owner(state, kind, ident)
    issue_id = Body(data).integer("issueId", minimum=1, required=True)
    with state.lock:
        existing = (state.links.get(links_key(owner)) or {}).get("issues") or []
        if any(item.get("issueId") == issue_id for item in existing):
            raise bad(f"Issue '{issue_id}' is already linked.")
        item = {
            "id": state.allocate_id("links"),
            "issueId": issue_id,
            "target": f"{state.jira_base_url}/rest/api/2/issue/{issue_id}",
            "type": "COVERAGE" if kind == "testcase" else "RELATED",
        }
        _append(state, owner, "issues", item)
        state.touch()
    return item


def add_web_link(state: ZephyrState, kind: str, ident: str, data: Any, *, need_description: bool) -> Entity:
    """``POST /<entity>/{id}/links/weblinks`` (WebLinkInput; test plans require a description)."""
    owner = link_owner(state, kind, ident)
    body = Body(data)
    url = body.url("url", required=True)
    description = body.text("description", required=need_description)
    with state.lock:
        item: Entity = {"id": state.allocate_id("links"), "url": url}
        _put(item, "description", description)
        item["type"] = "RELATED"
        _append(state, owner, "webLinks", item)
        state.touch()
    return item


def add_plan_cycle_link(state: ZephyrState, plan_ident: str, data: Any) -> Entity:
    """``POST /testplans/{id}/links/testcycles``: one link, seen from both the plan and the cycle."""
    plan = state.plan(plan_ident)
    cycle_ident = Body(data).text("testCycleIdOrKey", required=True)
    assert cycle_ident is not None
    try:
        cycle = state.cycle(cycle_ident)
    except ZephyrApiError as exc:
        raise bad(f"Test cycle '{cycle_ident}' does not exist or you do not have access to it.") from exc
    same_project(cycle, owning_project(state, plan))
    with state.lock:
        linked = (state.links.get(links_key(plan)) or {}).get("testCycles") or []
        if any(item.get("testCycleId") == cycle["id"] for item in linked):
            raise bad(f"Test cycle '{cycle_ident}' is already linked to this test plan.")
        link_id = state.allocate_id("links")
        _append(state, plan, "testCycles", {"id": link_id, "testCycleId": cycle["id"], "type": "RELATED"})
        target = f"{state.jira_base_url}/rest/api/2/testplan/{plan['id']}"
        _append(
            state,
            cycle,
            "testPlans",
            {"id": link_id, "testPlanId": plan["id"], "type": "RELATED", "target": target},
        )
        state.touch()
    return {"id": link_id}


def delete_link(state: ZephyrState, link_id: int) -> None:
    """``DELETE /links/{linkId}``: removes the link wherever it is listed; 404 when unknown."""
    with state.lock:
        found = False
        for key, links in list(state.links.items()):
            changed = {
                name: [i for i in items if i.get("id") != link_id]
                for name, items in links.items()
                if isinstance(items, list)
            }
            if any(len(changed[name]) != len(links[name]) for name in changed):
                state.links[key] = {**links, **changed}
                found = True
        if not found:
            raise ZephyrApiError(404, f"Link '{link_id}' does not exist or you do not have access to it.")
        state.touch()
