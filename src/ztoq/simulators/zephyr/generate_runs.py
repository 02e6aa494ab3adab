"""The generated project's test cycles, plans and executions (the history a migration carries).

Cycles run through 2024, each with about ``1.1 * n / cycles`` cycle items (test cases); an item
is run once, re-run up to twice with distinct end dates (earlier runs failed), or never run.
Executions of a test case with several versions run the version that was current when the
cycle ran, so early cycles hold executions whose step count differs from today's test case.
Ad hoc executions (no cycle) are spread over the year. Executions get ids in chronological
order, as Zephyr allocates them when they are created.

The first cycle's first eight items are scripted (re-run, never run, custom status by the user
who left, failure with defects, blocked, in progress, old version) so every feature exists in a
small dataset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ztoq.simulators import catalog
from ztoq.simulators.zephyr import vocabulary as words
from ztoq.simulators.zephyr.pagination import format_datetime

if TYPE_CHECKING:
    from ztoq.simulators.zephyr.generate import _Generator

Entity = dict[str, Any]
#: Cycles and executions run over 2024 (the test cases were written over 2023).
RUNS_START = datetime(2024, 1, 8, 8, 0, tzinfo=UTC)

#: Outcomes of the scripted items of the first cycle (None: never run).
_SCRIPTED: tuple[tuple[str | None, ...], ...] = (
    ("Fail", "Pass"),
    ("Pass",),
    (None,),
    ("Retest Needed",),
    ("Fail",),
    ("Blocked",),
    ("In Progress",),
    ("Pass",),
)
_FINAL_OUTCOMES = ("Pass", "Fail", "Blocked", "Retest Needed", "In Progress")
_FINAL_WEIGHTS = (64, 16, 6, 6, 8)
_RERUN_OUTCOMES = ("Fail", "Blocked", "Retest Needed", "Fail")
_UNMAPPED_USER = next(u.account_id for u in catalog.USERS if u.qtest_login is None)


class RunGenerator:
    """Adds cycles, plans, executions and their steps and links to a generated project."""

    def __init__(self, gen: _Generator) -> None:
        self.g = gen
        self.rng = gen.rng
        self.cycles: list[Entity] = []
        self.plans: list[Entity] = []
        self.executions: list[Entity] = []
        self.execution_steps: dict[str, list[Entity]] = {}
        self._planned: list[tuple[datetime, int, dict[str, Any]]] = []
        self._status_ids = {
            name: gen.status_id("TEST_EXECUTION", name) for name in catalog.EXECUTION_STATUSES
        }

    def build(self) -> None:
        if self.g.count == 0:
            return
        self._cycles()
        self._plans()
        for index, cycle in enumerate(self.cycles):
            self._cycle_items(index, cycle)
        self._ad_hoc()
        self._planned.sort(key=lambda planned: (planned[0], planned[1]))
        for number, (_moment, _seq, spec) in enumerate(self._planned, start=1):
            self._execution(200000 + number, number, spec)

    # -- cycles and plans ---------------------------------------------------------------------------------

    def _cycles(self) -> None:
        g, rng = self.g, self.rng
        count = max(3, g.count // 25)
        for j in range(count):
            start = RUNS_START + timedelta(days=330 * j / count)
            cycle: Entity = {
                "id": 5001 + j,
                "key": f"{g.key}-R{j + 1}",
                "name": rng.choice(words.CYCLE_NAMES).format(n=j + 1),
                "project": dict(g.pid),
            }
            if j == 0 or rng.random() < 0.8:
                version = 10200 + j // 4
                cycle["jiraProjectVersion"] = {
                    "id": version,
                    "self": f"{g.jira}/rest/api/2/version/{version}",
                }
            done = "Done" if j < 0.8 * count else "In Progress" if j < 0.95 * count else "Not Executed"
            cycle["status"] = {"id": g.status_id("TEST_CYCLE", done)}
            if j == 0 or rng.random() < 0.85:
                cycle["folder"] = {"id": rng.choice(g.cycle_folders)}
            if rng.random() < 0.7:
                cycle["description"] = (
                    "<p>Scope: regression of the release candidate.</p><br>Owner rotates weekly."
                )
            cycle["plannedStartDate"] = format_datetime(start)
            cycle["plannedEndDate"] = format_datetime(start + timedelta(days=rng.randint(5, 14)))
            if j == 0 or rng.random() < 0.85:
                cycle["owner"] = g.owner(g.user())
            cycle["customFields"] = {
                "Sprint": f"Sprint {j + 1}",
                "Build": None if rng.random() < 0.1 else f"2024.{j % 12 + 1}.{rng.randint(100, 999)}",
            }
            issues = [g.issue(10500 + rng.randint(0, 500), "RELATED")] if rng.random() < 0.2 else []
            web = [g.web_link()] if rng.random() < 0.15 else []
            g.links[cycle["key"]] = {"issues": issues, "webLinks": web, "testPlans": []}
            self.cycles.append(cycle)

    def _plans(self) -> None:
        g, rng = self.g, self.rng
        count = max(2, len(self.cycles) // 4)
        for p in range(count):
            plan: Entity = {
                "id": 7001 + p,
                "key": f"{g.key}-P{p + 1}",
                "name": rng.choice(words.PLAN_NAMES).format(n=p + 1),
                "project": dict(g.pid),
            }
            if rng.random() < 0.7:
                plan["objective"] = "<p>Sign-off criteria: no open <b>blocker</b> defects.</p>"
            plan["status"] = {"id": g.status_id("TEST_PLAN", rng.choice(("Draft", "Approved")))}
            if p == 0 or rng.random() < 0.8:
                plan["folder"] = {"id": rng.choice(g.plan_folders)}
            if rng.random() < 0.8:
                plan["owner"] = g.owner(g.user())
            plan["customFields"] = {"Release Train": rng.choice(words.RELEASE_TRAINS)}
            plan["labels"] = rng.sample(words.LABELS, rng.randint(0, 2))
            issues = [g.issue(10500 + rng.randint(0, 500), "RELATED")] if rng.random() < 0.3 else []
            web = [g.web_link()] if p == 0 or rng.random() < 0.3 else []
            g.links[plan["key"]] = {"issues": issues, "webLinks": web, "testCycles": []}
            self.plans.append(plan)
        for j, cycle in enumerate(self.cycles):
            # Cycles 1, 2 and 3 are in no plan, two plans and one plan, whatever the dice say.
            roll = self.rng.random()
            linked = (
                0
                if j == 0
                else 2
                if j == 1
                else 1
                if j == 2
                else 0
                if roll < 0.2
                else 1
                if roll < 0.85
                else 2
            )
            first = min(count - 1, j * count // len(self.cycles))
            for plan in [self.plans[first], self.plans[(first + 1) % count]][:linked]:
                link_id = g.link_id()
                g.links[plan["key"]]["testCycles"].append(
                    {"id": link_id, "testCycleId": cycle["id"], "type": "RELATED"}
                )
                target = f"{g.jira}/rest/api/2/testplan/{plan['id']}"
                g.links[cycle["key"]]["testPlans"].append(
                    {"id": link_id, "testPlanId": plan["id"], "type": "RELATED", "target": target}
                )

    # -- executions -----------------------------------------------------------------------------------------

    def _cycle_items(self, j: int, cycle: Entity) -> None:
        g, rng = self.g, self.rng
        size = min(g.count, max(1, round(1.1 * g.count / len(self.cycles))))
        scripted = list(range(min(g.count, len(_SCRIPTED)))) if j == 0 else []
        others = [i for i in rng.sample(range(g.count), size) if i not in scripted]
        start = datetime.fromisoformat(cycle["plannedStartDate"].replace("Z", "+00:00"))
        span = 7 * 24 * 60
        for position, case_index in enumerate(scripted + others):
            if j == 0 and position < len(_SCRIPTED):
                outcomes = _SCRIPTED[position]
            elif rng.random() < 0.06:
                outcomes = (None,)
            else:
                runs = self._runs_per_item()
                final = rng.choices(_FINAL_OUTCOMES, _FINAL_WEIGHTS)[0]
                outcomes = (*(rng.choice(_RERUN_OUTCOMES) for _ in range(runs - 1)), final)
            versions = self.g.case_versions[case_index]
            version_id = versions[min(len(versions) - 1, j * len(versions) // len(self.cycles))]
            minutes = sorted(rng.sample(range(span), len(outcomes)))
            for run, outcome in enumerate(outcomes):
                moment = start + timedelta(minutes=minutes[run])
                spec = {
                    "case": case_index,
                    "version": version_id,
                    "cycle": cycle,
                    "status": outcome,
                    "end": moment,
                    "executed_by": _UNMAPPED_USER if (j == 0 and position == 3) else None,
                    "defects": j == 0 and position == 4,
                }
                self._planned.append((moment, len(self._planned), spec))

    def _runs_per_item(self) -> int:
        """Executions of one test case in one cycle: the realistic mix, or the benchmark's target."""
        rng, wanted = self.rng, self.g.executions_per_case
        if wanted is None:
            return rng.choices((1, 2, 3), (72, 20, 8))[0]
        # About 1.1 (cycle, case) items per case: spread the target over them, rounding at random.
        per_item = wanted / 1.1
        whole = int(per_item)
        return max(1, whole + (1 if rng.random() < per_item - whole else 0))

    def _ad_hoc(self) -> None:
        rng = self.rng
        for _ in range(max(1, self.g.count // 40)):
            case_index = rng.randrange(self.g.count)
            moment = RUNS_START + timedelta(minutes=rng.randrange(360 * 24 * 60))
            spec = {
                "case": case_index,
                "version": self.g.case_versions[case_index][-1],
                "cycle": None,
                "status": rng.choices(_FINAL_OUTCOMES[:4], _FINAL_WEIGHTS[:4])[0],
                "end": moment,
                "executed_by": None,
                "defects": False,
            }
            self._planned.append((moment, len(self._planned), spec))

    def _execution(self, execution_id: int, number: int, spec: dict[str, Any]) -> None:
        g, rng = self.g, self.rng
        case = g.cases[spec["case"]]
        cycle: Entity | None = spec["cycle"]
        status: str | None = spec["status"]
        execution: Entity = {
            "id": execution_id,
            "key": f"{g.key}-E{number}",
            "project": dict(g.pid),
            "testCase": {"id": spec["version"]},
        }
        if rng.random() < 0.8:
            execution["environment"] = {"id": 301 + rng.randrange(len(catalog.ENVIRONMENTS))}
        if cycle is not None and "jiraProjectVersion" in cycle:
            execution["jiraProjectVersion"] = cycle["jiraProjectVersion"]
        execution["testExecutionStatus"] = {"id": g.status_id("TEST_EXECUTION", status or "Not Executed")}
        if status not in (None, "In Progress"):
            execution["actualEndDate"] = format_datetime(spec["end"])
        if "estimatedTime" in case:
            execution["estimatedTime"] = case["estimatedTime"]
        if status is not None:
            if status != "In Progress":
                execution["executionTime"] = rng.randint(30, 1800) * 1000
            unmapped = spec["executed_by"] or (_UNMAPPED_USER if rng.random() < 0.08 else None)
            execution["executedById"] = unmapped or g.user(mapped_only=True)
        if rng.random() < 0.7:
            execution["assignedToId"] = g.user(mapped_only=True)
        if status == "Fail" or rng.random() < 0.3:
            execution["comment"] = rng.choice(words.COMMENTS)
        execution["automated"] = rng.random() < 0.1
        if cycle is not None:
            execution["testCycle"] = {"id": cycle["id"]}
        execution["customFields"] = g.custom_fields(catalog.TEST_EXECUTION_FIELDS, number, 0.3)
        defects = []
        if status == "Fail" and (spec["defects"] or rng.random() < 0.6):
            defects = [g.issue(20500 + rng.randrange(5000), "RELATED") for _ in range(rng.choice((1, 1, 2)))]
        g.links[execution["key"]] = {"issues": defects}
        self.execution_steps[str(execution_id)] = self._steps(g.flat_steps[spec["version"]], status)
        self.executions.append(execution)

    def _steps(self, flat: list[Entity], status: str | None) -> list[Entity]:
        """Step results consistent with the overall status."""
        rng = self.rng
        count = len(flat)
        stop = rng.randrange(count) if count else 0  # the failing, blocking or last-run step
        out = []
        for index, step in enumerate(flat):
            # Generated inline steps hold only description, testData and expectedResult.
            inline: Entity = dict(step)
            if status is None:
                name = "Not Executed"
            elif status == "Pass":
                name = "Pass"
            elif status in ("Fail", "Blocked"):
                name = "Pass" if index < stop else status if index == stop else "Not Executed"
            elif status == "Retest Needed":
                name = "Retest Needed" if index == count - 1 else "Pass"
            else:  # In Progress
                name = "Pass" if index < stop else "Not Executed"
            if name == "Fail":
                inline["actualResult"] = rng.choice(words.ACTUAL_FAILURES)
            elif name == "Pass" and rng.random() < 0.3:
                inline["actualResult"] = "As expected"
            inline["status"] = {"id": self._status_ids[name]}
            out.append({"inline": inline})
        return out
