"""A deterministic, realistic Zephyr Scale project in the ``--data`` format.

``generate_dataset(n, seed)`` builds one project with about ``n`` test cases and the history a
migration meets in real life: a folder tree 4 levels deep, step-by-step, call-to-test, plain
and BDD scripts, several versions of some test cases, cycles linked to 0, 1 or 2 plans, re-runs
in one cycle, never-run and ad hoc executions, a custom execution status, a user who left, and
texts with HTML, emoji, right-to-left scripts and ``<script>`` look-alikes. The same arguments
give the same JSON, byte for byte. The first test cases and the first cycle are scripted so
that even a small dataset has every feature (tests assert each one).

Custom fields, users, environments, statuses and priorities come from ``catalog.py``, which the
qTest generator shares, so a migration of the generated project maps cleanly.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from ztoq.errors import InputError
from ztoq.simulators import catalog
from ztoq.simulators.zephyr import vocabulary as words
from ztoq.simulators.zephyr.generate_attachments import LARGE_ATTACHMENT_SIZE, generate_attachments
from ztoq.simulators.zephyr.generate_runs import RunGenerator
from ztoq.simulators.zephyr.pagination import format_datetime
from ztoq.simulators.zephyr.state import DEFAULT_JIRA_BASE_URL

Entity = dict[str, Any]
_PROJECT_KEY_RE = re.compile(r"^[A-Z][A-Z_0-9]+$")
#: Test cases are written over 2023 (cycles and executions run over 2024, see generate_runs).
CASES_START = datetime(2023, 1, 9, 8, 0, tzinfo=UTC)

#: Statuses per type: (name, color); the first one is the default.
STATUS_SETS: dict[str, tuple[str, ...]] = {
    "TEST_CASE": catalog.TEST_CASE_STATUSES,
    "TEST_PLAN": ("Draft", "Approved", "Deprecated"),
    "TEST_CYCLE": ("Not Executed", "In Progress", "Done"),
    "TEST_EXECUTION": catalog.EXECUTION_STATUSES,
}
_COLORS = ("#8f8f8f", "#0052cc", "#2ca02c", "#d62728", "#ff7f0e", "#9467bd")
#: The forced features of the first test cases (1-based index -> script kind and extras).
_FORCED_KINDS = {
    1: "steps",
    2: "call",
    3: "plain",
    4: "bdd",
    5: "steps",
    6: "steps",
    7: "steps",
    8: "steps",
    9: "none",
}


def generate_dataset(
    test_cases: int,
    seed: int = 0,
    project_key: str = "DEMO",
    *,
    executions_per_case: float | None = None,
    attachments: bool = True,
    large_attachments: int = 0,
    large_attachment_size: int = LARGE_ATTACHMENT_SIZE,
) -> dict[str, Any]:
    """Generate a Zephyr Scale project with about ``test_cases`` test cases.

    Args:
        test_cases: How many test cases (0 or more).
        seed: The random seed: the same seed (and arguments) gives an identical dataset.
        project_key: The Jira project key (``[A-Z][A-Z_0-9]+``).
        executions_per_case: About how many executions each test case gets in all (None: the
            realistic default mix of about 1.6; for benchmarks of execution-heavy projects).
        attachments: Put small attachments on a share of every entity kind (generate_attachments.py);
            they draw from their own random generator, so the rest of the dataset is the same
            either way.
        large_attachments: How many large files (``generated`` content) to attach as well.
        large_attachment_size: The size of each large file in bytes (default 51 MiB, over qTest's
            50 MB limit).

    Returns:
        The dataset in the ``--data`` format described in docs/simulators-zephyr.md.

    Raises:
        InputError: when ``test_cases`` is negative, the project key is malformed, or a number of
            executions or large attachments, or their size, is out of range.
    """
    if test_cases < 0:
        raise InputError(f"The number of test cases must be 0 or more, got {test_cases}.")
    if not _PROJECT_KEY_RE.match(project_key):
        raise InputError(f"'{project_key}' is not a Jira project key (capital letters, digits, _).")
    if executions_per_case is not None and executions_per_case <= 0:
        raise InputError(f"executions per case must be more than 0, got {executions_per_case}.")
    if large_attachments < 0 or large_attachment_size < 0:
        raise InputError("The number and size of large attachments must be 0 or more.")
    generator = _Generator(test_cases, seed, project_key)
    generator.executions_per_case = executions_per_case
    dataset = generator.build()
    if attachments or large_attachments:
        dataset["attachments"] = generate_attachments(
            dataset, seed, small=attachments, large=large_attachments, large_size=large_attachment_size
        )
    return dataset


class _Generator:
    def __init__(self, count: int, seed: int, project_key: str) -> None:
        self.count = count
        self.executions_per_case: float | None = None
        self.rng = random.Random(f"ztoq-zephyr/{seed}")
        self.key = project_key
        self.jira = DEFAULT_JIRA_BASE_URL
        self.project: Entity = {"id": 10001, "jiraProjectId": 10100, "key": project_key, "enabled": True}
        self.pid = {"id": 10001}
        self.statuses: list[Entity] = []
        self.status_ids: dict[tuple[str, str], int] = {}
        self.folders: list[Entity] = []
        self.cases: list[Entity] = []
        self.older_versions: dict[str, list[Entity]] = {}
        self.teststeps: dict[str, list[Entity]] = {}
        self.testscripts: dict[str, Entity] = {}
        self.links: dict[str, Entity] = {}
        #: Version id -> the inline steps an execution of that version runs (call-to-test expanded).
        self.flat_steps: dict[int, list[Entity]] = {}
        #: Test case key -> the inline steps of its current version (what a call-to-test runs).
        self.flat_by_key: dict[str, list[Entity]] = {}
        #: Test case index (0-based) -> its version ids, oldest first.
        self.case_versions: list[list[int]] = []
        self.next_link_id = 900001
        self.next_script_id = 600001

    def build(self) -> dict[str, Any]:
        self._statuses()
        priorities = self._options(catalog.PRIORITIES, 201, default="Normal", colored=True)
        environments = self._options(catalog.ENVIRONMENTS, 301, default=None, colored=False)
        self._folders()
        self._test_cases()
        runs = RunGenerator(self)
        runs.build()
        return {
            "jiraBaseUrl": self.jira,
            "projects": [self.project],
            "folders": self.folders,
            "statuses": self.statuses,
            "priorities": priorities,
            "environments": environments,
            "testcases": self.cases,
            "testcaseversions": self.older_versions,
            "testcycles": runs.cycles,
            "testplans": runs.plans,
            "testexecutions": runs.executions,
            "teststeps": self.teststeps,
            "testscripts": self.testscripts,
            "executionsteps": runs.execution_steps,
            "links": self.links,
        }

    # -- shared helpers (RunGenerator uses them too) -------------------------------------------------

    def link_id(self) -> int:
        self.next_link_id += 1
        return self.next_link_id - 1

    def user(self, *, mapped_only: bool = False) -> str:
        users = (
            [u for u in catalog.USERS if u.qtest_login is not None] if mapped_only else list(catalog.USERS)
        )
        return self.rng.choice(users).account_id

    def owner(self, account_id: str) -> Entity:
        return {"self": f"{self.jira}/rest/api/2/user?accountId={account_id}", "accountId": account_id}

    def issue(self, issue_id: int, link_type: str) -> Entity:
        target = f"{self.jira}/rest/api/2/issue/{issue_id}"
        return {"id": self.link_id(), "issueId": issue_id, "target": target, "type": link_type}

    def web_link(self) -> Entity:
        url, description = self.rng.choice(words.WEB_LINKS)
        return {"id": self.link_id(), "url": url, "description": description, "type": "RELATED"}

    def status_id(self, status_type: str, name: str) -> int:
        return self.status_ids[(status_type, name)]

    def custom_value(self, spec: catalog.CustomFieldSpec, index: int) -> Any:
        """A value of the Zephyr type of a custom field (strings, lists, numbers, dates, booleans)."""
        rng = self.rng
        kind = spec.zephyr_type
        if kind == "SINGLE_CHOICE":
            return rng.choice(spec.options)
        if kind == "MULTI_CHOICE":
            return rng.sample(spec.options, rng.randint(0, len(spec.options)))
        if kind == "DATE":
            return (CASES_START + timedelta(days=rng.randint(0, 600))).strftime("%Y-%m-%d")
        if kind == "NUMBER":
            return rng.choice((1, 2, 3, 5, 8, 13))
        if kind == "DECIMAL":
            return round(rng.uniform(0, 100), 2)
        if kind == "CHECKBOX":
            return rng.random() < 0.5
        if kind == "USER_PICKER":
            return self.user()
        if kind == "MULTI_LINE_TEXT":
            return f"Reviewed in sprint {index % 30 + 1}<br>Second line — ✓"
        if spec.zephyr_name == "Legacy ID":
            return f"TC-{index:05d}"
        return f"REQ-{1000 + index % 997}"

    def custom_fields(
        self, specs: tuple[catalog.CustomFieldSpec, ...], index: int, empty_rate: float
    ) -> Entity:
        # Unset custom fields are served as null, as the API does for fields nobody filled in.
        return {
            spec.zephyr_name: None if self.rng.random() < empty_rate else self.custom_value(spec, index)
            for spec in specs
        }

    # -- configuration ------------------------------------------------------------------------------------

    def _statuses(self) -> None:
        next_id = 101
        for status_type, names in STATUS_SETS.items():
            for index, name in enumerate(names):
                status = {
                    "id": next_id,
                    "project": dict(self.pid),
                    "name": name,
                    "description": f"{name} ({status_type.replace('_', ' ').lower()})",
                    "index": index,
                    "color": _COLORS[index % len(_COLORS)],
                    "archived": False,
                    "default": index == 0,
                    "_statusType": status_type,
                }
                self.statuses.append(status)
                self.status_ids[(status_type, name)] = next_id
                next_id += 1

    def _options(
        self, names: tuple[str, ...], first_id: int, *, default: str | None, colored: bool
    ) -> list[Entity]:
        out = []
        for index, name in enumerate(names):
            option: Entity = {"id": first_id + index, "project": dict(self.pid), "name": name, "index": index}
            option["description"] = f"{name} — generated"
            if colored:
                option["color"] = _COLORS[index % len(_COLORS)]
                option["default"] = name == default
            else:
                option["archived"] = False
            out.append(option)
        return out

    def _folder(self, name: str, parent: int | None, folder_type: str, index: int) -> int:
        folder_id = 1001 + len(self.folders)
        self.folders.append(
            {
                "id": folder_id,
                "parentId": parent,
                "name": name,
                "index": index,
                "folderType": folder_type,
                "project": dict(self.pid),
            }
        )
        return folder_id

    def _folders(self) -> None:
        rng = self.rng
        roots = max(3, min(len(words.TEST_CASE_ROOT_FOLDERS), 3 + self.count // 500))
        self.case_folders: list[int] = []
        for r, root_name in enumerate(words.TEST_CASE_ROOT_FOLDERS[:roots]):
            root = self._folder(root_name, None, "TEST_CASE", r)
            self.case_folders.append(root)
            for c, child_name in enumerate(rng.sample(words.TEST_CASE_CHILD_FOLDERS, rng.randint(2, 3))):
                child = self._folder(child_name, root, "TEST_CASE", c)
                self.case_folders.append(child)
                grandchildren = rng.sample(words.TEST_CASE_GRANDCHILD_FOLDERS, rng.randint(1, 2))
                for g, grand_name in enumerate(grandchildren):
                    grand = self._folder(grand_name, child, "TEST_CASE", g)
                    self.case_folders.append(grand)
                    # Depth 4: always under the first branch, sometimes elsewhere.
                    if (r == 0 and c == 0 and g == 0) or rng.random() < 0.3:
                        deepest = self._folder(
                            rng.choice(words.TEST_CASE_DEEPEST_FOLDERS), grand, "TEST_CASE", 0
                        )
                        self.case_folders.append(deepest)
        self.cycle_folders = self._simple_tree(words.TEST_CYCLE_FOLDERS, "TEST_CYCLE")
        self.plan_folders = self._simple_tree(words.TEST_PLAN_FOLDERS, "TEST_PLAN")

    def _simple_tree(self, tree: dict[str, tuple[str, ...]], folder_type: str) -> list[int]:
        ids = []
        for r, (root_name, children) in enumerate(tree.items()):
            root = self._folder(root_name, None, folder_type, r)
            ids.append(root)
            ids.extend(self._folder(name, root, folder_type, c) for c, name in enumerate(children))
        return ids

    # -- test cases ---------------------------------------------------------------------------------

    def _case_name(self, number: int) -> str:
        rng = self.rng
        if number == 6:
            return words.HOSTILE_NAMES[0]
        if number == 7:
            return words.HOSTILE_NAMES[2]
        if number > 9 and rng.random() < 0.02:
            return rng.choice(words.HOSTILE_NAMES)
        qualifier = rng.choice(words.QUALIFIERS)
        return f"{rng.choice(words.VERBS)} {rng.choice(words.OBJECTS)}{' ' + qualifier if qualifier else ''}"

    def _kind(self, number: int, callable_keys: list[str]) -> str:
        if number in _FORCED_KINDS:
            return _FORCED_KINDS[number]
        roll = self.rng.random()
        kind = (
            "steps"
            if roll < 0.63
            else "call"
            if roll < 0.72
            else "plain"
            if roll < 0.84
            else "bdd"
            if roll < 0.94
            else "none"
        )
        return "steps" if kind == "call" and not callable_keys else kind

    def _inline_steps(self, count: int, with_data: bool) -> list[Entity]:
        rng = self.rng
        steps = []
        for _ in range(count):
            fill = {
                "page": rng.choice(words.PAGES),
                "field": rng.choice(words.FIELDS),
                "button": rng.choice(words.BUTTONS),
            }
            inline: Entity = {"description": rng.choice(words.STEP_ACTIONS).format(**fill)}
            if with_data and rng.random() < 0.5:
                inline["testData"] = rng.choice(words.TEST_DATA)
            inline["expectedResult"] = rng.choice(words.STEP_RESULTS).format(**fill)
            steps.append({"inline": inline})
        if with_data and not any("testData" in s["inline"] for s in steps):
            steps[0]["inline"]["testData"] = words.TEST_DATA[0]
        return steps

    def _test_cases(self) -> None:
        rng = self.rng
        spacing = timedelta(minutes=max(1, 300 * 24 * 60 // max(self.count, 1)))
        callable_keys: list[str] = []  # step-by-step cases without calls, safe to call
        extra_version_id = 100001 + self.count
        priorities = {name: 201 + index for index, name in enumerate(catalog.PRIORITIES)}
        for number in range(1, self.count + 1):
            key = f"{self.key}-T{number}"
            kind = self._kind(number, callable_keys)
            case: Entity = {
                "id": 100000 + number,
                "key": key,
                "name": self._case_name(number),
                "project": dict(self.pid),
                "createdOn": format_datetime(CASES_START + spacing * number),
            }
            if rng.random() < 0.85:
                case["objective"] = rng.choice(words.OBJECTIVES)
            if rng.random() < 0.6:
                case["precondition"] = rng.choice(words.PRECONDITIONS)
            if rng.random() < 0.7:
                case["estimatedTime"] = rng.choice((60000, 120000, 300000, 900000, 1800000))
            case["labels"] = rng.sample(words.LABELS, rng.choice((0, 0, 1, 2, 3)))
            if rng.random() < 0.5:
                component = 10300 + rng.randint(0, 5)
                case["component"] = {"id": component, "self": f"{self.jira}/rest/api/2/component/{component}"}
            case["priority"] = {"id": priorities[rng.choices(catalog.PRIORITIES, (2, 6, 2))[0]]}
            status = rng.choices(catalog.TEST_CASE_STATUSES, (3, 6, 1))[0]
            case["status"] = {"id": self.status_id("TEST_CASE", status)}
            if number != 5 and rng.random() < 0.95:
                case["folder"] = {"id": rng.choice(self.case_folders)}
            if rng.random() < 0.85:
                case["owner"] = self.owner(self.user())
            case["testScript"] = {}
            case["customFields"] = self.custom_fields(
                catalog.TEST_CASE_FIELDS, number, 0.1 if number > 9 else 0.0
            )
            flat = self._script(key, kind, number, callable_keys)
            versions = [case["id"]]
            if kind == "steps" and (number == 8 or (number > 9 and rng.random() < 0.04)):
                versions, extra_version_id = self._older_versions(case, flat, extra_version_id)
            self.flat_steps[case["id"]] = flat
            self.flat_by_key[key] = flat
            self.case_versions.append(versions)
            self.cases.append(case)
            self.links[key] = self._case_links(number)

    def _script(self, key: str, kind: str, number: int, callable_keys: list[str]) -> list[Entity]:
        """Store the test case's script; return the inline steps an execution of it runs."""
        rng = self.rng
        if kind in ("plain", "bdd"):
            texts = words.PLAIN_SCRIPTS if kind == "plain" else words.BDD_SCRIPTS
            self.testscripts[key] = {"id": self.next_script_id, "type": kind, "text": rng.choice(texts)}
            self.next_script_id += 1
            return []
        if kind == "none":
            return []
        steps = self._inline_steps(rng.randint(1, 12), number == 1 or rng.random() < 0.4)
        if kind == "steps":
            self.teststeps[key] = steps
            if number not in (1,):
                callable_keys.append(key)
            return [s["inline"] for s in steps]
        # Call-to-test: inline steps around one or two calls of earlier step-by-step cases.
        called = (
            [f"{self.key}-T1"]
            if number == 2
            else rng.sample(callable_keys[-200:], min(2, len(callable_keys[-200:])))
        )
        items = list(steps[: rng.randint(1, len(steps))])
        flat = [s["inline"] for s in items]
        for target in called:
            count = rng.randint(1, len(words.PARAMETERS))
            parameters = [{"name": n, "type": t, "value": v} for n, t, v in words.PARAMETERS[:count]]
            items.append({"testCase": {"testCaseKey": target, "parameters": parameters}})
            flat.extend(self.flat_by_key.get(target, []))
        self.teststeps[key] = items
        return flat

    def _older_versions(self, case: Entity, flat: list[Entity], next_id: int) -> tuple[list[int], int]:
        """Give a test case 2 or 3 versions; older ones have another step count."""
        rng = self.rng
        count = 3 if case["key"].endswith("-T8") else rng.choice((2, 2, 3))
        older: list[Entity] = []
        ids: list[int] = []
        original_id = case["id"]
        for index in range(count - 1):
            version = {**case, "id": original_id if index == 0 else next_id + index - 1}
            version["name"] = f"{case['name']} (v{index + 1})"
            version["status"] = {"id": self.status_id("TEST_CASE", "Draft")}
            step_count = max(1, len(flat) + rng.choice((-2, -1, 1, 2)))
            if step_count == len(flat):
                step_count += 1
            self.flat_steps[version["id"]] = [s["inline"] for s in self._inline_steps(step_count, False)]
            older.append(version)
            ids.append(version["id"])
        # The current version is the newest entity: its id comes after every first version.
        case["id"] = next_id + count - 2
        ids.append(case["id"])
        self.older_versions[case["key"]] = older
        return ids, next_id + count - 1

    def _case_links(self, number: int) -> Entity:
        rng = self.rng
        issues = []
        if number == 1 or rng.random() < 0.4:
            issues = [self.issue(10500 + rng.randint(0, max(10, self.count // 5)), "COVERAGE")]
            if rng.random() < 0.3:
                issues.append(self.issue(10500 + rng.randint(0, max(10, self.count // 5)), "COVERAGE"))
                if issues[0]["issueId"] == issues[1]["issueId"]:
                    issues.pop()
        web = [self.web_link()] if number == 2 or rng.random() < 0.1 else []
        return {"issues": issues, "webLinks": web}
