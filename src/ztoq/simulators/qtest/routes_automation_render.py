"""What the qTest simulator's automation endpoints answer: AutomationTestLogResourceResponse,
AutomationObjectTree (``GET .../test-runs/subhierarchy``) and AdminProfile.

The Swagger file types ``AutomationObjectTree.children`` as an array of strings (its example:
``"<Container's direct children>"``); the simulator answers the children themselves, as nested
AutomationObjectTree objects, which is what a "Sub Hierarchy" of a container is (documented in
docs/simulators-qtest.md; no published answer settles it).
"""

from __future__ import annotations

from typing import Any

from ztoq.simulators.qtest.attachments import render_attachment
from ztoq.simulators.qtest.automation_input import LogEntry
from ztoq.simulators.qtest.render import api, iso, link
from ztoq.simulators.qtest.routes_runs import render_log_details
from ztoq.simulators.qtest.routing import ROOT, Container
from ztoq.simulators.qtest.state import QTestState, TestLog
from ztoq.simulators.qtest.tables import Table

#: AutomationObjectTree.artifactType and ``type`` of each kind of node.
_KINDS = {
    "root": "ROOT",
    "release": "RELEASE",
    "test-cycle": "TEST_CYCLE",
    "test-suite": "TEST_SUITE",
    "test-run": "TEST_CASE_RUN",
}

#: AdminProfile permissions (the Swagger file's AdminProfile properties besides ``user_id``).
ADMIN_PERMISSIONS = (
    "create_project",
    "edit_project",
    "archive_project",
    "list_project",
    "manage_client_user",
    "edit_user_profile",
    "view_user_profile",
    "manage_client_info",
    "manage_system_conf",
    "site_level_field",
    "manage_user_group",
    "insight_viewer",
    "insight_editor",
    "pulse_access",
    "launch_access",
    "analytics_viewer",
    "copilot_user",
)


def render_automation_log(state: QTestState, log: TestLog, entry: LogEntry, base: str) -> dict[str, Any]:
    """AutomationTestLogResourceResponse of a log submitted through ``auto-test-logs``.

    ``status`` (of the log and of each step log) is the automation result value as submitted.

    Args:
        state: The simulator state.
        log: The stored test log.
        entry: The submission it was built from.
        base: Site URL the client used.

    Returns:
        The AutomationTestLogResourceResponse dict.
    """
    run = state.test_runs[log.run_id]
    path = f"test-runs/{run.id}/test-logs/{log.id}"
    steps = []
    for step, stored in zip(entry.steps or [], log.step_logs, strict=True):
        steps.append(
            {
                "links": [],
                "description": step.description,
                "expected_result": step.expected,
                "actual_result": step.actual,
                "order": stored["order"] - 1,
                "status": step.status_text,
                "attachments": [
                    render_attachment(state, a, base)
                    for a in state.attachments_of("test-step-logs", stored["test_step_log_id"])
                ],
                "exe_date": iso(step.exe_date or log.exe_end),
            }
        )
    return {
        "links": [
            link("self", api(base, log.project_id, path)),
            link("test-run", api(base, log.project_id, f"test-runs/{run.id}")),
        ],
        "id": log.id,
        "test_case_version_id": log.version_id,
        "exe_start_date": iso(log.exe_start),
        "exe_end_date": iso(log.exe_end),
        "note": log.extra.get("note"),
        "attachments": [render_attachment(state, a, base) for a in state.attachments_of("test-logs", log.id)],
        **render_log_details(state, log),
        "automation_content": log.extra.get("automation_content"),
        "status": str(entry.raw.get("status")),
        "order": log.result_number,
        "test_step_logs": steps,
        "module_names": entry.raw.get("module_names") or [],
    }


def _node(kind: str, item: Any, children: list[dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {"artifactType": _KINDS[kind], "type": kind, "id": item.id, "name": item.name}
    body["order"] = item.order
    release, build = getattr(item, "target_release_id", None), getattr(item, "target_build_id", None)
    if kind == "release":
        release = item.id
    if release is not None:
        body["targetReleaseId"] = release
    if build is not None:
        body["targetBuildId"] = build
    body["children"] = children
    return body


def _children(state: QTestState, project_id: int, parent: Container) -> list[dict[str, Any]]:
    def here(table: Table[Any]) -> list[Any]:
        return sorted(state.children(table, project_id, parent), key=lambda x: (x.order, x.id))

    out = []
    if parent == ROOT:
        releases = sorted(state.in_project(state.releases, project_id), key=lambda r: (r.order, r.id))
        out += [_node("release", r, _children(state, project_id, ("release", r.id))) for r in releases]
    out += [
        _node("test-cycle", c, _children(state, project_id, ("test-cycle", c.id)))
        for c in here(state.test_cycles)
    ]
    out += [
        _node("test-suite", s, _children(state, project_id, ("test-suite", s.id)))
        for s in here(state.test_suites)
    ]
    out += [_node("test-run", r, []) for r in here(state.test_runs)]
    return out


def subhierarchy(state: QTestState, project_id: int, top: Container) -> dict[str, Any]:
    """AutomationObjectTree of a container (root, release or test cycle) and everything below it.

    Args:
        state: The simulator state.
        project_id: The project.
        top: The container.

    Returns:
        The tree: the container, a shallow ``parent`` node when it has one, and its children.
    """
    kind, item_id = top
    children = _children(state, project_id, top)
    if kind == "root":
        project = state.project(project_id)
        return {
            "artifactType": "ROOT",
            "type": "root",
            "id": 0,
            "name": str(project.data.get("name") or ""),
            "order": 0,
            "children": children,
        }
    item: Any = state.releases[item_id] if kind == "release" else state.test_cycles[item_id]
    body = _node(kind, item, children)
    parent_kind = getattr(item, "parent_type", "root")
    if parent_kind != "root":
        parent: Any = (
            state.releases[item.parent_id] if parent_kind == "release" else state.test_cycles[item.parent_id]
        )
        body["parent"] = {k: v for k, v in _node(parent_kind, parent, []).items() if k != "children"}
    return body


def admin_profile(state: QTestState, user_id: int) -> dict[str, Any]:
    """AdminProfile of a user: every site permission for the site administrator, none otherwise.

    Args:
        state: The simulator state.
        user_id: The caller.

    Returns:
        The AdminProfile dict.
    """
    granted = user_id == state.admin_id
    return {"user_id": user_id, **dict.fromkeys(ADMIN_PERMISSIONS, granted)}
