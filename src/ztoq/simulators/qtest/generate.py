"""Datasets of the qTest simulator: the default empty project and a target ready for a migration.

Both return the ``--data`` format (see ``docs/simulators-qtest.md``), so the simulator has a
single loading path. System field values the simulator uses (Status New 201, Type Manual 701,
Priority Medium 723, Automation No 712, Execution Type 501-503, run statuses 601-605) are the IDs
seen in responses of real qTest sites; the other values of those lists are a guess.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ztoq.simulators import catalog
from ztoq.simulators.qtest.fields import (
    CHECKBOX,
    COMBO,
    DATE_TIME,
    MULTI,
    RICH_TEXT,
    TEXT,
    USER_LIST,
    make_field,
)

DEFAULT_QTEST_TOKEN = "qtest-sim-token"
DEFAULT_QTEST_USER = "admin@example.com"
DEFAULT_QTEST_PASSWORD = "admin"

#: ID of the project the simulator serves when started without a dataset.
DEFAULT_PROJECT_ID = 1

#: Jira project key of the generated requirements ("DEMO-101 Login works").
JIRA_KEY = "DEMO"

#: Default execution statuses of a qTest project (StatusResource), "Unexecuted" being the default.
EXECUTION_STATUSES: tuple[tuple[int, str, str], ...] = (
    (601, "Passed", "#0cdda8"),
    (602, "Failed", "#ee3f38"),
    (603, "Incomplete", "#ffc000"),
    (604, "Blocked", "#8c8c8c"),
    (605, "Unexecuted", "#c0c0c0"),
)

#: IDs of the site-level system fields, which real sites number with negative IDs shared by
#: every project of the site. Published answers of a qTest site (2023, GET/POST .../test-suites
#: and POST .../test-logs) show the test suite fields Assigned To -181, Description -184,
#: Environment -185, Execution Type -186, Planned End Date -193, Planned Start Date -194 (Target
#: Release/Build -197 is not simulated) and the test run field Test Data Source -183; the same
#: answers show the other test run and test case system fields with positive, per-project IDs,
#: which the simulator keeps (see docs/simulators-qtest.md, "Field IDs").
TEST_DATA_SOURCE_ID = -183
SITE_FIELD_IDS: dict[str, int] = {
    "Assigned To": -181,
    "Description": -184,
    "Environment": -185,
    "Execution Type": -186,
    "Planned End Date": -193,
    "Planned Start Date": -194,
}

_PRIORITIES = ((721, "Urgent", False), (722, "High", False), (723, "Medium", True), (724, "Low", False))
_EXECUTION_TYPES = ((501, "Functional", True), (502, "Regression", False), (503, "Smoke", False))


def execution_statuses() -> list[dict[str, Any]]:
    """The default StatusResource list: Passed 601 ... Unexecuted 605 (the default)."""
    return [
        {"id": sid, "name": name, "is_default": sid == 605, "color": color, "active": True}
        for sid, name, color in EXECUTION_STATUSES
    ]


def system_fields(
    next_field_id: Callable[[], int],
    next_value_id: Callable[[], int],
    environments: tuple[str, ...] = (),
) -> dict[str, list[dict[str, Any]]]:
    """System fields of every object type, as a new qTest project has them.

    Args:
        next_field_id: Allocates field IDs.
        next_value_id: Allocates allowed-value IDs for lists without fixed system IDs.
        environments: Values of the test-run/test-suite "Environment" field.

    Returns:
        Object type -> FieldResource dicts.
    """

    def values(labels: tuple[str, ...], default: str | None = None) -> list[tuple[int, str, bool]]:
        return [(next_value_id(), label, label == default) for label in labels]

    def field(label: str, data_type: int, order: int, **kw: Any) -> dict[str, Any]:
        return make_field(next_field_id(), label, data_type, order=order, system=True, **kw)

    def site_field(label: str, data_type: int, order: int, **kw: Any) -> dict[str, Any]:
        return make_field(SITE_FIELD_IDS[label], label, data_type, order=order, system=True, **kw)

    env_values = values(environments)
    statuses = [(sid, name, sid == 605, color) for sid, name, color in EXECUTION_STATUSES]
    test_cases = [
        field(
            "Status",
            COMBO,
            1,
            values=[
                (201, "New", True),
                (202, "Ready for Review", False),
                (203, "Approved", False),
                (204, "Needs Update", False),
                (205, "Obsolete", False),
            ],
        ),
        field(
            "Type",
            COMBO,
            2,
            values=[(701, "Manual", True), (702, "Automation", False), (703, "Performance", False)],
        ),
        field("Priority", COMBO, 3, values=_PRIORITIES),
        field("Assigned To", USER_LIST, 4, multiple=True),
        field("Automation", COMBO, 5, values=[(711, "Yes", False), (712, "No", True)]),
        field("Automation Content", TEXT, 6),
    ]
    test_runs = [
        field("Status", COMBO, 1, values=statuses),
        field("Priority", COMBO, 2, values=_PRIORITIES),
        field("Assigned To", USER_LIST, 3, multiple=False),
        field("Environment", COMBO, 4, values=env_values),
        field("Execution Type", COMBO, 5, values=_EXECUTION_TYPES),
        field("Planned Start Date", DATE_TIME, 6),
        field("Planned End Date", DATE_TIME, 7),
        # The data set a data-driven run takes its parameters from (none in a new project).
        make_field(TEST_DATA_SOURCE_ID, "Test Data Source", COMBO, order=8, system=True),
    ]
    test_suites = [
        site_field("Description", RICH_TEXT, 1),
        site_field("Environment", COMBO, 2, values=[(v[0], v[1], False) for v in env_values]),
        site_field("Assigned To", USER_LIST, 3, multiple=True),
        site_field("Execution Type", COMBO, 4, values=_EXECUTION_TYPES),
        site_field("Planned Start Date", DATE_TIME, 5),
        site_field("Planned End Date", DATE_TIME, 6),
    ]
    releases = [field("Status", COMBO, 1, values=values(("Planning", "In Progress", "Closed"), "Planning"))]
    requirements = [
        field("Status", COMBO, 1, values=values(("New", "In Progress", "Done"), "New")),
        field("Priority", COMBO, 2, values=values(("Must have", "Should have", "Could have", "Won't have"))),
        field("Type", COMBO, 3, values=values(("Functional", "Non-functional"), "Functional")),
        field("Assigned To", USER_LIST, 4, multiple=True),
    ]
    return {
        "releases": releases,
        "builds": [],
        "requirements": requirements,
        "test-cases": test_cases,
        "test-steps": [],
        "defects": [],
        "test-suites": test_suites,
        "test-runs": test_runs,
    }


def _admin(user_id: int) -> dict[str, Any]:
    return {
        "id": user_id,
        "username": DEFAULT_QTEST_USER,
        "email": DEFAULT_QTEST_USER,
        "first_name": "Site",
        "last_name": "Administrator",
        "password": DEFAULT_QTEST_PASSWORD,
        "status": 1,
    }


def _project(project_id: int, name: str, description: str) -> dict[str, Any]:
    return {
        "id": project_id,
        "name": name,
        "description": description,
        "status_id": 101,
        "start_date": "2024-01-01T00:00:00+00:00",
        "end_date": None,
        "sample": False,
        "defect_tracking_systems": [],
        "x_explorer_access_level": 7,
        "date_format": "MM/dd/yyyy",
        "automation": True,
        "template_id": None,
        "uuid": "",
    }


def _counter(start: int) -> Callable[[], int]:
    state = {"n": start}

    def take() -> int:
        state["n"] += 1
        return state["n"]

    return take


def default_dataset() -> dict[str, Any]:
    """One empty project (ID 1), three users, system fields and the default execution statuses.

    Returns:
        The dataset in the ``--data`` format.
    """
    fields = system_fields(_counter(100), _counter(10000), ("Chrome", "Firefox"))
    users = [_admin(5201)]
    known = [u for u in catalog.USERS if u.qtest_login]
    users += [_user(5202 + i, spec, str(spec.qtest_login)) for i, spec in enumerate(known[:2])]
    return {
        "projects": [
            _project(DEFAULT_PROJECT_ID, "Migration Target", "Empty project ready to receive a migration")
        ],
        "users": users,
        "fields": fields,
        "execution_statuses": execution_statuses(),
    }


def _user(user_id: int, spec: catalog.UserSpec, login: str) -> dict[str, Any]:
    first, _, last = spec.display_name.partition(" ")
    return {
        "id": user_id,
        "username": login,
        "email": login,
        "first_name": first,
        "last_name": last,
        "status": 1,
    }


def _custom(
    spec: catalog.CustomFieldSpec, field_id: int, order: int, next_value_id: Callable[[], int]
) -> dict[str, Any]:
    assert spec.qtest_label is not None
    assert spec.qtest_data_type is not None
    data_type = spec.qtest_data_type
    options: tuple[str, ...] = spec.options
    if data_type == CHECKBOX and not options:
        # A qTest check box is a list of boxes (data_type 8 is a multiple picklist); a Zephyr
        # boolean maps to a single "Yes" box, checked or not.
        options = ("Yes",)
    return make_field(
        field_id,
        spec.qtest_label,
        data_type,
        order=order,
        multiple=data_type in (CHECKBOX, MULTI),
        values=[(next_value_id(), label, False) for label in options],
    )


def generate_target(
    seed: int = 0, project_name: str = "Migration Target", *, existing_test_cases: int = 0
) -> dict[str, Any]:
    """A qTest project configured to receive the generated Zephyr project.

    It has the system fields, the custom fields of ``catalog`` that have a ``qtest_label``
    (test cases; test executions on test runs; test cycles on test suites, the closest qTest
    artifact with custom fields; test plans on releases), a text field "Zephyr Key" on test cases,
    test runs, test suites and releases (qTest test cycles have no custom fields), the
    environments of ``catalog.ENVIRONMENTS``, the users of ``catalog.USERS`` that have a qTest
    login (``qtest_login`` or ``qtest_other_login``), and requirements named after Jira issues
    (``DEMO-101 Login works``).

    Args:
        seed: Makes the generated IDs and names reproducible.
        project_name: Name of the target project.
        existing_test_cases: Test cases already in the project (module "Existing Tests"), which a
            rollback must leave alone.

    Returns:
        The dataset in the ``--data`` format.
    """
    rng = random.Random(seed)
    project_id = 100000 + rng.randrange(900000)
    next_field_id = _counter(100 + rng.randrange(50))
    next_value_id = _counter(900000 + rng.randrange(1000) * 100)
    fields = system_fields(next_field_id, _counter(10000), catalog.ENVIRONMENTS)
    custom_sets = {
        "test-cases": catalog.TEST_CASE_FIELDS,
        "test-runs": catalog.TEST_EXECUTION_FIELDS,
        "test-suites": catalog.TEST_CYCLE_FIELDS,
        "releases": catalog.TEST_PLAN_FIELDS,
    }
    for object_type, specs in custom_sets.items():
        target = fields[object_type]
        for spec in specs:
            if spec.qtest_label is not None:
                target.append(_custom(spec, next_field_id(), len(target) + 1, next_value_id))
        target.append(make_field(next_field_id(), catalog.SOURCE_KEY_FIELD, TEXT, order=len(target) + 1))
    users = [_admin(5201)]
    logins = [(spec, spec.qtest_login or spec.qtest_other_login) for spec in catalog.USERS]
    people = [(spec, login) for spec, login in logins if login is not None]
    users += [_user(5202 + i, spec, login) for i, (spec, login) in enumerate(people)]
    module_id = 2107600 + rng.randrange(1000)
    modules = [{"id": module_id, "name": f"{JIRA_KEY} Requirements", "pid": "MD-1", "parent_id": None}]
    topics = (
        "Login works",
        "Password reset",
        "Search returns results",
        "Checkout completes",
        "Profile update",
    )
    requirements = [
        {
            "id": 4171800 + i + 1,
            "name": f"{JIRA_KEY}-{101 + i} {topic}",
            "pid": f"RQ-{i + 1}",
            "parent_id": module_id,
        }
        for i, topic in enumerate(topics)
    ]
    test_cases: list[dict[str, Any]] = []
    if existing_test_cases:
        existing_module = module_id + 1
        modules.append({"id": existing_module, "name": "Existing Tests", "pid": "MD-2", "parent_id": None})
        for i in range(existing_test_cases):
            test_cases.append(
                {
                    "id": 4500000 + i + 1,
                    "pid": f"TC-{i + 1}",
                    "name": f"Existing test {i + 1}",
                    "parent_id": existing_module,
                    "version": "1.0",
                    "test_case_version_id": 13700000 + i + 1,
                    "description": "Created before the migration",
                    "test_steps": [
                        {
                            "id": 52000000 + 2 * i + 1,
                            "description": "Open the app",
                            "expected": "It opens",
                            "order": 1,
                        },
                        {
                            "id": 52000000 + 2 * i + 2,
                            "description": "Close it",
                            "expected": "It closes",
                            "order": 2,
                        },
                    ],
                }
            )
    return {
        "projects": [_project(project_id, project_name, f"Target of the Zephyr migration (seed {seed})")],
        "users": users,
        "fields": fields,
        "execution_statuses": execution_statuses(),
        "modules": modules,
        "requirements": requirements,
        "test_cases": test_cases,
    }
