"""The least number of requests a clean migration of a generated project needs, per API.

``ztoq bench`` prints this minimum next to what the run sent; ``wasted = sent - minimum``. It is
a yardstick built from the data and the vendors' contracts, never from what ztoq happens to do
today. A *clean run* starts from an empty store and a qTest project that holds none of the
migrated entities; every request below is one the contract requires, at the largest page size
the contract allows (plus the few root listings that let ztoq adopt instead of duplicate after a
lost store: ``adoption listings`` below). Retries count as sent requests, so a rate-limited
run's 429s show as waste too.

Paging, two kinds (the helpers below):

* :func:`listing_pages` = ``max(1, ceil(n / size))``: the last page says it is the last
  (Zephyr Cloud ``isLast``/``total``, NextGen ``nextStartAtId: null``, qTest's envelope ``total``);
* :func:`search_pages` = ``n // size + 1``: a plain JSON array, whose end is only known from a
  page shorter than the size asked (Zephyr Server searches, qTest test case and requirement
  lists), so a full last page costs one more request.

**Zephyr Scale Cloud v2** (:func:`cloud_minimum`, from the dataset of
``ztoq.simulators.zephyr.generate_dataset``):

* ``project``: 1, ``GET /projects/{key}``;
* ``reference listings``: folders (all types in one listing), statuses, priorities,
  environments; offset pages of :data:`CLOUD_PAGE`;
* ``test case pages``: ``GET /testcases/nextgen``, cursor pages of :data:`CLOUD_CURSOR_PAGE`;
* ``test scripts``: one call per test case that carries a ``testScript`` link, to where the link
  points: ``/testscript`` for a plain or BDD script (1 call), ``/teststeps`` otherwise (its
  offset pages; a case without any script is served as an empty step-by-step one, so its link
  points at ``/teststeps`` and still costs the call). A case without the link costs nothing;
* ``plan and cycle listings``: ``GET /testplans`` and ``GET /testcycles``, offset pages;
* ``execution pages``: ``GET /testexecutions/nextgen``, cursor pages;
* ``step results``: ``GET /testexecutions/{id}/teststeps`` (offset pages) for each execution that
  can have step results: one whose test case (named by its ``testCase`` version link) has a
  step-by-step script, call-to-test steps included. Executions of plain, BDD or script-less test
  cases have none, which the client knows from the test case read before;
* ``attachment lists``: one list per object that can carry files, the six list operations of the
  v2 attachment schemas (``/work/shared/specs/zephyr-scale-cloud-v2-attachments.md``): every test
  case, every test case step (by its ``id``), plan, cycle, execution and execution step (by its
  ``id``). A 404 (none) still costs the call;
* ``attachment downloads``: one per file of the dataset's ``attachments`` section (small and
  large). Inline images would add one per distinct image URL under the API's base URL; the
  generator embeds none, so that term is 0 and not counted.

**Zephyr Scale Server/Data Center v1** (:func:`server_minimum`, from the dataset of
``ztoq.simulators.zephyr_server.generate.generate_server_dataset``):

* ``project``: 1, Jira's ``GET /rest/api/2/project/{key}``;
* ``environments``: 1, ``GET /rest/atm/1.0/environments`` (one array, not paged);
* ``test case/plan/run searches``: ``GET .../{testcase,testplan,testrun}/search``, search pages of
  :data:`SERVER_PAGE`, the spec's default ``maxResults`` and the largest the client relies on
  (``sources/zephyr_server/client.py``): a search answers a plain array, so a server granting
  fewer than asked would look like the last page. The simulator would grant up to 1000. Test
  cases come whole (steps, script, test data), runs with their ``items``;
* ``test results``: one ``GET /rest/atm/1.0/testrun/{key}/testresults`` per test run (one array,
  not paged; step results are inside each result). A run without items is asked too;
* ``attachment lists``: the six published list paths: every test case, every step of a
  step-by-step script (by index), plan, run, result, and step result (each ``scriptResults``
  entry, by index);
* ``attachment downloads``: one per file of the dataset's ``attachments`` section, from its
  ``url`` on the Jira site (the generator embeds no inline images).

**qTest Manager v3** (:func:`qtest_minimum`). What becomes a qTest entity is mapping's decision
(docs/mapping.md), not a cost of requests, so the entities come from the plan ztoq's pure
mapping made of the same dataset (:func:`target_plan`, the planned entities that are sent);
the requirement names from the generated target (``ztoq.simulators.qtest.generate_target``).
Page size :data:`QTEST_PAGE` (999, the Swagger's maximum):

* ``target settings``: the project, the field settings of each type of
  :data:`~ztoq.vendor.QTEST_SETTINGS_OBJECT_TYPES`, the execution statuses, the users
  (``qtest/settings.read_target_settings``; transform maps onto them);
* ``creates``: one ``POST`` per planned entity of each type (test steps travel in their test
  case's body, step logs in their test log's); attachments are one upload each
  (``POST .../blob-handles``). The create answers carry the new ids, steps and step logs
  included, so a step log to attach to costs nothing;
* ``step lookups``: approving a test case gives its steps new ids in a new version, and the
  approval's answer carries no steps (the qTest simulator's contract), so the step ids a test log's
  step logs or a step's files are bound to cost one ``GET /test-cases/{id}?expand=teststep`` per
  approved test case that has such step logs or files (read once, used by both);
* ``approvals``: one ``PUT /test-cases/{id}/approve`` per test case planned with ``approve``
  (``pipeline/load_design.TestCaseLoader``: logs bind to approved versions);
* ``requirement listing`` and ``requirement links``: when test cases cover Jira issues, the
  project's requirements listed once (search pages of ``GET /requirements``), then one
  ``POST /requirements/{id}/link`` per requirement found, with all its test cases at once;
* ``adoption listings``: ztoq adopts what qTest already holds before it creates (a lost store,
  ``pipeline/load.py``): one listing per root container that receives entities and that this
  run did not create: the root modules, the releases, the root test cycles;
* ``validation``: the read-back ``pipeline/validate.py`` compares: the module tree (1,
  ``GET /modules/{root}?expand=descendants``), every test case of the project with steps and
  properties (``GET /test-cases?expandSteps=true&expandProps=true``, no ``parentId``, search
  pages), the releases (1), the test cycle trees (``expand=descendants``: 1 at the root, 1 per
  release holding cycles), every test run of the project
  (``GET /test-runs?parentType=root&expand=descendants``, listing pages), the logs of each run
  with logs (``GET /test-runs/{id}/test-logs``, 1 each), the attachments (the attachment search
  ``GET /attachments?type=T``, listing pages per object type; one list per test step log for
  ``test-step-logs``, a type that search does not take) and one size read per uploaded file
  (qTest's attachment lists carry no size).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ztoq.entities import BY_NAME, LOAD_ORDER
from ztoq.mapping import find_step_refs
from ztoq.plan import decode_planned, parse_ref
from ztoq.store import Repository
from ztoq.vendor import QTEST_MAX_PAGE_SIZE, QTEST_SETTINGS_OBJECT_TYPES, ZEPHYR_SERVER_DEFAULT_MAX_RESULTS

#: Zephyr Cloud offset pages: the simulator's ``maxResults`` cap (``ztoq simulate zephyr
#: --max-results-cap``, default 100; the v2 spec lets the server lower ``maxResults``).
CLOUD_PAGE = 100
#: Zephyr Cloud NextGen cursor pages: the largest ``limit`` (the NextGen addendum: at most 1000).
CLOUD_CURSOR_PAGE = 1000
#: Zephyr Server/Data Center search pages (see the module docstring).
SERVER_PAGE = ZEPHYR_SERVER_DEFAULT_MAX_RESULTS
#: qTest Manager v3 pages: "The maximum page size is 999" (Swagger).
QTEST_PAGE = QTEST_MAX_PAGE_SIZE

Dataset = Mapping[str, Any]


def listing_pages(items: int, size: int) -> int:
    """Pages of a listing whose last page says so: ``max(1, ceil(items / size))``."""
    return max(1, math.ceil(items / size))


def search_pages(items: int, size: int) -> int:
    """Pages of a plain array that ends on a shorter page: ``items // size + 1``."""
    return items // size + 1


@dataclass(frozen=True)
class ApiMinimum:
    """The minimum of one API: each term's name and request count, in the order they are sent."""

    api: str
    terms: tuple[tuple[str, int], ...]

    @property
    def total(self) -> int:
        """The minimum number of requests."""
        return sum(n for _, n in self.terms)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def cloud_minimum(dataset: Dataset) -> ApiMinimum:
    """The Zephyr Scale Cloud v2 minimum of a ``--data`` dataset (see the module docstring)."""
    cases = _list(dataset.get("testcases"))
    steps: Mapping[str, Any] = dataset.get("teststeps") or {}
    scripts: Mapping[str, Any] = dataset.get("testscripts") or {}
    results: Mapping[str, Any] = dataset.get("executionsteps") or {}
    plans, cycles = _list(dataset.get("testplans")), _list(dataset.get("testcycles"))
    executions = _list(dataset.get("testexecutions"))
    reference = sum(
        listing_pages(len(_list(dataset.get(name))), CLOUD_PAGE)
        for name in ("folders", "statuses", "priorities", "environments")
    )
    script_calls = sum(
        1 if case["key"] in scripts else listing_pages(len(_list(steps.get(case["key"]))), CLOUD_PAGE)
        for case in cases
        if "testScript" in case
    )
    key_of_version = _cloud_version_keys(dataset)
    result_calls = sum(
        listing_pages(len(_list(results.get(str(execution["id"])))), CLOUD_PAGE)
        for execution in executions
        if _list(steps.get(key_of_version.get(_version_id(execution), "")))
    )
    case_steps = sum(len(_list(steps.get(case["key"]))) for case in cases)
    result_steps = sum(len(_list(results.get(str(e["id"])))) for e in executions)
    owners = len(cases) + case_steps + len(plans) + len(cycles) + len(executions) + result_steps
    return ApiMinimum(
        "zephyr",
        (
            ("project", 1),
            ("reference listings (folders, statuses, priorities, environments)", reference),
            ("test case pages (NextGen)", listing_pages(len(cases), CLOUD_CURSOR_PAGE)),
            ("test scripts (steps or plain/BDD, per test case with a testScript link)", script_calls),
            (
                "plan and cycle listings",
                listing_pages(len(plans), CLOUD_PAGE) + listing_pages(len(cycles), CLOUD_PAGE),
            ),
            ("execution pages (NextGen)", listing_pages(len(executions), CLOUD_CURSOR_PAGE)),
            ("step results (executions of step-by-step test cases)", result_calls),
            (
                "attachment lists (test cases, their steps, plans, cycles, executions, their steps)",
                owners,
            ),
            ("attachment downloads", len(_list(dataset.get("attachments")))),
        ),
    )


def _version_id(execution: Mapping[str, Any]) -> int | None:
    case = execution.get("testCase")
    return case.get("id") if isinstance(case, Mapping) else None


def _cloud_version_keys(dataset: Dataset) -> dict[int | None, str]:
    """Version id -> test case key, over every version (an execution names the version it ran)."""
    keys: dict[int | None, str] = {}
    older: Mapping[str, Any] = dataset.get("testcaseversions") or {}
    for case in _list(dataset.get("testcases")):
        keys[case["id"]] = case["key"]
        for version in _list(older.get(case["key"])):
            keys[version["id"]] = case["key"]
    return keys


def server_minimum(dataset: Dataset) -> ApiMinimum:
    """The Zephyr Scale Server/Data Center v1 minimum of a ``--data`` dataset (see the module docstring)."""
    cases, plans = _list(dataset.get("testCases")), _list(dataset.get("testPlans"))
    runs, results = _list(dataset.get("testRuns")), _list(dataset.get("testResults"))
    case_steps = sum(
        len(_list(script.get("steps")))
        for script in (case.get("testScript") for case in cases)
        if isinstance(script, Mapping) and script.get("type") == "STEP_BY_STEP"
    )
    result_steps = sum(len(_list(result.get("scriptResults"))) for result in results)
    owners = len(cases) + case_steps + len(plans) + len(runs) + len(results) + result_steps
    searches = sum(search_pages(len(found), SERVER_PAGE) for found in (cases, plans, runs))
    return ApiMinimum(
        "zephyr",
        (
            ("project (Jira)", 1),
            ("environments", 1),
            ("test case, plan and run search pages", searches),
            ("test results (one list per test run)", len(runs)),
            ("attachment lists (test cases, their steps, plans, runs, results, their steps)", owners),
            ("attachment downloads", len(_list(dataset.get("attachments")))),
        ),
    )


@dataclass
class TargetPlan:
    """What the plan sends to qTest, as the qTest minimum needs it.

    Attributes:
        entities: planned entity type -> how many are sent (skipped ones are not).
        approvals: test cases planned with ``approve``.
        covered_issues: the Jira keys test cases link as requirements.
        releases_with_cycles: releases test cycles are planned under.
        root_containers: root containers that receive entities ("module", "release", "test-cycle").
        runs_with_logs: test runs that receive test logs.
        attachment_types: qTest object type -> uploads planned onto objects of that type.
        step_log_objects: test step logs that receive files.
        step_lookup_cases: approved test cases whose steps test logs or files are bound to.
    """

    entities: dict[str, int] = field(default_factory=dict)
    approvals: int = 0
    covered_issues: set[str] = field(default_factory=set)
    releases_with_cycles: set[str] = field(default_factory=set)
    root_containers: set[str] = field(default_factory=set)
    runs_with_logs: set[str] = field(default_factory=set)
    attachment_types: Counter[str] = field(default_factory=Counter)
    step_log_objects: set[tuple[str, str]] = field(default_factory=set)
    step_lookup_cases: set[str] = field(default_factory=set)


def target_plan(repo: Repository, project_key: str) -> TargetPlan:
    """Read what the plan of ``project_key`` sends to qTest (the store's planned entities)."""
    plan = TargetPlan()
    approved: set[str] = set()
    for entity_type in LOAD_ORDER:
        sent = 0
        for row in repo.iter_planned(project_key, entity_type):
            entity = decode_planned(row.entity_type, row.source_key, row.payload, level=row.level)
            if entity.skipped:
                continue
            sent += 1
            parent = _ref_text(entity.parent)
            if entity_type == "test_case":
                if entity.approve:
                    plan.approvals += 1
                    approved.add(f"test_case:{entity.source_key}")
                plan.covered_issues.update(entity.requirement_links or ())
            elif entity_type in ("module", "release") and entity.parent is None:
                plan.root_containers.add(entity_type)
            elif entity_type in ("cycle_folder", "test_cycle"):
                ref = parse_ref(entity.parent)
                if ref is not None and ref[0] == "release":
                    plan.releases_with_cycles.add(ref[1])
                elif entity.parent is None or entity.parent_type == "root":
                    plan.root_containers.add("test-cycle")
            elif entity_type == "test_log":
                plan.runs_with_logs.add(parent)
                steps_of = {f"test_case:{key}" for key, _ in find_step_refs(entity.body)}
                plan.step_lookup_cases.update(steps_of & approved)
            elif entity_type == "attachment":
                object_type = str(entity.parent_type)
                plan.attachment_types[object_type] += 1
                if object_type == "test-step-logs":
                    plan.step_log_objects.add((parent, str((entity.body or {}).get("step"))))
                elif object_type == "test-steps" and parent in approved:
                    plan.step_lookup_cases.add(parent)
        plan.entities[entity_type] = sent
    return plan


def _ref_text(value: Any) -> str:
    """A placement as text: ``test_run:PROJ-R1|PROJ-T1`` for a reference, else the value."""
    ref = parse_ref(value)
    return f"{ref[0]}:{ref[1]}" if ref is not None else str(value)


def covered_requirements(issue_keys: Iterable[str], requirement_names: Iterable[str]) -> int:
    """How many requirements are named after the covered issues (the name begins with the key)."""
    keys = list(issue_keys)
    return sum(1 for name in requirement_names if any(_names_issue(name, key) for key in keys))


def _names_issue(name: str, issue_key: str) -> bool:
    # The rule of load_design.RequirementLinker: the key at the start, not followed by more key.
    return re.match(rf"^\s*{re.escape(issue_key)}(?![A-Za-z0-9-])", name, re.IGNORECASE) is not None


def qtest_minimum(plan: TargetPlan, requirement_names: Iterable[str] = ()) -> ApiMinimum:
    """The qTest Manager v3 minimum of a plan (see the module docstring)."""
    count = plan.entities.get
    names = list(requirement_names)
    creates = tuple(
        (f"creates: {BY_NAME[t].plural}" if t != "attachment" else "uploads: attachments", count(t, 0))
        for t in LOAD_ORDER
    )
    linking: tuple[tuple[str, int], ...] = ()
    if plan.covered_issues:
        linking = (
            ("requirement listing", search_pages(len(names), QTEST_PAGE)),
            ("requirement links", covered_requirements(plan.covered_issues, names)),
        )
    uploads = sum(plan.attachment_types.values())
    attachment_lists = len(plan.step_log_objects) + sum(
        listing_pages(n, QTEST_PAGE) for t, n in plan.attachment_types.items() if t != "test-step-logs"
    )
    cycles_at_root = "test-cycle" in plan.root_containers
    validation = (
        ("read back: module tree", 1 if count("module", 0) else 0),
        (
            "read back: test case pages",
            search_pages(count("test_case", 0), QTEST_PAGE) if count("test_case") else 0,
        ),
        ("read back: releases", 1 if count("release", 0) else 0),
        ("read back: test cycle trees", int(cycles_at_root) + len(plan.releases_with_cycles)),
        (
            "read back: test run pages",
            listing_pages(count("test_run", 0), QTEST_PAGE) if count("test_run") else 0,
        ),
        ("read back: test logs (per run with logs)", len(plan.runs_with_logs)),
        ("read back: attachment lists", attachment_lists if uploads else 0),
        ("read back: attachment sizes", uploads),
    )
    return ApiMinimum(
        "qtest",
        (
            ("target settings", 3 + len(QTEST_SETTINGS_OBJECT_TYPES)),
            ("adoption listings (root containers)", len(plan.root_containers)),
            *creates,
            ("approvals", plan.approvals),
            (
                "step lookups (approved test cases whose steps get step logs or files)",
                len(plan.step_lookup_cases),
            ),
            *linking,
            *validation,
        ),
    )
