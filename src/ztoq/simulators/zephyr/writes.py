"""Write operations on test cases and folders: create, update (new version), steps, script.

Every operation validates the whole body before it changes anything, and replaces stored objects
rather than changing them in place (the dataset a simulator was built from is never modified).
Test cycles, plans, executions and links are in ``writes_runs.py``.
"""

from __future__ import annotations

from typing import Any

from ztoq.simulators.zephyr.state import FOLDER_TYPES, Entity, ZephyrState
from ztoq.simulators.zephyr.step_ids import step_ids
from ztoq.simulators.zephyr.validation import (
    CASE_KEY_RE,
    Body,
    bad,
    custom_fields,
    folder_for,
    jira_link,
    jira_user,
    project_of,
    status_by_id,
    status_named,
)

MAX_STEPS_PER_REQUEST = 100  # "A maximum of 100 steps can be posted per request."
STEP_MODES = ("APPEND", "OVERWRITE")
PARAMETER_TYPES = ("MANUAL_INPUT", "DEFAULT_VALUE")
SCRIPT_TYPES = ("plain", "bdd")
_INLINE_FIELDS = ("description", "testData", "expectedResult", "reflectRef")

#: Fields a PUT may change; comparing them tells whether the test case content changed.
_CONTENT_FIELDS = (
    "name",
    "objective",
    "precondition",
    "estimatedTime",
    "labels",
    "component",
    "priority",
    "status",
    "folder",
    "owner",
    "customFields",
)


def create_test_case(state: ZephyrState, data: Any, now: str) -> Entity:
    """``POST /testcases`` (TestCaseInput); returns the stored test case.

    ``priorityName`` and ``statusName`` default to the project's defaults, as the spec says
    ("usually Normal and Draft").
    """
    body = Body(data)
    project = project_of(state, body)
    name = body.name()
    pid = int(project["id"])
    priority_name = body.text("priorityName", max_len=255, min_len=1)
    if priority_name is None:
        priorities = state.list_options(state.priorities, pid)
        priority = next((p for p in priorities if p.get("default")), priorities[0] if priorities else None)
    else:
        priority = state.find_named(state.priorities, pid, priority_name)
    if priority is None:
        raise bad(f"Priority '{priority_name}' does not exist in project '{project['key']}'.")
    status = status_named(state, project, "TEST_CASE", body.text("statusName", max_len=255, min_len=1))
    folder_id = body.integer("folderId", minimum=1)
    folder = folder_for(state, project, "TEST_CASE", folder_id) if folder_id is not None else None
    owner = body.account("ownerId")
    component_id = body.integer("componentId", minimum=0)
    case: Entity = {"name": name, "project": {"id": pid}, "createdOn": now}
    _put_optional(case, "objective", body.text("objective"))
    _put_optional(case, "precondition", body.text("precondition"))
    _put_optional(case, "estimatedTime", body.integer("estimatedTime", minimum=0))
    case["labels"] = body.labels() or []
    if component_id is not None:
        case["component"] = jira_link(state, "component", component_id)
    case["priority"] = {"id": priority["id"]}
    case["status"] = {"id": status["id"]}
    if folder is not None:
        case["folder"] = {"id": folder["id"]}
    if owner is not None:
        case["owner"] = jira_user(state, owner)
    case["testScript"] = {}
    case["customFields"] = custom_fields(body)
    with state.lock:
        case = {"id": state.allocate_id("testcases"), "key": state.allocate_key(project, "T"), **case}
        state.testcase_versions[case["key"]] = [case]
        state.version_index[case["id"]] = (case["key"], 1)
        state.links[case["key"]] = {"issues": [], "webLinks": []}
        state.touch()
    return case


def update_test_case(state: ZephyrState, key: str, data: Any) -> Entity:
    """``PUT /testcases/{key}`` (a whole TestCase); returns the current version afterwards.

    The spec: "for each non-specified field the value will be cleared"; ``links`` and
    ``testScript`` are ignored. When the content changes, the simulator stores it as a new
    version (with a new id, as every Zephyr test case version is its own entity) instead of
    overwriting: executions keep pointing at the version they ran.
    """
    current = state.current_case(key)
    body = Body(data)
    if body.text("key", required=True) != key:
        raise bad(f"The key in the body does not match the test case '{key}'.")
    if body.integer("id", minimum=1, required=True) != current["id"]:
        raise bad(f"The id in the body is not the id of the current version of '{key}' ({current['id']}).")
    project = state.projects.get(body.link_id("project", required=True) or 0)
    if project is None or project["id"] != (current.get("project") or {}).get("id"):
        raise bad("Provided project does not match the current project.")
    name = body.name()
    priority_id = body.link_id("priority", required=True) or 0
    priority = state.priorities.get(priority_id)
    if priority is None or (priority.get("project") or {}).get("id") != project["id"]:
        raise bad(f"Priority '{priority_id}' does not exist in project '{project['key']}'.")
    status = status_by_id(state, project, "TEST_CASE", body.link_id("status", required=True) or 0)
    folder_id = body.link_id("folder")
    folder = folder_for(state, project, "TEST_CASE", folder_id) if folder_id is not None else None
    content: Entity = {"name": name}
    _put_optional(content, "objective", body.text("objective"))
    _put_optional(content, "precondition", body.text("precondition"))
    _put_optional(content, "estimatedTime", body.integer("estimatedTime", minimum=0))
    _put_optional(content, "labels", body.labels())
    component_id = body.link_id("component")
    if component_id is not None:
        content["component"] = jira_link(state, "component", component_id)
    content["priority"] = {"id": priority["id"]}
    content["status"] = {"id": status["id"]}
    if folder is not None:
        content["folder"] = {"id": folder["id"]}
    owner = body.obj("owner")
    if owner is not None:
        account = Body(owner).account("accountId")
        if account is None:
            raise bad("owner.accountId must not be null")
        content["owner"] = jira_user(state, account)
    _put_optional(content, "customFields", body.obj("customFields"))
    if _comparable(content) == _comparable(current):
        return current
    with state.lock:
        version: Entity = {"id": state.allocate_id("testcases"), "key": key, "project": {"id": project["id"]}}
        if "createdOn" in current:
            version["createdOn"] = current["createdOn"]
        version.update(content)
        version["testScript"] = {}
        state.testcase_versions[key] = [*state.testcase_versions[key], version]
        state.version_index[version["id"]] = (key, len(state.testcase_versions[key]))
        state.touch()
    return version


def _comparable(case: Entity) -> dict[str, Any]:
    """The content fields of a test case, links reduced to what identifies them."""
    out: dict[str, Any] = {}
    for field in _CONTENT_FIELDS:
        value = case.get(field)
        if isinstance(value, dict):
            value = value.get("accountId", value.get("id"))
        if value not in (None, [], {}):
            out[field] = value
    return out


def add_test_steps(state: ZephyrState, key: str, data: Any) -> Entity:
    """``POST /testcases/{key}/teststeps`` (TestStepsInput); returns the test case.

    Steps are APPENDed or OVERWRITE the list; a plain or BDD script is removed, as the spec says.
    New steps get fresh ids; overwritten steps go with their attachments.
    """
    case = state.current_case(key)
    body = Body(data)
    mode = body.choice("mode", STEP_MODES, required=True)
    items = body.raw("items")
    if not isinstance(items, list):
        raise bad("items must not be null")
    if len(items) > MAX_STEPS_PER_REQUEST:
        raise bad(f"A maximum of {MAX_STEPS_PER_REQUEST} steps can be posted per request; got {len(items)}.")
    steps = [_step(state, key, index, item) for index, item in enumerate(items)]
    with state.lock:
        current = state.teststeps.get(key, [])
        owner_id = state.case_step_owner_id(key)
        if owner_id is not None:
            steps = state.number_new_steps("case", owner_id, steps, len(current))
        if mode == "APPEND":
            state.teststeps[key] = [*current, *steps]
        else:
            state.attachments.drop_owners(("teststep", ident) for ident in step_ids(current))
            state.teststeps[key] = steps
        state.testscripts.pop(key, None)
        state.touch()
    return case


def _step(state: ZephyrState, key: str, index: int, item: Any) -> Entity:
    where = f"items[{index}]"
    if not isinstance(item, dict):
        raise bad(f"{where} must be an object.")
    given = [name for name in ("inline", "testCase") if item.get(name) is not None]
    if len(given) != 1:
        raise bad(f"{where} must contain exactly one of inline or testCase.")
    part = Body(item[given[0]])
    if given[0] == "inline":
        inline: Entity = {}
        for field in _INLINE_FIELDS:
            _put_optional(inline, field, part.text(field))
        _put_optional(inline, "customFields", part.obj("customFields"))
        return {"inline": inline}
    called = part.text("testCaseKey", required=True)
    assert called is not None
    if not CASE_KEY_RE.match(called):
        raise bad(f"{where}.testCase.testCaseKey must be a test case key; got '{called}'.")
    if called == key:
        raise bad(f"{where}: a test step cannot call the test case it belongs to.")
    if called not in state.testcase_versions:
        raise bad(f"{where}: test case '{called}' does not exist or you do not have access to it.")
    call: Entity = {"testCaseKey": called}
    parameters = part.raw("parameters")
    if parameters is not None:
        if not isinstance(parameters, list):
            raise bad(f"{where}.testCase.parameters must be a list.")
        call["parameters"] = [
            _parameter(f"{where}.testCase.parameters[{i}]", p) for i, p in enumerate(parameters)
        ]
    return {"testCase": call}


def _parameter(where: str, value: Any) -> Entity:
    if not isinstance(value, dict):
        raise bad(f"{where} must be an object.")
    part = Body(value)
    out: Entity = {}
    _put_optional(out, "name", part.text("name"))
    _put_optional(out, "type", part.choice("type", PARAMETER_TYPES))
    _put_optional(out, "value", part.text("value"))
    return out


def set_test_script(state: ZephyrState, key: str, data: Any) -> Entity:
    """``POST /testcases/{key}/testscript`` (TestScriptInput); returns the stored script.

    "Creates or updates the test script": an existing script keeps its id. Steps are removed,
    with their attachments.
    """
    state.current_case(key)
    body = Body(data)
    script_type = body.choice("type", SCRIPT_TYPES, required=True)
    text = body.text("text", required=True, min_len=1)
    with state.lock:
        existing = state.testscripts.get(key) or {}
        script_id = (
            existing["id"] if isinstance(existing.get("id"), int) else state.allocate_id("testscripts")
        )
        script: Entity = {"id": script_id, "type": script_type, "text": text}
        state.testscripts[key] = script
        removed = state.teststeps.pop(key, [])
        state.attachments.drop_owners(("teststep", ident) for ident in step_ids(removed))
        state.touch()
    return script


def create_folder(state: ZephyrState, data: Any) -> Entity:
    """``POST /folders`` (FolderInput); returns the stored folder.

    A sibling with the same name (same project, type and parent) answers 400, the status the spec
    documents for the same conflict on environments (``DuplicatedNameError``).
    """
    body = Body(data)
    project = project_of(state, body)
    name = body.name(max_len=255)
    folder_type = body.choice("folderType", FOLDER_TYPES, required=True)
    assert folder_type is not None
    parent_id = body.integer("parentId", minimum=1)
    if parent_id is not None:
        folder_for(state, project, folder_type, parent_id)
    with state.lock:
        siblings = [
            f for f in state.list_folders(int(project["id"]), folder_type) if f.get("parentId") == parent_id
        ]
        if any(f.get("name") == name for f in siblings):
            raise bad("A folder with this name already exists.")
        folder: Entity = {
            "id": state.allocate_id("folders"),
            "parentId": parent_id,
            "name": name,
            "index": len(siblings),
            "folderType": folder_type,
            "project": {"id": project["id"]},
        }
        state.folders[folder["id"]] = folder
        state.touch()
    return folder


def _put_optional(target: Entity, name: str, value: Any) -> None:
    """Set a field only when it has a value: absent optional fields stay absent."""
    if value is not None:
        target[name] = value
