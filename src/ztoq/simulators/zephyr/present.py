"""Serve-time rendering of stored entities: the ``self`` URLs into the API, and nothing else.

Stored entities carry API links as ``{"id": N}`` (``{}`` for ``testScript``); the presenter adds
``self`` from the base URL the request came in on, so a client can follow every link to the
simulator that served it, whatever host or port that is. A ``self`` given in the dataset for
such a link is replaced for the same reason. Jira-side URLs (owner, component,
jiraProjectVersion, issue ``target``s, a cycle's test plan ``target``) are served as stored,
and simulator metadata (keys starting with ``_``) is dropped. Everything else is served as given:
a field absent from the stored object is absent from the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ztoq.simulators.zephyr.loading import links_key
from ztoq.simulators.zephyr.state import Entity, ZephyrState

#: Fields holding links into the API, and the collection each one points into.
_API_LINK_FIELDS: dict[str, str] = {
    "project": "projects",
    "priority": "priorities",
    "status": "statuses",
    "folder": "folders",
    "environment": "environments",
    "testExecutionStatus": "statuses",
    "testCycle": "testcycles",
}


def _public(entity: Mapping[str, Any]) -> Entity:
    """A shallow copy without simulator metadata."""
    return {k: v for k, v in entity.items() if not k.startswith("_")}


class Presenter:
    """Renders stored entities for one request, whose API base URL ends with ``/v2/``."""

    def __init__(self, state: ZephyrState, api_base: str) -> None:
        self.state = state
        self.api_base = api_base if api_base.endswith("/") else api_base + "/"

    def url(self, path: str) -> str:
        """An absolute URL into the API served at this request's base URL."""
        return self.api_base + path

    def _with_links(self, entity: Entity) -> Entity:
        out = _public(entity)
        for field, collection in _API_LINK_FIELDS.items():
            value = out.get(field)
            if isinstance(value, Mapping) and isinstance(value.get("id"), int):
                out[field] = {**_public(value), "self": self.url(f"{collection}/{value['id']}")}
        return out

    # -- configuration entities -------------------------------------------------------------

    def project(self, project: Entity) -> Entity:
        """A ``Project``."""
        return _public(project)

    def option(self, entity: Entity) -> Entity:
        """A ``Folder``, ``Status``, ``Priority`` or ``Environment``: only the project link changes."""
        return self._with_links(entity)

    # -- test cases -----------------------------------------------------------------------------

    def testcase(self, case: Entity, key: str) -> Entity:
        """A ``TestCase`` (any version): API links, the test script link and the links list."""
        out = self._with_links(case)
        if "testScript" in out:
            # As the live API does (the spec only shows the plain/BDD form): the link points at
            # /testscript for a plain or BDD script and at /teststeps otherwise, a test case
            # without any script being an empty step-by-step one.
            where = "testscript" if key in self.state.testscripts else "teststeps"
            out["testScript"] = {"self": self.url(f"testcases/{key}/{where}")}
        links = self.case_links(key)
        if links is not None:
            out["links"] = links
        return out

    def case_links(self, key: str) -> Entity | None:
        """A ``TestCaseLinkList``, or None when the test case has no links object."""
        stored = self.state.links.get(key)
        if stored is None:
            return None
        return {
            "self": self.url(f"testcases/{key}/links"),
            "issues": self._items(stored.get("issues")),
            "webLinks": self._items(stored.get("webLinks")),
        }

    def version_link(self, version_id: int) -> Entity:
        """A ``TestCaseVersionLink``: ``{id, self: .../testcases/KEY/versions/N}``."""
        found = self.state.version_index.get(version_id)
        if found is None:
            return {"id": version_id}
        key, number = found
        return {"id": version_id, "self": self.url(f"testcases/{key}/versions/{number}")}

    def test_step(self, step: Entity) -> Entity:
        """A ``TestStep``: inline steps as stored; call-to-test steps get a link to the called case."""
        out = _public(step)
        called = out.get("testCase")
        if isinstance(called, Mapping) and isinstance(called.get("testCaseKey"), str):
            out["testCase"] = {**_public(called), "self": self.url(f"testcases/{called['testCaseKey']}")}
        return out

    def test_script(self, script: Entity) -> Entity:
        """A ``TestScript`` as stored."""
        return _public(script)

    # -- cycles and plans ---------------------------------------------------------------------

    def cycle(self, cycle: Entity) -> Entity:
        """A ``TestCycle`` with its ``TestCycleLinkList``."""
        out = self._with_links(cycle)
        links = self.cycle_links(cycle)
        if links is not None:
            out["links"] = links
        return out

    def cycle_links(self, cycle: Entity) -> Entity | None:
        """A ``TestCycleLinkList`` (issues, web links, test plans), or None."""
        stored = self.state.links.get(links_key(cycle))
        if stored is None:
            return None
        return {
            "self": self.url(f"testcycles/{cycle.get('key', cycle['id'])}/links"),
            "issues": self._items(stored.get("issues")),
            "webLinks": self._items(stored.get("webLinks")),
            "testPlans": self._items(stored.get("testPlans")),
        }

    def plan(self, plan: Entity) -> Entity:
        """A ``TestPlan``; its ``links`` has no ``self`` in the spec, and test cycle targets are API URLs."""
        out = self._with_links(plan)
        stored = self.state.links.get(links_key(plan))
        if stored is not None:
            cycles = [
                {**item, "target": self.url(f"testcycles/{item['testCycleId']}")}
                if isinstance(item.get("testCycleId"), int)
                else item
                for item in self._items(stored.get("testCycles"))
            ]
            out["links"] = {
                "webLinks": self._items(stored.get("webLinks")),
                "issues": self._items(stored.get("issues")),
                "testCycles": cycles,
            }
        return out

    # -- executions -----------------------------------------------------------------------------

    def execution(self, execution: Entity) -> Entity:
        """A ``TestExecution``: the test case as a version link, and its ``TestExecutionLinkList``."""
        out = self._with_links(execution)
        case = out.get("testCase")
        if isinstance(case, Mapping) and isinstance(case.get("id"), int):
            out["testCase"] = self.version_link(int(case["id"]))
        links = self.execution_links(execution)
        if links is not None:
            out["links"] = links
        return out

    def execution_links(self, execution: Entity) -> Entity | None:
        """A ``TestExecutionLinkList`` (issues only, as the spec models it), or None."""
        stored = self.state.links.get(links_key(execution))
        if stored is None:
            return None
        return {
            "self": self.url(f"testexecutions/{execution['id']}/links"),
            "issues": self._items(stored.get("issues")),
        }

    def execution_step(self, step: Entity) -> Entity:
        """A ``TestExecutionStep``: the step status gets its ``self``."""
        out = _public(step)
        inline = out.get("inline")
        if isinstance(inline, Mapping):
            out["inline"] = self._with_links(dict(inline))
        return out

    # -- shared -------------------------------------------------------------------------------------

    def _items(self, items: Any) -> list[Entity]:
        """Issue, web, cycle and plan link items: ``self`` is the link's own URL, ``/links/{id}``."""
        out = []
        for item in items or []:
            rendered = _public(item)
            if isinstance(rendered.get("id"), int):
                rendered["self"] = self.url(f"links/{rendered['id']}")
            out.append(rendered)
        return out
