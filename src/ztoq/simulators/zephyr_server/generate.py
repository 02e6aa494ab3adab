"""A deterministic, realistic Zephyr Scale Server / Data Center project in the ``--data`` format.

``generate_server_dataset(n, seed=...)`` builds one Jira project with ``n`` test cases in the wire
format of the Zephyr Scale Server REST API v1 (docs/simulators-zephyr-server.md): folder paths
four levels deep (names with spaces, umlauts and emoji; a few test cases at the root), statuses
with a custom one, components, labels, HTML objectives, custom fields of every type as Server
serves them (multi-choice as ``"UI, API"``), step-by-step scripts with call-to-test steps and step
custom fields, plain-text and BDD scripts, data-driven test cases and major versions.
generate_results.py adds the plans, runs and results, generate_attachments.py the attachments.

A long-lived project has gaps, and so does this one on purpose: test cases deleted after they
ran (their keys are missing, their results remain), a test run with no items, users whose key is
a login name. The same arguments give the same JSON, byte for byte; the first test cases are
scripted so that even a small project has every feature (the tests assert each one).

Users, environments and custom field names come from ``catalog.py``, which the qTest generator
shares, so a migration of the generated project maps cleanly.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from ztoq.errors import InputError
from ztoq.simulators import catalog
from ztoq.simulators.zephyr import vocabulary as words
from ztoq.simulators.zephyr_server.generate_attachments import (
    LARGE_ATTACHMENT_SIZE,
    generate_server_attachments,
)
from ztoq.simulators.zephyr_server.generate_results import HistoryGenerator, server_datetime

Entity = dict[str, Any]
_PROJECT_KEY_RE = re.compile(r"^[A-Z][A-Z_0-9]+$")
#: Test cases are written over 2023 (plans, runs and results come in 2024).
CASES_START = datetime(2023, 1, 9, 8, 0, tzinfo=UTC)

#: Test case statuses: the three Zephyr ships with, and one a project admin added.
CUSTOM_TEST_CASE_STATUS = "Needs Update"
TEST_CASE_STATUSES = (*catalog.TEST_CASE_STATUSES, CUSTOM_TEST_CASE_STATUS)
COMPONENTS = ("Web UI", "REST API", "Payments", "Mobile app", "Reporting engine", "Identity & Access")
#: The catalog's test case fields plus the one type it lacks (Server has decimal fields).
TEST_CASE_FIELDS = (
    *catalog.TEST_CASE_FIELDS,
    catalog.CustomFieldSpec("Effort (hours)", "DECIMAL", None, None),
)
STEP_TYPES = ("Setup", "Action", "Verification")
#: Data-driven variables: (name, type, data set or None, values to draw rows from).
VARIABLES: tuple[tuple[str, str, str | None, tuple[str, ...]], ...] = (
    ("user", "FREE_TEXT", None, ("ada", "linus", "grace", "zoë")),
    ("amount", "FREE_TEXT", None, ("0.01", "99.90", "10000")),
    ("password", "FREE_TEXT", None, ("C0rrect-Horse", "hunter2", "pässwörd ✓")),
    ("country", "DATA_SET", "Countries", ("UK", "FI", "DE", "JP", "IL")),
    ("browser", "DATA_SET", "Browsers", ("Chrome", "Firefox", "Safari")),
)
#: How often each user (in ``server_users()`` order) owns, runs or edits something.
_USER_CUM_WEIGHTS = (30, 60, 85, 97, 100)
#: The scripted first test cases (1-based number -> script kind); the rest are drawn at random.
_FORCED_KINDS = {1: "steps", 2: "call", 3: "plain", 4: "bdd", 5: "data", 6: "steps", 7: "none", 8: "steps"}
#: Folder names with a ``/`` cannot be in a path (Server folders are paths).
_CHILD_FOLDERS = tuple(name for name in words.TEST_CASE_CHILD_FOLDERS if "/" not in name)


def generate_server_dataset(
    test_cases: int,
    *,
    seed: int = 0,
    project_key: str = "DC",
    attachments: bool = True,
    large_attachments: int = 0,
    large_attachment_size: int = LARGE_ATTACHMENT_SIZE,
) -> dict[str, Any]:
    """Generate a Zephyr Scale Server / Data Center project with ``test_cases`` test cases.

    Args:
        test_cases: How many test cases the project holds (0 or more); a few more keys are
            named by results only (test cases deleted after they ran).
        seed: The random seed: the same seed (and arguments) gives an identical dataset.
        project_key: The Jira project key (``[A-Z][A-Z_0-9]+``).
        attachments: Put small sample files on a share of every owner kind; they draw from their
            own random generator, so the rest of the dataset is the same either way.
        large_attachments: How many large files (content generated from a seed) to add.
        large_attachment_size: The size of each large file in bytes (default 51 MiB, over
            qTest's 50 MB limit).

    Returns:
        The dataset in the simulator's ``--data`` format (docs/simulators-zephyr-server.md).

    Raises:
        InputError: when ``test_cases`` is negative, the project key is malformed, or the number
            or size of large attachments is negative.
    """
    if test_cases < 0:
        raise InputError(f"The number of test cases must be 0 or more, got {test_cases}.")
    if not _PROJECT_KEY_RE.match(project_key):
        raise InputError(f"'{project_key}' is not a Jira project key (capital letters, digits, _).")
    if large_attachments < 0 or large_attachment_size < 0:
        raise InputError("The number and size of large attachments must be 0 or more.")
    cases = CaseGenerator(test_cases, seed, project_key)
    cases.build()
    history = HistoryGenerator(cases)
    history.build()
    dataset: dict[str, Any] = {
        "projects": [{"id": "10000", "key": project_key, "name": f"{project_key} Data Center demo"}],
        "users": server_users(),
        "environments": [
            {
                "id": index + 1,
                "projectKey": project_key,
                "name": name,
                "description": f"{name} — generated",
                "index": index,
            }
            for index, name in enumerate(catalog.ENVIRONMENTS)
        ],
        "testCases": cases.cases,
        "testPlans": history.plans,
        "testRuns": history.runs,
        "testResults": history.results,
        "attachments": [],
    }
    if attachments or large_attachments:
        dataset["attachments"] = generate_server_attachments(
            dataset, seed, small=attachments, large=large_attachments, large_size=large_attachment_size
        )
    return dataset


def server_users() -> list[Entity]:
    """The catalog's people as Jira Server users; the one who left has an old-style login key."""
    users = []
    for index, spec in enumerate(catalog.USERS):
        if spec.qtest_login is None:
            key, email = "contractor", "contractor@partner.example.org"
        else:
            key, email = f"JIRAUSER{10100 + index}", spec.qtest_login
        name = key if spec.qtest_login is None else email.split("@")[0]
        users.append({"key": key, "name": name, "displayName": spec.display_name, "emailAddress": email})
    return users


def dataset_summary(dataset: dict[str, Any]) -> dict[str, int]:
    """How many of each kind a dataset holds (for tests, the demo and ``--generate`` output)."""
    cases = dataset.get("testCases", [])
    scripts = [c["testScript"] for c in cases if "testScript" in c]
    steps = [s for script in scripts for s in script.get("steps", [])]
    types = Counter(script["type"] for script in scripts)
    runs = dataset.get("testRuns", [])
    results = dataset.get("testResults", [])
    case_keys = {c["key"] for c in cases}
    per_item = Counter((r["testRunKey"], r["testCaseKey"]) for r in results)
    files = dataset.get("attachments", [])
    return {
        "users": len(dataset.get("users", [])),
        "environments": len(dataset.get("environments", [])),
        "test_cases": len(cases),
        "at_root": sum(1 for c in cases if "folder" not in c),
        "step_by_step": types["STEP_BY_STEP"],
        "steps": len(steps),
        "call_steps": sum(1 for s in steps if "testCaseKey" in s),
        "steps_with_custom_fields": sum(1 for s in steps if s.get("customFields")),
        "plain": types["PLAIN_TEXT"],
        "bdd": types["BDD"],
        "no_script": len(cases) - len(scripts),
        "data_driven": sum(1 for c in cases if "parameters" in c),
        "plans": len(dataset.get("testPlans", [])),
        "runs": len(runs),
        "empty_runs": sum(1 for r in runs if not r.get("items")),
        "run_items": sum(len(r.get("items", [])) for r in runs),
        "results": len(results),
        "rerun_items": sum(1 for n in per_item.values() if n > 1),
        "never_run": sum(1 for r in results if "executionDate" not in r),
        "step_results": sum(len(r.get("scriptResults", [])) for r in results),
        "deleted_case_results": sum(1 for r in results if r["testCaseKey"] not in case_keys),
        "automated": sum(1 for r in results if r.get("automated")),
        "attachments": len(files),
        "large_attachments": sum(1 for a in files if a.get("content") is None),
    }


class CaseGenerator:
    """Builds the test cases (and remembers what the results need: step shapes, versions)."""

    def __init__(self, count: int, seed: int, project_key: str) -> None:
        self.count = count
        self.key = project_key
        self.rng = random.Random(f"ztoq-zephyr-server/{seed}")
        self.user_keys: list[str] = [str(user["key"]) for user in server_users()]
        #: Test cases in the dataset; deleted ones are built too but only results name them.
        self.cases: list[Entity] = []
        self.deleted: list[Entity] = []
        #: Test case key -> (steps, data rows) of a step-by-step script: what a result runs.
        self.shapes: dict[str, tuple[int, int]] = {}
        self.next_script_id = 3001
        self.next_step_id = 9001
        self.issues = max(10, count // 3)

    def build(self) -> None:
        rng = self.rng
        deleted_count = max(1, self.count // 50) if self.count >= 10 else 0
        total = self.count + deleted_count
        deleted = set(rng.sample(range(10, total + 1), deleted_count))
        spacing = timedelta(minutes=max(1, 300 * 24 * 60 // max(total, 1)))
        self._case_folders()
        callable_keys: list[str] = []  # step-by-step cases, not data-driven, never deleted
        for number in range(1, total + 1):
            kind = _FORCED_KINDS.get(number) or self._kind()
            if kind == "call" and not callable_keys:
                kind = "steps"
            case = self._case(number, kind, CASES_START + spacing * number, callable_keys)
            (self.deleted if number in deleted else self.cases).append(case)
            if kind in ("steps", "call") and number not in deleted:
                callable_keys.append(case["key"])

    def user(self) -> str:
        """A user key; the contractor who left appears now and then."""
        return self.rng.choices(self.user_keys, cum_weights=_USER_CUM_WEIGHTS)[0]

    def issue_keys(self, share: float, first: int = 1) -> list[str]:
        """Zero to two Jira issue keys of the project (``first``: where the numbering starts)."""
        rng = self.rng
        if rng.random() >= share:
            return []
        numbers = sorted({first + rng.randrange(self.issues) for _ in range(rng.choice((1, 1, 2)))})
        return [f"{self.key}-{n}" for n in numbers]

    # -- folders and fields ---------------------------------------------------------------------------

    def _case_folders(self) -> None:
        """Folder paths four levels deep; the root with emoji and a middle dot is always there."""
        rng = self.rng
        roots = max(3, min(len(words.TEST_CASE_ROOT_FOLDERS), 3 + self.count // 300))
        names = [*words.TEST_CASE_ROOT_FOLDERS[: roots - 1], words.TEST_CASE_ROOT_FOLDERS[-1]]
        self.case_folders: list[str] = []
        for r, root in enumerate(names):
            self.case_folders.append(f"/{root}")
            for c, child in enumerate(rng.sample(_CHILD_FOLDERS, rng.randint(2, 3))):
                child_path = f"/{root}/{child}"
                self.case_folders.append(child_path)
                for g, grand in enumerate(rng.sample(words.TEST_CASE_GRANDCHILD_FOLDERS, rng.randint(1, 2))):
                    grand_path = f"{child_path}/{grand}"
                    self.case_folders.append(grand_path)
                    if (r == c == g == 0) or rng.random() < 0.3:
                        self.case_folders.append(
                            f"{grand_path}/{rng.choice(words.TEST_CASE_DEEPEST_FOLDERS)}"
                        )

    def custom_value(self, spec: catalog.CustomFieldSpec, index: int) -> Any:
        """A value as Server serves it: multi-choice as one ``"A, B"`` string, dates as ISO text."""
        rng = self.rng
        kind = spec.zephyr_type
        if kind == "SINGLE_CHOICE":
            return rng.choice(spec.options)
        if kind == "MULTI_CHOICE":
            chosen = rng.sample(range(len(spec.options)), rng.randint(1, len(spec.options)))
            return ", ".join(spec.options[i] for i in sorted(chosen))
        if kind == "DATE":
            return (CASES_START + timedelta(days=rng.randint(0, 600))).strftime("%Y-%m-%d")
        if kind == "NUMBER":
            return rng.choice((1, 2, 3, 5, 8, 13))
        if kind == "DECIMAL":
            return rng.choice((0.5, 1.25, 2.0, 3.75, 8.5))
        if kind == "CHECKBOX":
            return rng.random() < 0.5
        if kind == "USER_PICKER":
            return self.user()
        if kind == "MULTI_LINE_TEXT":
            return f"Reviewed in sprint {index % 30 + 1}<br>Second line — ✓"
        if spec.zephyr_name == "Legacy ID":
            return f"TC-{index:05d}"
        return f"REQ-{1000 + index % 997}"

    def custom_fields(self, specs: tuple[catalog.CustomFieldSpec, ...], index: int, share: float) -> Entity:
        """Values for a share of ``specs`` (Server leaves out fields nobody filled in)."""
        return {
            spec.zephyr_name: self.custom_value(spec, index) for spec in specs if self.rng.random() < share
        }

    # -- test cases ----------------------------------------------------------------------------------------

    def _kind(self) -> str:
        roll = self.rng.random()
        for kind, upper in (("plain", 0.10), ("bdd", 0.18), ("none", 0.21), ("data", 0.31), ("call", 0.40)):
            if roll < upper:
                return kind
        return "steps"

    def _name(self, number: int) -> str:
        rng = self.rng
        if number == 6:
            return words.HOSTILE_NAMES[0]
        if number > 8 and rng.random() < 0.02:
            return rng.choice(words.HOSTILE_NAMES)
        qualifier = rng.choice(words.QUALIFIERS)
        return f"{rng.choice(words.VERBS)} {rng.choice(words.OBJECTS)}{' ' + qualifier if qualifier else ''}"

    def _case(self, number: int, kind: str, created: datetime, callable_keys: list[str]) -> Entity:
        rng = self.rng
        case: Entity = {"key": f"{self.key}-T{number}", "projectKey": self.key, "name": self._name(number)}
        status = rng.choices(TEST_CASE_STATUSES, (25, 60, 8, 7))[0]
        case["status"] = CUSTOM_TEST_CASE_STATUS if number == 8 else status
        case["priority"] = rng.choices(catalog.PRIORITIES, (2, 6, 2))[0]
        if number == 1 or rng.random() < 0.6:
            case["component"] = rng.choice(COMPONENTS)
        if number != 5 and rng.random() < 0.94:
            case["folder"] = rng.choice(self.case_folders)
        if number == 1 or rng.random() < 0.85:
            case["owner"] = self.user()
        if number == 1 or rng.random() < 0.85:
            case["objective"] = rng.choice(words.OBJECTIVES)
        if number == 1 or rng.random() < 0.6:
            case["precondition"] = rng.choice(words.PRECONDITIONS)
        if number == 1 or rng.random() < 0.7:
            case["estimatedTime"] = rng.choice((60000, 138000, 300000, 900000, 1800000))
        case["labels"] = rng.sample(words.LABELS, rng.choice((0, 0, 1, 2, 3)))
        case["issueLinks"] = self.issue_keys(1.0 if number == 1 else 0.4)
        case["customFields"] = self.custom_fields(TEST_CASE_FIELDS, number, 1.0 if number == 1 else 0.8)
        updated = created + timedelta(days=rng.randint(0, 200), minutes=rng.randint(0, 600))
        case["createdOn"], case["createdBy"] = server_datetime(created), self.user()
        case["updatedOn"], case["updatedBy"] = server_datetime(updated), self.user()
        case["majorVersion"] = 3 if number == 8 else rng.choices((1, 2, 3), (70, 22, 8))[0]
        case["latestVersion"] = True
        variables: list[str] = []
        if kind == "data":
            case["parameters"] = self._parameters()
            variables = [v["name"] for v in case["parameters"]["variables"]]
        script = self._script(case["key"], kind, number, variables, callable_keys)
        if script is not None:
            case["testScript"] = script
        if script is not None and script["type"] == "STEP_BY_STEP":
            rows = len(case["parameters"]["entries"]) if variables else 1
            self.shapes[case["key"]] = (len(script["steps"]), rows)
        return case

    def _parameters(self) -> Entity:
        """One free-text and one data-set variable (sometimes a third), and 2-4 rows of values."""
        rng = self.rng
        free = [v for v in VARIABLES if v[1] == "FREE_TEXT"]
        data_sets = [v for v in VARIABLES if v[1] == "DATA_SET"]
        chosen = [rng.choice(free), rng.choice(data_sets)]
        if rng.random() < 0.3:
            chosen.append(rng.choice([v for v in VARIABLES if v not in chosen]))
        variables: list[Entity] = []
        for name, kind, data_set, _values in chosen:
            variable: Entity = {"name": name, "type": kind}
            if data_set is not None:
                variable["dataSet"] = data_set
            variables.append(variable)
        entries = [{v[0]: rng.choice(v[3]) for v in chosen} for _ in range(rng.randint(2, 4))]
        return {"variables": variables, "entries": entries}

    def _script(
        self, key: str, kind: str, number: int, variables: list[str], callable_keys: list[str]
    ) -> Entity | None:
        rng = self.rng
        if kind == "none":
            return None
        script: Entity = {"id": self.next_script_id}
        self.next_script_id += 1
        if kind in ("plain", "bdd"):
            script["type"] = "PLAIN_TEXT" if kind == "plain" else "BDD"
            script["text"] = rng.choice(words.PLAIN_SCRIPTS if kind == "plain" else words.BDD_SCRIPTS)
            return script
        count = rng.randint(1, 5) if variables else rng.randint(1, 8)
        bodies: list[Entity] = [self._step(number, index, variables) for index in range(count)]
        if kind == "call":
            # Only earlier test cases are called, so calls never form a cycle.
            targets = (
                [f"{self.key}-T1"] if number == 2 else rng.sample(callable_keys, min(2, len(callable_keys)))
            )
            for target in targets:
                bodies.insert(rng.randint(0, len(bodies)), {"testCaseKey": target})
        first_id, self.next_step_id = self.next_step_id, self.next_step_id + len(bodies)
        steps = [{"id": first_id + index, "index": index, **body} for index, body in enumerate(bodies)]
        script.update(type="STEP_BY_STEP", steps=steps)
        return script

    def _step(self, number: int, index: int, variables: list[str]) -> Entity:
        rng = self.rng
        fill = {
            "page": rng.choice(words.PAGES),
            "field": rng.choice(words.FIELDS),
            "button": rng.choice(words.BUTTONS),
        }
        step: Entity = {"description": rng.choice(words.STEP_ACTIONS).format(**fill)}
        if variables:
            step["description"] += f" as <b>{{{variables[index % len(variables)]}}}</b>"
            step["testData"] = ", ".join(f"{name}={{{name}}}" for name in variables)
        elif rng.random() < 0.4:
            step["testData"] = rng.choice(words.TEST_DATA)
        step["expectedResult"] = rng.choice(words.STEP_RESULTS).format(**fill)
        if (number == 1 and index == 0) or rng.random() < 0.12:
            step["customFields"] = {"Step Type": rng.choice(STEP_TYPES), "Critical": rng.random() < 0.3}
        return step
