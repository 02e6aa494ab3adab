"""How ``POST .../search`` looks through the objects of a type: rendering only what it must.

A query is matched against the rendered object (its properties, status and built-in
attributes), and the answer holds the rendered objects of one page. Rendering every object of
the project for each search made a search cost many times what the project holds. A
:class:`SearchScan` goes through the records one at a time, without allocating anything per
record: ``id``, ``pid`` and ``name`` are read from the record (what the rendered object shows),
and the record is rendered only for another criterion, or when it is on the page answered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ztoq.simulators.qtest.fields import display_values
from ztoq.simulators.qtest.routes_design import render_test_case
from ztoq.simulators.qtest.routes_execution import render_cycle, render_release, render_suite
from ztoq.simulators.qtest.routes_modules import render_module
from ztoq.simulators.qtest.routes_requirements import render_requirement
from ztoq.simulators.qtest.routes_runs import render_log, render_run
from ztoq.simulators.qtest.routing import user_names
from ztoq.simulators.qtest.search import Node, QueryError, evaluate
from ztoq.simulators.qtest.state import QTestState
from ztoq.simulators.qtest.tables import Table

#: Object type -> the object type whose fields it has (test logs show the test run fields).
FIELD_TYPES = {
    "test-cases": "test-cases",
    "test-runs": "test-runs",
    "test-suites": "test-suites",
    "releases": "releases",
    "requirements": "requirements",
    "test-logs": "test-runs",
}

#: Built-in criteria (lowercase) -> attribute of the rendered object.
BUILTINS = {
    "id": "id",
    "pid": "pid",
    "name": "name",
    "created date": "created_date",
    "created_date": "created_date",
    "createddate": "created_date",
    "last modified date": "last_modified_date",
    "last_modified_date": "last_modified_date",
    "lastmodifieddate": "last_modified_date",
    "description": "description",
    "version": "version",
    "module": "parent_id",
    "parent_id": "parent_id",
    "parentid": "parentId",
    "execution start date": "exe_start_date",
    "execution end date": "exe_end_date",
}

#: Built-in attributes read from the record itself.
QUICK_ATTRIBUTES = ("id", "pid", "name")

Render = Callable[[QTestState, Any, str, bool], dict[str, Any]]


class SearchScan:
    """The objects of one type in a project, matched against a query one record at a time.

    Args:
        state: The simulator state.
        project_id: The project.
        object_type: The searched type; builds and defects (not simulated) have no objects.
        base: Site URL the client used.
        steps: Render test cases with their steps (``appendTestSteps``).
    """

    def __init__(
        self, state: QTestState, project_id: int, object_type: str, base: str, *, steps: bool
    ) -> None:
        self.state = state
        self.object_type = object_type
        self.base = base
        self.steps = steps
        found = _TYPES.get(object_type)
        self._table: Table[Any] | None = found[0](state) if found else None
        self._render: Render | None = found[1] if found else None
        self._project_id = project_id
        field_type = FIELD_TYPES.get(object_type)
        fields = state.fields_of(project_id, field_type) if field_type else []
        #: Criteria (a field's lowercase label, or its ID) -> the field; the first field wins.
        self._fields: dict[str, dict[str, Any]] = {}
        for field in fields:
            self._fields.setdefault(field["label"].lower(), field)
            self._fields.setdefault(str(field["id"]), field)
        self._names = user_names(state)
        self._record: Any = None
        self._rendered: dict[str, Any] | None = None

    def matching(self, tree: Node | None) -> list[Any]:
        """The records whose rendered objects match the query, by ID.

        Raises:
            QueryError: The query names a criteria the type does not have.
        """
        if self._table is None:
            return []
        found = []
        for record in self.state.in_project(self._table, self._project_id):
            self._record, self._rendered = record, None
            if evaluate(tree, self.lookup):
                found.append(record)
        self._record = self._rendered = None
        return found

    def render(self, record: Any) -> dict[str, Any]:
        """The rendered object of a record (the item of the answer)."""
        assert self._render is not None
        return self._render(self.state, record, self.base, self.steps)

    def attribute(self, name: str) -> Any:
        """The current record's rendered attribute ``name``, read from the record when the same."""
        if name in QUICK_ATTRIBUTES:
            return quick_attribute(self.object_type, self._record, name)
        if self._rendered is None:
            self._rendered = self.render(self._record)
        return self._rendered.get(name)

    def lookup(self, criteria: str) -> Sequence[str]:
        """The current record's values for a criteria: a field's value and labels, or a built-in.

        Raises:
            QueryError: The type has no such criteria.
        """
        key = criteria.strip().lower()
        field = self._fields.get(key)
        if field is not None:
            for prop in self.attribute("properties") or []:
                if prop["field_id"] == field["id"]:
                    return display_values(field, str(prop.get("field_value") or ""), self._names)
            return []
        status = self.attribute("status") if key == "status" else None
        if isinstance(status, dict):
            return [str(status["id"]), str(status["name"])]
        attribute = BUILTINS.get(key)
        if attribute is None:
            raise QueryError(f"Unknown criteria '{criteria}' for {self.object_type}")
        value = self.attribute(attribute)
        return [] if value is None else [str(value)]


def quick_attribute(object_type: str, record: Any, name: str) -> Any:
    """``id``, ``pid`` or ``name`` of a record, as its rendered object shows it.

    Args:
        object_type: The searched type.
        record: The stored record.
        name: ``id``, ``pid`` or ``name``.

    Returns:
        The value (None where the rendered object has no such attribute: a test log's ``pid``).
    """
    if name == "id":
        return record.id
    if object_type == "test-logs":
        return record.extra.get("name") if name == "name" else None
    if name == "pid":
        return record.pid
    return record.latest.name if object_type == "test-cases" else record.name


_TYPES: dict[str, tuple[Callable[[QTestState], Table[Any]], Render]] = {
    "test-cases": (lambda s: s.test_cases, lambda s, r, b, steps: render_test_case(s, r, b, steps=steps)),
    "test-runs": (lambda s: s.test_runs, lambda s, r, b, _: render_run(s, r, b)),
    "test-suites": (lambda s: s.test_suites, lambda s, r, b, _: render_suite(s, r, b)),
    "test-cycles": (lambda s: s.test_cycles, lambda s, r, b, _: render_cycle(s, r, b)),
    "releases": (lambda s: s.releases, lambda s, r, b, _: render_release(s, r, b)),
    "requirements": (lambda s: s.requirements, lambda s, r, b, _: render_requirement(s, r, b)),
    "modules": (lambda s: s.modules, lambda s, r, b, _: render_module(s, r, b)),
    "test-logs": (lambda s: s.test_logs, lambda s, r, b, _: render_log(s, r, b)),
}
