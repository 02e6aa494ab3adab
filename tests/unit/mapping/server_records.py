"""Hand-built canonical records shaped the way the Zephyr Scale Server / Data Center source fills them.

Server (REST API v1) names what Cloud numbers: statuses, priorities, environments and components
by name (``Ref(name="Approved")``, ``Option(id=None, name=...)``), folders by ``KIND:/path`` with no
id, cycles ("test runs") and plans by key both ways, executions ("test results") by id with no key,
people by Jira user key. See docs/simulators-zephyr-server.md for the wire format these mirror.
"""

from __future__ import annotations

from typing import Any

import mapping_builders as mb

from ztoq.config import ZtoqConfig
from ztoq.mapping.lookups import SourceLookups
from ztoq.sources.records import (
    Folder,
    FolderKind,
    IssueLink,
    Links,
    Option,
    Ref,
    StepResult,
    TestCase,
    TestCycle,
    TestData,
    TestDataVariable,
    TestExecution,
    TestPlan,
    TestStep,
)

OWNER = "JIRAUSER10100"
TESTER = "JIRAUSER10101"

STATUSES = tuple(
    Option(None, name)
    for name in ("Draft", "Approved", "Deprecated", "Not Executed", "In Progress", "Pass", "Fail", "Blocked")
)
PRIORITIES = tuple(Option(None, name) for name in ("High", "Normal", "Low"))
ENVIRONMENTS = tuple(Option(None, name) for name in ("Chrome Latest", "Safari 17"))

DATA = TestData(
    variables=(
        TestDataVariable("user", "FREE_TEXT"),
        TestDataVariable("country", "DATA_SET", "Countries"),
    ),
    rows=({"user": "ada", "country": "UK"}, {"user": "linus", "country": "FI"}),
)


def config(**sections: Any) -> ZtoqConfig:
    return mb.config(zephyr={"project_key": "DC"}, **sections)


def folder(kind: FolderKind, path: str) -> Folder:
    """The folder at ``path`` ("/Orbiter/Cargo Bay") of one tree, keyed ``KIND:/path`` as Server's are."""
    parent_path, _, name = path.rpartition("/")
    parent = Ref(name=f"{kind.value}:{parent_path}") if parent_path else None
    return Folder(key=f"{kind.value}:{path}", name=name, kind=kind, parent=parent)


def folders(kind: FolderKind, *paths: str) -> list[Folder]:
    """Every folder of ``paths`` and their ancestors, once each (Server folders come from paths)."""
    seen: dict[str, Folder] = {}
    for path in paths:
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts) + 1):
            found = folder(kind, "/" + "/".join(parts[:depth]))
            seen.setdefault(found.key, found)
    return list(seen.values())


def case_ref(path: str) -> Ref:
    return Ref(name=f"TEST_CASE:{path}")


def case(key: str = "DC-T12", **more: Any) -> TestCase:
    fields: dict[str, Any] = {
        "key": key,
        "name": "Engine ignites",
        "folder": case_ref("/Orbiter/Propulsion"),
        "priority": Ref(name="High"),
        "status": Ref(name="Approved"),
        "owner": OWNER,
        "component": Ref(name="Valves"),
        "objective": "<p>rich text</p>",
        "links": Links(issues=(IssueLink(key="DC-101", type="COVERAGE"),)),
        "steps": (
            TestStep(description="Open {user}", test_data="user={user}", expected_result="Shown"),
            TestStep(description="Check {country}", expected_result="Flag shown"),
        ),
    }
    fields.update(more)
    return TestCase(**fields)


def plan(key: str = "DC-P1", *cycles: str, **more: Any) -> TestPlan:
    fields: dict[str, Any] = {
        "key": key,
        "name": "Release 4.2",
        "status": Ref(name="Approved"),
        "owner": OWNER,
        "folder": Ref(name="TEST_PLAN:/2024"),
        "test_cycles": tuple(Ref(name=c) for c in cycles),
    }
    fields.update(more)
    return TestPlan(**fields)


def cycle(key: str = "DC-C1", *plans: str, **more: Any) -> TestCycle:
    fields: dict[str, Any] = {
        "key": key,
        "name": "Regression 4.2",
        "status": Ref(name="Done"),
        "owner": OWNER,
        "folder": Ref(name="TEST_CYCLE:/Regression"),
        "jira_version": Ref(name="4.2"),
        "test_plans": tuple(Ref(name=p) for p in plans),
    }
    fields.update(more)
    return TestCycle(**fields)


def result(ident: int, case: str = "DC-T12", run: str | None = "DC-C1", **more: Any) -> TestExecution:
    """A test result of a test run item, as the Server source fills it: no key, its id, the run's key."""
    fields: dict[str, Any] = {
        "key": None,
        "id": ident,
        "test_case_key": case,
        "test_case_version": "1",
        "test_cycle": None if run is None else Ref(name=run),
        "status": Ref(name="Pass"),
        "environment": Ref(name="Chrome Latest"),
        "actual_end_date": "2024-03-01T10:15:00.000Z",
        "execution_time": 180000,
        "executed_by": TESTER,
        "assigned_to": TESTER,
        "comment": "<p>crashed</p>",
    }
    fields.update(more)
    return TestExecution(**fields)


def step(index: int, status: str | None = "Pass", actual: str = "", row: int | None = None) -> StepResult:
    return StepResult(
        index=index, status=None if status is None else Ref(name=status), actual_result=actual, row=row
    )


def lookups(**more: Any) -> SourceLookups:
    params: dict[str, Any] = {
        "folders": [
            *folders(FolderKind.TEST_CASE, "/Orbiter/Propulsion"),
            *folders(FolderKind.TEST_PLAN, "/2024"),
            *folders(FolderKind.TEST_CYCLE, "/Regression"),
        ],
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "environments": ENVIRONMENTS,
        "test_cases": [case(), case("DC-T3", name="Valve opens", steps=(TestStep("Open"),))],
        "test_plans": [plan("DC-P1", "DC-C4"), plan("DC-P2")],
        "test_cycles": [cycle("DC-C1", "DC-P1"), cycle("DC-C4")],
        "test_case_step_counts": {"DC-T12": 2, "DC-T3": 1},
    }
    params.update(more)
    return SourceLookups.build(**params)
