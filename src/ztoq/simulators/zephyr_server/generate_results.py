"""The generated Server project's history: test plans, test runs and their test results.

Test runs (about n/8) run through 2024 in run folders, each with about ``1.2 * n / runs`` items
(a test case, mostly an environment and an assignee); the last run has no items. Every item has
at least one result: a ``Not Executed`` one without dates when it never ran, else one run, or two
or three when earlier runs failed. Result ids follow the order results were made, so a run's
results are oldest first by id. A result records the major version current when it ran, and its
``scriptResults`` cover every step of a step-by-step script, once per data row for a data-driven
test case (row ``r``, step ``s`` of an ``n``-step script: index ``r * n + s``). Test cases deleted
after they ran are still named by items and results of the early runs. Test plans (about n/25)
hold most runs. The first run's first items are scripted so even a small project has re-runs, a
never-run item, a failure with defects, a blocked and an in-progress result.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ztoq.simulators import catalog
from ztoq.simulators.zephyr import vocabulary as words

if TYPE_CHECKING:
    from ztoq.simulators.zephyr_server.generate import CaseGenerator

Entity = dict[str, Any]
#: Plans, runs and results come in 2024 (the test cases were written over 2023).
RUNS_START = datetime(2024, 1, 8, 8, 0, tzinfo=UTC)
#: Run and plan folder paths (some with spaces, a dash and an emoji; three levels at most).
RUN_FOLDERS: tuple[str, ...] = (
    "/Releases",
    "/Releases/2024.1",
    "/Releases/2024.1/Hotfixes",
    "/Releases/2024.2",
    "/Sprints",
    "/Sprints/Q1",
    "/Sprints/Q2",
    "/Sprints/Q3 – Überblick",
    "/Nightly",
)
PLAN_FOLDERS = ("/Release plans", "/Release plans/2024", "/Release plans/2024/Mobile 📱", "/Audits")
RESULT_STATUSES = ("Pass", "Fail", "Blocked", "In Progress", "Not Executed")
_FINAL, _FINAL_WEIGHTS = ("Pass", "Fail", "Blocked", "In Progress"), (64, 18, 9, 9)
_EARLIER = ("Fail", "Blocked", "Fail")
#: Outcomes of the first run's first items, oldest first.
_SCRIPTED: tuple[tuple[str, ...], ...] = (
    ("Fail", "Pass"),
    ("Pass",),
    ("Not Executed",),
    ("Fail",),
    ("Blocked", "Fail", "Pass"),
    ("In Progress",),
    ("Blocked",),
    ("Pass",),
)
#: Result comments that agree with the result's status (texts from the Cloud vocabulary).
_COMMENTS = {
    "Pass": (words.COMMENTS[0], words.COMMENTS[4]),
    "Fail": (words.COMMENTS[1], "<p>crashed</p>"),
    "Blocked": (words.COMMENTS[2],),
    "In Progress": ("Paused: waiting for the test data refresh.",),
    "Not Executed": (words.COMMENTS[3],),
}
_FINISHED = frozenset(("Pass", "Fail", "Blocked"))


def server_datetime(moment: datetime) -> str:
    """Format a moment as Server serves it: ISO-8601 in UTC with milliseconds and ``Z``."""
    moment = moment.astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond // 1000:03d}Z"


class HistoryGenerator:
    """Adds test plans, test runs with their items, and test results to generated test cases."""

    def __init__(self, cases: CaseGenerator) -> None:
        self.g = cases
        self.rng = cases.rng
        self.plans: list[Entity] = []
        self.runs: list[Entity] = []
        self.results: list[Entity] = []
        self._windows: list[tuple[datetime, datetime]] = []
        self._planned: list[tuple[datetime, int, Entity]] = []
        self._by_key = {case["key"]: case for case in (*cases.cases, *cases.deleted)}
        self._last_status: dict[str, str] = {}
        self._last_time: dict[int, int] = {}  # item id -> execution time of its latest result

    def build(self) -> None:
        if not self.g.cases:
            return
        self._runs()
        self._plans()
        next_item = 7001
        for j, run in enumerate(self.runs):
            next_item = self._items(j, run, next_item)
        self._planned.sort(key=lambda planned: (planned[0], planned[1]))
        for number, (moment, _seq, spec) in enumerate(self._planned):
            self._result(10001 + number, moment, spec)
        self._finish()

    # -- runs and plans ---------------------------------------------------------------------------------

    def _runs(self) -> None:
        g, rng = self.g, self.rng
        count = max(2, g.count // 8)
        for j in range(count):
            start = RUNS_START + timedelta(hours=330 * 24 * j // count)
            end = start + timedelta(days=rng.randint(5, 14))
            run: Entity = {
                "key": f"{g.key}-C{j + 1}",
                "projectKey": g.key,
                "name": rng.choice(words.CYCLE_NAMES).format(n=j + 1),
            }
            if j == 0 or rng.random() < 0.85:
                run["folder"] = rng.choice(RUN_FOLDERS)
            run["status"] = "Not Executed"
            if j == 0 or rng.random() < 0.7:
                run["description"] = "<p>Scope: regression of the release candidate.</p><br>Owner rotates."
            if j == 0 or rng.random() < 0.9:
                run["owner"] = g.user()
            issue = g.issue_keys(1.0 if j == 0 else 0.3)
            if issue:
                run["issueKey"] = issue[0]
            if j == 0 or rng.random() < 0.8:
                run["version"] = f"2024.{1 + 4 * j // count}"
            if j == 0 or rng.random() < 0.6:
                run["iteration"] = f"Sprint {12 + j // 2}"
            run["plannedStartDate"], run["plannedEndDate"] = server_datetime(start), server_datetime(end)
            run.update(estimatedTime=0, executionTime=0, testCaseCount=0)
            run["customFields"] = {"Sprint": f"Sprint {12 + j // 2}"}
            if rng.random() < 0.8:
                run["customFields"]["Build"] = f"2024.{1 + 4 * j // count}.{rng.randint(100, 999)}"
            run["createdOn"] = server_datetime(start - timedelta(days=rng.randint(1, 5)))
            run["createdBy"], run["updatedOn"] = g.user(), server_datetime(end + timedelta(days=1))
            run["items"] = []
            self._windows.append((start, end))
            self.runs.append(run)

    def _plans(self) -> None:
        g, rng = self.g, self.rng
        count = max(1, g.count // 25)
        for p in range(count):
            created = RUNS_START + timedelta(hours=330 * 24 * p // count) - timedelta(days=10)
            plan: Entity = {
                "key": f"{g.key}-P{p + 1}",
                "projectKey": g.key,
                "name": rng.choice(words.PLAN_NAMES).format(n=p + 1),
            }
            if p == 0 or rng.random() < 0.7:
                plan["objective"] = "<p>Sign-off criteria: no open <b>blocker</b> defects.</p>"
            if p == 0 or rng.random() < 0.8:
                plan["folder"] = rng.choice(PLAN_FOLDERS)
            plan["status"] = rng.choices(("Draft", "Approved", "Deprecated"), (3, 6, 1))[0]
            if p == 0 or rng.random() < 0.85:
                plan["owner"] = g.user()
            plan["labels"] = rng.sample(words.LABELS, rng.randint(0, 2))
            plan["issueLinks"] = g.issue_keys(1.0 if p == 0 else 0.4)
            plan["customFields"] = (
                {"Release Train": rng.choice(words.RELEASE_TRAINS)} if p == 0 or rng.random() < 0.8 else {}
            )
            plan["createdOn"], plan["createdBy"] = server_datetime(created), g.user()
            plan["updatedOn"], plan["updatedBy"] = server_datetime(created + timedelta(days=20)), g.user()
            plan["testRuns"] = []
            self.plans.append(plan)
        for j, run in enumerate(self.runs):
            # The first run is in a plan, the second in none, whatever the dice say.
            if j == 1 or (j > 1 and rng.random() < 0.25):
                continue
            plan = self.plans[min(count - 1, j * count // len(self.runs))]
            plan["testRuns"].append({"key": run["key"]})
            run["testPlanKey"] = plan["key"]

    # -- items and results --------------------------------------------------------------------------------

    def _items(self, j: int, run: Entity, next_id: int) -> int:
        """Give a run its items and plan their results; the last run has none. Returns the next id."""
        g, rng = self.g, self.rng
        if j == len(self.runs) - 1:
            return next_id
        size = min(len(g.cases), max(1, round(1.2 * g.count / len(self.runs))))
        scripted = g.cases[: len(_SCRIPTED)] if j == 0 else []
        scripted_keys = {case["key"] for case in scripted}
        chosen = scripted + [c for c in rng.sample(g.cases, size) if c["key"] not in scripted_keys]
        # Deleted test cases ran in the early runs (before they were deleted).
        early = max(1, (len(self.runs) - 1) // 2)
        chosen += [case for i, case in enumerate(g.deleted) if i % early == j]
        start, end = self._windows[j]
        span = int((end - start).total_seconds()) // 60  # results come within the planned dates
        for position, case in enumerate(chosen):
            item: Entity = {"id": next_id + position, "index": position, "testCaseKey": case["key"]}
            if rng.random() < 0.9:
                item["userKey"] = g.user()
            if rng.random() < 0.85:
                item["environment"] = rng.choice(catalog.ENVIRONMENTS)
            run["items"].append(item)
            if j == 0 and position < len(_SCRIPTED):
                outcomes = _SCRIPTED[position]
            elif rng.random() < 0.08:
                outcomes = ("Not Executed",)
            else:
                runs = rng.choices((1, 2, 3), (70, 22, 8))[0]
                final = rng.choices(_FINAL, _FINAL_WEIGHTS)[0]
                outcomes = (*(rng.choice(_EARLIER) for _ in range(runs - 1)), final)
            major = case["majorVersion"]
            version = min(major, 1 + j * major // len(self.runs))
            minutes = sorted(rng.sample(range(1, span), len(outcomes)))
            for outcome, minute in zip(outcomes, minutes, strict=True):
                # A never-run item's result was made with the run.
                moment = start if outcome == "Not Executed" else start + timedelta(minutes=minute)
                spec = {"run": run, "item": item, "status": outcome, "version": version}
                spec["defects"] = j == 0 and position == 3
                self._planned.append((moment, len(self._planned), spec))
        return next_id + len(chosen)

    def _result(self, result_id: int, moment: datetime, spec: Entity) -> None:
        g, rng = self.g, self.rng
        item, status = spec["item"], spec["status"]
        key = item["testCaseKey"]
        result: Entity = {
            "id": result_id,
            "projectKey": g.key,
            "testRunKey": spec["run"]["key"],
            "testCaseKey": key,
            "testCaseMajorVersion": spec["version"],
            "status": status,
        }
        if "environment" in item:
            result["environment"] = item["environment"]
        if status in ("Fail", "Blocked") or rng.random() < 0.25:
            result["comment"] = rng.choice(_COMMENTS[status])
        if "userKey" in item:
            result["assignedTo"] = item["userKey"]
        executed = status != "Not Executed"
        if executed:
            executor = item["userKey"] if "userKey" in item and rng.random() < 0.8 else g.user()
            duration = rng.randint(30, 1800) * 1000
            result.update(executedBy=executor, userKey=executor, executionTime=duration)
            result["executionDate"] = server_datetime(moment)
            result["actualStartDate"] = server_datetime(moment - timedelta(milliseconds=duration))
            if status != "In Progress":
                result["actualEndDate"] = server_datetime(moment)
        elif "userKey" in item:
            result["userKey"] = item["userKey"]
        result["automated"] = executed and rng.random() < 0.06
        fields: Entity = {}
        if executed and rng.random() < 0.7:
            fields["Browser"] = rng.choice(catalog.TEST_EXECUTION_FIELDS[0].options)
        if status == "Fail" and rng.random() < 0.5:
            fields["Defect Notes"] = rng.choice(words.ACTUAL_FAILURES)
        result["customFields"] = fields
        defects = status == "Fail" and (spec["defects"] or rng.random() < 0.6)
        result["issueLinks"] = g.issue_keys(1.0, first=1000) if defects else []
        result["scriptResults"] = self._script_results(g.shapes.get(key), status)
        self.results.append(result)
        # Results come oldest first: the last one seen is the item's and the test case's latest.
        item["status"] = status
        if executed:
            item["executionDate"], item["executedBy"] = result["executionDate"], result["executedBy"]
        self._last_time[item["id"]] = result.get("executionTime", 0)
        self._last_status[key] = status

    def _script_results(self, shape: tuple[int, int] | None, status: str) -> list[Entity]:
        """One result per step and data row (index ``row * steps + step``), agreeing with ``status``."""
        if shape is None:
            return []
        rng = self.rng
        steps, rows = shape
        total = steps * rows
        stop = rng.randrange(total)  # the failing, blocking or last-run step
        out = []
        for index in range(total):
            if status in ("Pass", "Not Executed"):
                name = status
            elif status == "In Progress":
                name = "Pass" if index < stop else "Not Executed"
            else:
                name = "Pass" if index < stop else status if index == stop else "Not Executed"
            step: Entity = {"index": index, "status": name}
            if name == "Fail":
                step["comment"] = rng.choice(words.ACTUAL_FAILURES)
            elif name == "Pass" and rng.random() < 0.2:
                step["comment"] = "As expected"
            out.append(step)
        return out

    def _finish(self) -> None:
        """Summaries that depend on the results: item and run status, times, last result status."""
        for run in self.runs:
            items = run["items"]
            run["testCaseCount"] = len(items)
            run["estimatedTime"] = sum(self._by_key[i["testCaseKey"]].get("estimatedTime", 0) for i in items)
            run["executionTime"] = sum(self._last_time[i["id"]] for i in items)
            if items and all(i["status"] in _FINISHED for i in items):
                run["status"] = "Done"
            elif any("executionDate" in i for i in items):
                run["status"] = "In Progress"
        for case in self.g.cases:
            if case["key"] in self._last_status:
                case["lastTestResultStatus"] = self._last_status[case["key"]]
