"""The issue link look-ups: what is linked to a Jira issue, named by its key.

``GET /issuelinks/{issueKey}/testcases`` (``TestCaseKeyAndVersionList``: ``[{key, version, self}]``),
``/testcycles`` (``TestCycleIdList``), ``/testplans`` (``TestPlanIdList``) and ``/executions``
(``TestExecutionIdList``: ``[{id, self}]``) answer bare JSON arrays, not pages.

Links store Jira issue *ids* (``IssueLink.issueId``) while these operations take an issue *key*,
so the simulated Jira site needs both: the dataset's ``jiraIssues`` list (``[{"id", "key"}]``)
names issues, and an issue it does not name has the key ``<PROJECT>-<issueId>``, PROJECT being
the key of the project whose entity links it. An issue key the site cannot know (neither listed
nor in one of its projects) answers 404; a key that is not shaped ``<project>-<number>`` (the
spec's pattern) answers 400; a known issue nothing links answers an empty list.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ztoq.simulators.zephyr.loading import links_key
from ztoq.simulators.zephyr.pagination import ZephyrApiError
from ztoq.simulators.zephyr.routes import json_response
from ztoq.simulators.zephyr.state import Entity, ZephyrState

if TYPE_CHECKING:
    from ztoq.simulators.zephyr.app import ZephyrSimulator

LinkedKind = Literal["testcases", "testcycles", "testplans", "executions"]
LINKED_KINDS: tuple[LinkedKind, ...] = ("testcases", "testcycles", "testplans", "executions")

#: The spec's ``issueKey`` pattern (``.+-[0-9]+``), matched against the whole key.
ISSUE_KEY_RE = re.compile(r"^(?P<project>.+)-(?P<number>[0-9]+)$")

#: Issue key -> kind -> what links it: test case keys, or cycle, plan and execution ids.
IssueIndex = dict[str, dict[LinkedKind, list[Any]]]


def issue_key(state: ZephyrState, issue_id: int, project_key: str | None) -> str | None:
    """The key of a linked issue: as the dataset lists it, else ``<PROJECT>-<issueId>``."""
    listed = state.jira_issues.get(issue_id)
    if listed is not None:
        return listed
    return None if project_key is None else f"{project_key}-{issue_id}"


def issue_index(state: ZephyrState) -> IssueIndex:
    """Every linked issue's key, with what links it; computed once per state revision."""

    def compute() -> IssueIndex:
        index: IssueIndex = {}
        cases = sorted(state.testcase_versions.items(), key=lambda item: int(item[1][0]["id"]))
        owners: list[tuple[LinkedKind, Any, Entity]] = [("testcases", key, vs[-1]) for key, vs in cases]
        collections: tuple[tuple[LinkedKind, dict[int, Entity]], ...] = (
            ("testcycles", state.testcycles),
            ("testplans", state.testplans),
            ("executions", state.testexecutions),
        )
        for kind, collection in collections:
            owners += [(kind, ident, collection[ident]) for ident in sorted(collection)]
        for kind, ident, entity in owners:
            project_key = _project_key(state, entity)
            for issue_id in _linked_issue_ids(state.links.get(links_key(entity))):
                key = issue_key(state, issue_id, project_key)
                if key is None:
                    continue
                found = index.setdefault(key, {}).setdefault(kind, [])
                if ident not in found:
                    found.append(ident)
        return index

    return dict(state.cached(("issue-index",), compute))


def linked_to(state: ZephyrState, key: str, kind: LinkedKind) -> list[Any]:
    """What of ``kind`` links the issue ``key``, in listing order.

    Raises:
        ZephyrApiError: 400 for a key not shaped as the spec says, 404 for an issue the
            simulated Jira site does not know.
    """
    match = ISSUE_KEY_RE.match(key)
    if match is None:
        raise ZephyrApiError(400, f"issueKey must be a Jira issue key such as PROJ-123; got '{key}'.")
    with state.lock:
        index = issue_index(state)
        known = (
            key in index
            or key in state.jira_issues.values()
            or state.project_by_key(match.group("project")) is not None
        )
        if not known:
            raise ZephyrApiError(404, f"Issue '{key}' does not exist or you do not have access to it.")
        return list(index.get(key, {}).get(kind, []))


def _project_key(state: ZephyrState, entity: Entity) -> str | None:
    project = entity.get("project")
    project_id = project.get("id") if isinstance(project, Mapping) else None
    found = state.projects.get(project_id) if isinstance(project_id, int) else None
    key = (found or {}).get("key")
    return key if isinstance(key, str) else None


def _linked_issue_ids(links: Mapping[str, Any] | None) -> Iterable[int]:
    for item in (links or {}).get("issues") or []:
        if isinstance(item, Mapping) and isinstance(item.get("issueId"), int):
            yield int(item["issueId"])


class IssueLinkRoutes:
    """The four ``GET /issuelinks/{issueKey}/...`` routes over one simulator's state."""

    def __init__(self, sim: ZephyrSimulator) -> None:
        self.state = sim.state

    def endpoint(self, kind: LinkedKind) -> Callable[[Request], Awaitable[Response]]:
        """The handler of one kind: a bare list of ``{key, version, self}`` or ``{id, self}``."""

        async def handler(request: Request) -> Response:
            api = str(request.base_url) + "v2/"
            with self.state.lock:
                found = linked_to(self.state, request.path_params["issueKey"], kind)
                if kind == "testcases":
                    body = [self._case(api, key) for key in found]
                else:
                    collection = "testexecutions" if kind == "executions" else kind
                    body = [{"id": ident, "self": f"{api}{collection}/{ident}"} for ident in found]
            return json_response(body)

        return handler

    def _case(self, api: str, key: str) -> Entity:
        version = len(self.state.testcase_versions[key])
        return {"key": key, "version": version, "self": f"{api}testcases/{key}/versions/{version}"}

    def routes(self) -> list[Route]:
        """One GET route per kind."""
        return [
            Route(f"/v2/issuelinks/{{issueKey}}/{kind}", self.endpoint(kind), methods=["GET"])
            for kind in LINKED_KINDS
        ]
