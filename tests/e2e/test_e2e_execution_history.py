"""Acceptance test of the execution history: every Zephyr execution arrives in qTest as a test log.

A generated project (plus a few hand-made records for the cases the generator leaves out) is
migrated with the real CLI; everything is then proven by reading the qTest simulator's API back:
one test run per (cycle, test case) pair under the right qTest cycle, one test log per execution
that ran, in ``actualEndDate`` order (so the run's last log is the latest execution), with its
status, dates, note and step results; never-run executions have a run and no log. The problems
table holds every degraded case. A second run sends nothing; a new execution in Zephyr becomes
exactly one new log, the run's last.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import Served, serve

from store_queries import get_mapping
from ztoq.cli.main import run
from ztoq.config import load_config
from ztoq.simulators import catalog
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, generate_dataset
from ztoq.store import open_store

pytestmark = pytest.mark.e2e

PROJECT = "DEMO"
ADHOC_CYCLE = "Ad hoc executions"
UNMAPPED_USER = next(u.account_id for u in catalog.USERS if u.qtest_login is None)
MAPPED_USERS = [u.account_id for u in catalog.USERS if u.qtest_login is not None]
#: Zephyr's default execution statuses and their qTest names (docs/mapping.md, Executions).
EQUIVALENT = {
    "Pass": "Passed",
    "Fail": "Failed",
    "Blocked": "Blocked",
    "In Progress": "Incomplete",
    "Not Executed": "Unexecuted",
}
CYCLE_KEY = re.compile(rf"^{PROJECT}-R\d+$")
MARKER = re.compile(r"(?:^|<br\s*/?>)\s*Zephyr key: ([^<\s]+)\s*$")


# -- the dataset ---------------------------------------------------------------------------------------


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def execution_status_ids(data: dict[str, Any]) -> dict[str, int]:
    return {s["name"]: s["id"] for s in data["statuses"] if s.get("_statusType") in (None, "TEST_EXECUTION")}


def build_dataset() -> dict[str, Any]:
    """``generate_dataset(40, seed=5)`` plus the cases the generator never makes.

    * a second ad hoc execution of the ad hoc test case, created later (higher id) but ended
      *earlier*: logs must follow ``actualEndDate``, not ids;
    * an "In Progress" execution *with* an end date (the generator gives In Progress none), in a
      cycle pair with other runs, ended before all of them, by (and assigned to) the unmapped user;
    * a never-run ad hoc execution of another test case (an ad hoc run without a log).
    """
    data = generate_dataset(40, seed=5)
    statuses = execution_status_ids(data)
    executions = data["testexecutions"]
    project = {"id": data["projects"][0]["id"]}
    next_id = max(e["id"] for e in executions) + 1
    next_number = max(int(e["key"].rsplit("E", 1)[1]) for e in executions) + 1
    counts = {tc["key"]: migrated_step_count(data, tc["key"]) for tc in data["testcases"]}
    case_of = version_keys(data)

    def add(execution: dict[str, Any], steps: list[dict[str, Any]]) -> None:
        nonlocal next_id, next_number
        execution = {"id": next_id, "key": f"{PROJECT}-E{next_number}", "project": dict(project), **execution}
        executions.append(execution)
        data["executionsteps"][str(next_id)] = steps
        data["links"][execution["key"]] = {"issues": []}
        next_id += 1
        next_number += 1

    def restated(
        steps: list[dict[str, Any]], names: list[str], actual: dict[int, str]
    ) -> list[dict[str, Any]]:
        out = []
        for index, step in enumerate(steps):
            inline = {k: v for k, v in step["inline"].items() if k not in ("status", "actualResult")}
            inline["status"] = {"id": statuses[names[index]]}
            if index in actual:
                inline["actualResult"] = actual[index]
            out.append({"inline": inline})
        return out

    adhoc = next(e for e in executions if not e.get("testCycle") and e.get("actualEndDate"))
    adhoc_steps = data["executionsteps"][str(adhoc["id"])]
    add(
        {
            "testCase": dict(adhoc["testCase"]),
            "testExecutionStatus": {"id": statuses["Fail"]},
            "actualEndDate": _stamp(_when(adhoc["actualEndDate"]) - timedelta(days=1)),
            "executionTime": 125000,
            "executedById": MAPPED_USERS[0],
            "comment": "First ad hoc attempt\nfailed before the fix",
            "automated": False,
            "customFields": {},
        },
        restated(
            adhoc_steps,
            ["Fail"] + ["Not Executed"] * (len(adhoc_steps) - 1),
            {0: "Wrong total: 109.90 instead of 99.90"},
        ),
    )

    pairs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for e in executions:
        if e.get("testCycle"):
            pairs.setdefault((e["testCycle"]["id"], case_of[e["testCase"]["id"]]), []).append(e)
    # A pair whose runs have step logs (their step counts match), so "In Progress" steps show too.
    _, target = next(
        (pair, group)
        for pair, group in sorted(pairs.items(), key=lambda item: (-len(item[1]), item[0]))
        if all(e.get("actualEndDate") for e in group)
        and all(len(data["executionsteps"][str(e["id"])]) == counts[pair[1]] > 1 for e in group)
    )
    first = min(target, key=lambda e: _when(e["actualEndDate"]))
    first_steps = data["executionsteps"][str(first["id"])]
    add(
        {
            "testCase": dict(first["testCase"]),
            "environment": {"id": data["environments"][0]["id"]},
            "testExecutionStatus": {"id": statuses["In Progress"]},
            "actualEndDate": _stamp(_when(first["actualEndDate"]) - timedelta(hours=1)),
            "executionTime": 600000,
            "executedById": UNMAPPED_USER,
            "assignedToId": UNMAPPED_USER,
            "comment": "Interrupted: the session expired.",
            "automated": False,
            "testCycle": dict(first["testCycle"]),
            "customFields": {},
        },
        restated(
            first_steps,
            ["Pass", "In Progress"] + ["Not Executed"] * (len(first_steps) - 2),
            {0: "As expected"},
        ),
    )

    ran_adhoc = {case_of[e["testCase"]["id"]] for e in executions if not e.get("testCycle")}
    other = next(tc for tc in data["testcases"] if tc["key"] not in ran_adhoc)
    add(
        {
            "testCase": {"id": other["id"]},
            "testExecutionStatus": {"id": statuses["Not Executed"]},
            "assignedToId": MAPPED_USERS[1],
            "automated": False,
            "customFields": {},
        },
        [],
    )
    return data


def version_keys(data: dict[str, Any]) -> dict[int, str]:
    """Every test case version id -> its test case key (executions name the version they ran)."""
    found = {tc["id"]: tc["key"] for tc in data["testcases"]}
    for key, versions in (data.get("testcaseversions") or {}).items():
        for version in versions:
            found[version["id"]] = key
    return found


def migrated_step_count(data: dict[str, Any], key: str) -> int:
    """How many qTest steps the test case gets: one per Zephyr step item (a call is one), or the script."""
    steps = (data.get("teststeps") or {}).get(key) or []
    if steps:
        return len(steps)
    return 1 if key in (data.get("testscripts") or {}) else 0


# -- what the dataset says must arrive -----------------------------------------------------------------


@dataclass
class Expected:
    """The Zephyr history as the mapping rules say qTest must show it."""

    data: dict[str, Any]
    status_overrides: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = self.data
        self.status_names = {s["id"]: s["name"] for s in data["statuses"]}
        self.case_of = version_keys(data)
        self.cycle_keys = {c["id"]: c["key"] for c in data["testcycles"]}
        self.plan_keys = {p["id"]: p["key"] for p in data["testplans"]}
        self.step_counts = {tc["key"]: migrated_step_count(data, tc["key"]) for tc in data["testcases"]}
        self.executions = list(data["testexecutions"])

    def pair(self, execution: dict[str, Any]) -> tuple[str, str]:
        cycle = execution.get("testCycle")
        cycle_key = self.cycle_keys[cycle["id"]] if cycle else "adhoc"
        return cycle_key, self.case_of[execution["testCase"]["id"]]

    def status(self, execution: dict[str, Any]) -> str:
        return self.status_names[execution["testExecutionStatus"]["id"]]

    def steps(self, execution: dict[str, Any]) -> list[dict[str, Any]]:
        return self.data["executionsteps"].get(str(execution["id"])) or []

    def ran(self, execution: dict[str, Any]) -> bool:
        """Has an end date, so it is a qTest log."""
        return bool(execution.get("actualEndDate"))

    def never_run(self, execution: dict[str, Any]) -> bool:
        return not self.ran(execution) and self.status(execution) == "Not Executed"

    def without_end_date(self, execution: dict[str, Any]) -> bool:
        """A result with a status but no end date: no log, Problem execution_without_end_date."""
        return not self.ran(execution) and not self.never_run(execution)

    def custom(self, zephyr_status: str) -> bool:
        return zephyr_status not in EQUIVALENT and zephyr_status not in self.status_overrides

    def qtest_status(self, zephyr_status: str | None, default: str) -> str:
        if zephyr_status is None:
            return default
        if zephyr_status in self.status_overrides:
            return self.status_overrides[zephyr_status]
        return EQUIVALENT.get(zephyr_status, default)

    def steps_in_note(self, execution: dict[str, Any]) -> bool:
        steps = self.steps(execution)
        return bool(steps) and len(steps) != self.step_counts[self.pair(execution)[1]]

    def step_status(self, step: dict[str, Any]) -> str | None:
        status = step["inline"].get("status")
        return self.status_names[status["id"]] if status else None

    def pairs(self) -> dict[tuple[str, str], list[dict[str, Any]]]:
        """(cycle key or "adhoc", test case key) -> its executions."""
        found: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for execution in self.executions:
            found.setdefault(self.pair(execution), []).append(execution)
        return found

    def cycle_plans(self, cycle: dict[str, Any]) -> list[str]:
        """Plan keys a cycle is linked to: the cycle side first, in link order, then the plan side."""
        keys: list[str] = []
        for link in (self.data["links"].get(cycle["key"]) or {}).get("testPlans") or []:
            keys.append(self.plan_keys[link["testPlanId"]])
        for plan in self.data["testplans"]:
            for link in (self.data["links"].get(plan["key"]) or {}).get("testCycles") or []:
                if link["testCycleId"] == cycle["id"]:
                    keys.append(plan["key"])
        return list(dict.fromkeys(keys))

    def degraded(self) -> dict[str, set[tuple[str, str]]]:
        """Problem code -> the (entity type, source key) that must carry it."""
        out: dict[str, set[tuple[str, str]]] = {
            "execution_status_defaulted": set(),
            "unmapped_user": set(),
            "step_results_in_note": set(),
            "execution_without_end_date": set(),
            "multiple_plans": set(),
        }
        for e in self.executions:
            entity = ("test_log", e["key"])
            if self.without_end_date(e):
                out["execution_without_end_date"].add(entity)
            if not self.ran(e):
                continue
            step_custom = not self.steps_in_note(e) and any(
                (name := self.step_status(s)) is not None and self.custom(name) for s in self.steps(e)
            )
            if self.custom(self.status(e)) or step_custom:
                out["execution_status_defaulted"].add(entity)
            if UNMAPPED_USER in (e.get("executedById"), e.get("assignedToId")):
                out["unmapped_user"].add(entity)
            if self.steps_in_note(e):
                out["step_results_in_note"].add(entity)
        for cycle in self.data["testcycles"]:
            if len(self.cycle_plans(cycle)) > 1:
                out["multiple_plans"].add(("test_cycle", cycle["key"]))
        return out


# -- what qTest holds ----------------------------------------------------------------------------------


def marker(text: str | None) -> str | None:
    """The Zephyr key on the last line of a description or note."""
    match = MARKER.search(text or "")
    return match.group(1) if match else None


def zephyr_key(entity: dict[str, Any]) -> str | None:
    """The Zephyr key of a qTest entity: its "Zephyr Key" field when the target has one, else the marker."""
    props = {p["field_name"]: p.get("field_value") for p in entity.get("properties") or []}
    return props.get("Zephyr Key") or marker(entity.get("description"))


@dataclass
class QTestHistory:
    """The migrated history read back from qTest's API."""

    releases: dict[str, dict[str, Any]]
    #: Zephyr cycle key (or "adhoc") -> (qTest cycle, its parent: ("release", plan key) or
    #: ("folder", folder id or "root")).
    cycles: dict[str, tuple[dict[str, Any], tuple[str, str]]]
    #: (cycle key, test case key) -> the qTest run.
    runs: dict[tuple[str, str], dict[str, Any]]
    #: qTest run id -> its logs in the order qTest lists them (submission order).
    logs: dict[int, list[dict[str, Any]]]
    #: qTest test case id -> (Zephyr key, steps of the latest version by order).
    cases: dict[int, tuple[str, list[dict[str, Any]]]]
    statuses: list[dict[str, Any]]
    total_runs: int


def read_qtest(api: httpx.Client) -> QTestHistory:
    releases: dict[str, dict[str, Any]] = {}
    cycles: dict[str, tuple[dict[str, Any], tuple[str, str]]] = {}

    def walk(cycle: dict[str, Any], parent: tuple[str, str]) -> None:
        key = marker(cycle.get("description"))
        if key is not None and CYCLE_KEY.match(key):
            assert key not in cycles, f"cycle {key} exists twice in qTest"
            cycles[key] = (cycle, parent)
            label = ("cycle", key)
        elif cycle["name"] == ADHOC_CYCLE and parent == ("folder", "root"):
            assert "adhoc" not in cycles, "two ad hoc cycles"
            cycles["adhoc"] = (cycle, parent)
            label = ("cycle", "adhoc")
        else:
            label = ("folder", key or "root")
        for child in cycle.get("test-cycles") or []:
            walk(child, label)

    for release in api.get("/releases", params={"includeClosed": "true"}).json():
        key = zephyr_key(release)
        assert key, f"release {release['id']} carries no Zephyr key"
        assert key not in releases, f"release {key} exists twice in qTest"
        releases[key] = release
        listed = api.get(
            "/test-cycles",
            params={"parentId": release["id"], "parentType": "release", "expand": "descendants"},
        ).json()
        for cycle in listed:
            walk(cycle, ("release", key))
    for cycle in api.get("/test-cycles", params={"expand": "descendants"}).json():
        if cycle["name"] == PROJECT and marker(cycle.get("description")) is None:
            walk(cycle, ("root", ""))

    cases: dict[int, tuple[str, list[dict[str, Any]]]] = {}
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    logs: dict[int, list[dict[str, Any]]] = {}
    for cycle_key, (cycle, _) in cycles.items():
        listed = api.get(
            "/test-runs", params={"parentId": cycle["id"], "parentType": "test-cycle", "pageSize": 999}
        ).json()
        assert listed["total"] == len(listed["items"])
        for item in listed["items"]:
            case_id = item["testCaseId"]
            if case_id not in cases:
                case = api.get(f"/test-cases/{case_id}", params={"expand": "teststep"}).json()
                props = {p["field_name"]: p.get("field_value") for p in case.get("properties") or []}
                steps = sorted(case.get("test_steps") or [], key=lambda s: s["order"])
                cases[case_id] = (props["Zephyr Key"], steps)
            pair = (cycle_key, cases[case_id][0])
            assert pair not in runs, f"two runs for {pair}"
            runs[pair] = item
            page = api.get(f"/test-runs/{item['id']}/test-logs", params={"pageSize": 999}).json()
            assert page["total"] == len(page["items"])
            logs[item["id"]] = page["items"]
    statuses = api.get("/test-runs/execution-statuses").json()
    total = api.get("/test-runs", params={"pageSize": 1}).json()["total"]
    return QTestHistory(releases, cycles, runs, logs, cases, statuses, total)


# -- the proof -----------------------------------------------------------------------------------------


def step_table(note: str) -> list[list[str]]:
    """The rows (cells) of the step results table kept in a note."""
    start = note.index("<th>#</th><th>Step</th><th>Expected</th><th>Status</th><th>Actual result</th>")
    segment = note[start : note.index("</table>", start)]
    return [re.findall(r"<td>(.*?)</td>", row, re.S) for row in re.findall(r"<tr>(.*?)</tr>", segment, re.S)]


def html(text: str | None) -> str:
    """Plain Zephyr text as it must appear in qTest rich text (newlines become ``<br>``)."""
    return re.sub(r"\r\n|\r|\n", "<br>", text or "")


def check_history(api: httpx.Client, expected: Expected) -> QTestHistory:
    """Prove, for every Zephyr execution, what qTest shows; returns what was read."""
    got = read_qtest(api)
    data = expected.data
    status_by_name = {s["name"]: s for s in got.statuses}
    default = next(s["name"] for s in got.statuses if s.get("is_default"))

    # Plans, cycles and where they are.
    assert set(got.releases) == {p["key"] for p in data["testplans"]}, "one release per test plan"
    assert set(got.cycles) - {"adhoc"} == {c["key"] for c in data["testcycles"]}, "one cycle per Zephyr cycle"
    for cycle in data["testcycles"]:
        qcycle, parent = got.cycles[cycle["key"]]
        assert qcycle["name"] == cycle["name"]
        plans = expected.cycle_plans(cycle)
        if plans:
            assert parent == ("release", plans[0]), cycle["key"]
            for other in plans[1:]:
                assert other in qcycle["description"], (cycle["key"], "other plans named in the description")
        else:
            folder = (cycle.get("folder") or {}).get("id")
            assert parent == ("folder", str(folder) if folder is not None else "root"), cycle["key"]
    pairs = expected.pairs()
    if any(cycle_key == "adhoc" for cycle_key, _ in pairs):
        assert got.cycles["adhoc"][1] == ("folder", "root"), "the ad hoc cycle sits under the root cycle"

    # One run per (cycle, test case) pair, nothing else.
    assert set(got.runs) == set(pairs), "one run per (cycle, test case) pair"
    assert got.total_runs == len(pairs), "no run anywhere else in the project"
    ran = [e for e in expected.executions if expected.ran(e)]
    assert sum(len(v) for v in got.logs.values()) == len(ran), "one log per execution that ran"

    for pair, group in pairs.items():
        qrun = got.runs[pair]
        case_key, case_steps = got.cases[qrun["testCaseId"]]
        assert case_key == pair[1]
        assert len(case_steps) == expected.step_counts[case_key], case_key
        logs = got.logs[qrun["id"]]
        by_key: dict[str, list[dict[str, Any]]] = {}
        for log in logs:
            by_key.setdefault(marker(log["note"]) or "(no key)", []).append(log)
        logged = sorted(
            (e for e in group if expected.ran(e)), key=lambda e: (_when(e["actualEndDate"]), e["id"])
        )
        assert set(by_key) == {e["key"] for e in logged}, (
            pair,
            "the logs are exactly the executions that ran",
        )
        for execution in group:
            if not expected.ran(execution):
                assert execution["key"] not in by_key, (execution["key"], "never ran: no log")
                continue
            assert len(by_key[execution["key"]]) == 1, (execution["key"], "exactly one log")
            check_log(expected, execution, by_key[execution["key"]][0], case_steps, status_by_name, default)
        # Oldest first: qTest lists logs in submission order, so the last is the latest execution.
        assert [marker(log["note"]) for log in logs] == [e["key"] for e in logged], pair
        if logged:
            latest = max(logs, key=lambda log: _when(log["exe_end_date"]))
            assert marker(latest["note"]) == logged[-1]["key"], pair
            last = api.get(f"/test-runs/{qrun['id']}/test-logs/last-run").json()
            assert last["id"] == latest["id"], (pair, "last-run is the latest execution")
            assert qrun["latest_test_log"]["id"] == latest["id"]
        else:
            assert api.get(f"/test-runs/{qrun['id']}/test-logs/last-run").status_code == 404
    return got


def check_log(
    expected: Expected,
    execution: dict[str, Any],
    log: dict[str, Any],
    case_steps: list[dict[str, Any]],
    status_by_name: dict[str, dict[str, Any]],
    default: str,
) -> None:
    key, note = execution["key"], log["note"]
    zephyr_status = expected.status(execution)
    want = expected.qtest_status(zephyr_status, default)
    assert log["status"]["id"] == status_by_name[want]["id"], (key, zephyr_status, log["status"])
    end = _when(execution["actualEndDate"])
    assert _when(log["exe_end_date"]) == end, key
    elapsed = execution.get("executionTime") or 0
    assert _when(log["exe_start_date"]) == end - timedelta(milliseconds=elapsed), key
    assert marker(note) == key, key
    assert note.rstrip().endswith(f"Zephyr key: {key}"), key
    if execution.get("comment"):
        assert note.startswith(html(execution["comment"])), (key, "the comment opens the note")
    if expected.custom(zephyr_status):
        assert zephyr_status in note, (key, "the Zephyr status is kept in the note")
    for member in ("executedById", "assignedToId"):
        if execution.get(member) == UNMAPPED_USER:
            assert UNMAPPED_USER in note, (key, member, "the unmapped user is named in the note")
    steps = expected.steps(execution)
    step_logs = sorted(log["test_step_logs"], key=lambda s: s["order"])
    if expected.steps_in_note(execution):
        assert step_logs == [], (key, "step results that do not match go to the note")
        rows = step_table(note)
        assert len(rows) == len(steps), key
        for order, (row, step) in enumerate(zip(rows, steps, strict=True), 1):
            assert row[0] == str(order)
            assert row[3] == (expected.step_status(step) or ""), (key, order)
            assert row[4] == html(step["inline"].get("actualResult")), (key, order)
        return
    assert "<th>Actual result</th>" not in note, key
    assert len(step_logs) == len(steps), (key, "one step log per step result")
    for order, (step_log, step) in enumerate(zip(step_logs, steps, strict=True), 1):
        assert step_log["order"] == order
        assert step_log["test_step_id"] == case_steps[order - 1]["id"], (key, order, "bound to the step")
        step_want = expected.qtest_status(expected.step_status(step), default)
        assert step_log["status"]["name"] == step_want, (key, order)
        assert step_log["actual_result"] == html(step["inline"].get("actualResult")), (key, order)


def transform_problems(served: Served) -> set[tuple[str, str, str]]:
    cfg = load_config(served.workdir / "config.yaml")
    with open_store(cfg.database) as store, store.session() as repo:
        return {(p.entity_type, p.source_key, p.code) for p in repo.iter_problems(PROJECT, phase="transform")}


def check_problems(served: Served, expected: Expected) -> None:
    problems = transform_problems(served)
    for code, entities in expected.degraded().items():
        assert entities, f"the dataset has no case of {code}"
        # Test cases, plans and cycles have degraded values of their own (owners, fields): compare
        # on the entity type the code is expected on (test logs, or test cycles for multiple_plans).
        types = {entity_type for entity_type, _ in entities}
        got = {(entity_type, key) for entity_type, key, c in problems if c == code and entity_type in types}
        assert got == entities, code


# -- helpers -------------------------------------------------------------------------------------------


def migrate(served: Served, database: dict[str, Any], **changes: Any) -> int:
    return run(["migrate", "run", "--config", str(served.config(database, **changes)), "--quiet"])


def writes(served: Served) -> Counter[tuple[str, str]]:
    counted: Counter[tuple[str, str]] = Counter()
    for (method, template, _status), n in served.qtest.stats.by_endpoint.items():
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            counted[(method, template)] += n
    return counted


@contextmanager
def served_on(tmp_path: Path, data: dict[str, Any]) -> Iterator[Served]:
    """Both simulators served for ``data``, stopped when the block ends (also on failure)."""
    running = serve(tmp_path, data)
    try:
        yield next(running)
    finally:
        running.close()


def zephyr_api(served: Served) -> httpx.Client:
    return httpx.Client(
        base_url=f"{served.zephyr_url}/v2",
        headers={"Authorization": f"Bearer {DEFAULT_ZEPHYR_TOKEN}"},
        timeout=30,
    )


@pytest.fixture
def dataset() -> dict[str, Any]:
    return build_dataset()


def ids(history: QTestHistory) -> tuple[dict[tuple[str, str], int], dict[int, list[int]]]:
    """Run ids by pair and log ids by run, to compare two readings."""
    return (
        {pair: qrun["id"] for pair, qrun in history.runs.items()},
        {run_id: [log["id"] for log in logs] for run_id, logs in history.logs.items()},
    )


def forget(served: Served, entity_type: str, source_key: str) -> None:
    """Leave an entity as a crash between its create and the recorded answer leaves it: an intent."""
    cfg = load_config(served.workdir / "config.yaml")
    with open_store(cfg.database) as store, store.session() as repo:
        planned = repo.get_planned(PROJECT, entity_type, source_key)
        assert planned is not None, (entity_type, source_key)
        assert repo.mark_deleted(PROJECT, entity_type, source_key)
        repo.record_intent(PROJECT, entity_type, source_key, planned.content_hash)
        mapping = get_mapping(repo, PROJECT, entity_type, source_key)
        assert mapping is not None
        assert (mapping.state, mapping.target_id) == ("intent", None)


def add_execution(served: Served, pair: tuple[str, str], end: datetime) -> tuple[dict[str, Any], list[Any]]:
    """A passing-then-failing execution of ``pair`` through Zephyr's write API; returns it and its steps."""
    steps = served.dataset["teststeps"][pair[1]]
    results: list[dict[str, Any]] = [
        {"statusName": "Pass", "actualResult": f"step {n} ok"} for n in range(1, len(steps))
    ]
    results.append({"statusName": "Fail", "actualResult": "The confirmation message never appears"})
    body = {
        "projectKey": PROJECT,
        "testCaseKey": pair[1],
        "testCycleKey": pair[0],
        "statusName": "Fail",
        "actualEndDate": _stamp(end),
        "executionTime": 90000,
        "executedById": MAPPED_USERS[2],
        "comment": "Regression found after the upgrade.",
        "testScriptResults": results,
    }
    with zephyr_api(served) as zephyr:
        created = zephyr.post("/testexecutions", json=body)
        assert created.status_code == 201, created.text
        key = created.json()["key"]
        execution = zephyr.get(f"/testexecutions/{key}").json()
        page = zephyr.get(f"/testexecutions/{key}/teststeps", params={"maxResults": 100}).json()
    assert [s["inline"].get("actualResult") for s in page["values"]] == [r["actualResult"] for r in results]
    return execution, page["values"]


def test_the_dataset_holds_every_case() -> None:
    expected = Expected(build_dataset())
    pairs = expected.pairs()
    executions = expected.executions
    statuses = Counter(expected.status(e) for e in executions)
    assert set(EQUIVALENT) | {"Retest Needed"} <= set(statuses), statuses
    assert any(sum(map(expected.ran, group)) > 1 for pair, group in pairs.items() if pair[0] != "adhoc")
    assert any(sum(map(expected.ran, group)) > 1 for pair, group in pairs.items() if pair[0] == "adhoc")
    assert any(expected.never_run(e) and expected.pair(e)[0] != "adhoc" for e in executions)
    assert any(expected.never_run(e) and expected.pair(e)[0] == "adhoc" for e in executions)
    assert any(expected.ran(e) and expected.status(e) == "In Progress" for e in executions)
    assert any(expected.ran(e) and not expected.steps_in_note(e) and expected.steps(e) for e in executions)
    assert any(expected.ran(e) and e.get("comment") for e in executions)
    # Ids and end dates disagree somewhere, so the order proven is the end dates'.
    assert any(
        sorted(g, key=lambda e: e["id"]) != sorted(g, key=lambda e: _when(e["actualEndDate"]))
        for g in ([e for e in group if expected.ran(e)] for group in pairs.values())
    )
    plans = [expected.cycle_plans(c) for c in expected.data["testcycles"]]
    assert {0, 1, 2} <= {len(p) for p in plans}, "cycles in no plan, one plan and two plans"
    assert all(expected.degraded().values()), {k: len(v) for k, v in expected.degraded().items()}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_every_execution_is_a_log_in_order_and_only_new_ones_are_sent_again(
    served: Served, database: dict[str, Any]
) -> None:
    expected = Expected(served.dataset)
    assert migrate(served, database) == 0
    with served.qtest_api() as api:
        first = check_history(api, expected)
    check_problems(served, expected)

    # A second run creates and updates nothing.
    before = writes(served)
    assert migrate(served, database) == 0
    assert writes(served) == before, "a second run sends no create or update"
    with served.qtest_api() as api:
        assert ids(read_qtest(api)) == ids(first)

    # A new execution of an existing (cycle, test case) pair, later than every other: its test
    # case runs plain inline steps (no calls, no test data) so Zephyr's write API records step
    # results, and the pair already has a log.
    data = served.dataset
    plain = {
        key
        for key, steps in data["teststeps"].items()
        if steps and all("inline" in s and not s["inline"].get("testData") for s in steps)
    }
    pair = next(
        p
        for p, group in expected.pairs().items()
        if p[0] != "adhoc" and p[1] in plain and any(map(expected.ran, group))
    )
    latest = max(_when(e["actualEndDate"]) for e in expected.executions if expected.ran(e))
    execution, steps = add_execution(served, pair, latest + timedelta(days=3))
    grown = copy.deepcopy(data)
    grown["testexecutions"].append(execution)
    grown["executionsteps"][str(execution["id"])] = steps

    sent = writes(served)
    assert migrate(served, database) == 0
    created = {k: n for k, n in (writes(served) - sent).items() if k[0] == "POST"}
    assert list(created.values()) == [1], created
    assert next(iter(created))[1].endswith("/test-logs"), created

    with served.qtest_api() as api:
        after = check_history(api, Expected(grown))
        qrun = after.runs[pair]
        runs_before, logs_before = ids(first)
        runs_after, logs_after = ids(after)
        assert runs_after == runs_before, "no run is created or replaced"
        new = {log_id for logs in logs_after.values() for log_id in logs} - {
            log_id for logs in logs_before.values() for log_id in logs
        }
        assert len(new) == 1, "exactly one new log"
        assert logs_after[qrun["id"]] == [*logs_before[qrun["id"]], *new], "on the existing run, last"
        last = api.get(f"/test-runs/{qrun['id']}/test-logs/last-run").json()
        assert last["id"] in new
        assert marker(last["note"]) == execution["key"]
        assert last["status"]["name"] == "Failed"
    check_problems(served, Expected(grown))


def test_a_configured_execution_status_mapping_wins(tmp_path: Path) -> None:
    data = build_dataset()
    expected = Expected(data, status_overrides={"Retest Needed": "Failed"})
    with served_on(tmp_path, data) as served:
        database = {"type": "sqlite", "path": str(tmp_path / "m.db")}
        assert migrate(served, database, mappings={"execution_status": {"Retest Needed": "Failed"}}) == 0
        with served.qtest_api() as api:
            check_history(api, expected)
        problems = transform_problems(served)
        assert not [p for p in problems if p[2] == "execution_status_defaulted"], "nothing is defaulted"
        assert any(expected.ran(e) and expected.status(e) == "Retest Needed" for e in expected.executions)


def test_runs_logs_and_cycles_sent_before_a_crash_are_adopted_not_duplicated(tmp_path: Path) -> None:
    data = generate_dataset(12, seed=5)
    expected = Expected(data)
    with served_on(tmp_path, data) as served:
        database = {"type": "sqlite", "path": str(tmp_path / "m.db")}
        assert migrate(served, database) == 0
        with served.qtest_api() as api:
            first = read_qtest(api)
        pair, group = next(
            (p, g) for p, g in expected.pairs().items() if p[0] != "adhoc" and any(map(expected.ran, g))
        )
        last = max((e for e in group if expected.ran(e)), key=lambda e: _when(e["actualEndDate"]))
        forget(served, "test_cycle", pair[0])
        forget(served, "test_cycle", "adhoc")
        forget(served, "test_run", "|".join(pair))
        forget(served, "test_log", last["key"])
        before = writes(served)
        assert migrate(served, database) == 0
        assert writes(served) == before, "found in qTest by their Zephyr keys: nothing is sent again"
        with served.qtest_api() as api:
            again = check_history(api, expected)
        assert ids(again) == ids(first)


def test_a_release_sent_before_a_crash_is_adopted_not_duplicated(tmp_path: Path) -> None:
    # The generated target has a "Zephyr Key" release field, so the key is there, not in the description.
    data = generate_dataset(12, seed=5)
    with served_on(tmp_path, data) as served:
        database = {"type": "sqlite", "path": str(tmp_path / "m.db")}
        assert migrate(served, database) == 0
        plan = data["testplans"][0]["key"]
        forget(served, "release", plan)
        code = migrate(served, database)
        with served.qtest_api() as api:
            keys = [zephyr_key(r) for r in api.get("/releases", params={"includeClosed": "true"}).json()]
        assert sorted(keys) == sorted(p["key"] for p in data["testplans"]), "one release per test plan"
        assert code == 0, "validation finds nothing wrong"


def test_a_never_run_execution_assigned_to_an_unmapped_user_is_reported(tmp_path: Path) -> None:
    data = generate_dataset(12, seed=5)
    cycle, case = data["testcycles"][0], data["testcases"][-1]
    pair = (cycle["key"], case["key"])
    assert pair not in Expected(data).pairs(), "the execution below is the only one of its run"
    execution = {
        "id": max(e["id"] for e in data["testexecutions"]) + 1,
        "key": f"{PROJECT}-E{len(data['testexecutions']) + 100}",
        "project": {"id": data["projects"][0]["id"]},
        "testCase": {"id": case["id"]},
        "testExecutionStatus": {"id": execution_status_ids(data)["Not Executed"]},
        "assignedToId": UNMAPPED_USER,
        "automated": False,
        "testCycle": {"id": cycle["id"]},
        "customFields": {},
    }
    data["testexecutions"].append(execution)
    data["executionsteps"][str(execution["id"])] = []
    data["links"][execution["key"]] = {"issues": []}
    with served_on(tmp_path, data) as served:
        database = {"type": "sqlite", "path": str(tmp_path / "m.db")}
        assert migrate(served, database) == 0
        with served.qtest_api() as api:
            history = read_qtest(api)
        assert history.logs[history.runs[pair]["id"]] == [], (
            "never run: no log, so no note names the assignee"
        )
        assigned = {p["field_name"]: p for p in history.runs[pair]["properties"]}["Assigned To"]
        # Today the run says the default user (the admin) is assigned, and nothing records who was.
        problems = transform_problems(served)
        assert ("test_run", "|".join(pair), "unmapped_user") in problems, (assigned, "the assignee is lost")


def test_an_edited_execution_updates_its_log_in_place(tmp_path: Path) -> None:
    data = generate_dataset(12, seed=5)
    expected = Expected(data)
    execution = next(e for e in expected.executions if expected.ran(e))
    comment = "Re-checked after the hotfix: passes."
    edited = copy.deepcopy(data)
    next(e for e in edited["testexecutions"] if e["key"] == execution["key"])["comment"] = comment
    with served_on(tmp_path, data) as served:
        database = {"type": "sqlite", "path": str(tmp_path / "m.db")}
        assert migrate(served, database) == 0
        with served.qtest_api() as api:
            first = read_qtest(api)
        with zephyr_api(served) as zephyr:
            answer = zephyr.put(f"/testexecutions/{execution['key']}", json={"comment": comment})
            assert answer.status_code == 200, answer.text
        assert migrate(served, database) == 0
        cfg = load_config(served.workdir / "config.yaml")
        with open_store(cfg.database) as store, store.session() as repo:
            failed = [(p.source_key, p.message) for p in repo.iter_problems(PROJECT, severity="failed")]
        assert failed == [], "the edited execution's log is sent"
        with served.qtest_api() as api:
            again = check_history(api, Expected(edited))
        assert ids(again) == ids(first), "the log is updated in place, not created again"
