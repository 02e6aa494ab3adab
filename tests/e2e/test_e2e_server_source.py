"""Zephyr Scale Server/Data Center as the source, end to end: the real CLI, both simulators on loopback.

A generated Data Center project (step-by-step, call-to-test, plain and BDD scripts, data-driven
test cases, test runs with their whole result history, a result whose test case was deleted,
attachments everywhere) is migrated into the qTest simulator, on SQLite and on PostgreSQL, and
proven by reading qTest's API back: every test case with its exact name, its module path (from the
folder paths), its steps in order with its calls, its priority and status; every test result as a
test log of the right test run, in order, with its status, dates, comment and step results; every
attachment with its bytes. A second run sends nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from ztoq.cli.main import run
from ztoq.config import load_config
from ztoq.rehearsal import simulator_config, write_config
from ztoq.serving import serve_in_thread
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.snapshot import qtest_snapshot
from ztoq.simulators.zephyr.attachment_content import generated_content_sha256
from ztoq.simulators.zephyr_server import ZephyrServerSimulator
from ztoq.simulators.zephyr_server.generate import generate_server_dataset
from ztoq.store import open_store

pytestmark = pytest.mark.e2e

PROJECT = "DEMO"
PRIORITY_MAP = {"Normal": "Medium"}
STATUS_MAP = {"Draft": "New", "Deprecated": "Obsolete"}
EQUIVALENT = {
    "Pass": "Passed",
    "Fail": "Failed",
    "Blocked": "Blocked",
    "In Progress": "Incomplete",
    "Not Executed": "Unexecuted",
}


@dataclass
class ServedServer:
    dataset: dict[str, Any]
    zephyr: ZephyrServerSimulator
    qtest: QTestSimulator
    zephyr_url: str
    qtest_url: str
    project_id: int
    workdir: Path

    def config(self, database: dict[str, Any], **migration: Any) -> Path:
        data = simulator_config(
            self.zephyr_url, self.qtest_url, self.project_id, self.workdir, max_workers=4, source="server"
        )
        data["database"] = database
        data["migration"] = {"include_attachments": True, **migration}
        return write_config(data, self.workdir / "config.yaml")

    def qtest_api(self) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.qtest_url}/api/v3/projects/{self.project_id}",
            headers={"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"},
            timeout=60,
        )


@pytest.fixture(scope="module")
def dataset() -> dict[str, Any]:
    return generate_server_dataset(24, seed=4, project_key=PROJECT)


@pytest.fixture
def served(tmp_path: Path, dataset: dict[str, Any]) -> Iterator[ServedServer]:
    zephyr = ZephyrServerSimulator(dataset)
    qtest = QTestSimulator.generated()
    with serve_in_thread(zephyr.app) as zurl, serve_in_thread(qtest.app) as qurl:
        headers = {"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}
        project = httpx.get(f"{qurl}/api/v3/projects", headers=headers).json()[0]["id"]
        yield ServedServer(dataset, zephyr, qtest, zurl, qurl, int(project), tmp_path)


def strip_tags(text: str | None) -> str:
    return re.sub(r"<[^>]+>", "", text or "")


def module_path(folder: str | None) -> str:
    parts = [part for part in (folder or "").split("/") if part]
    return "/" + "/".join([PROJECT, *parts])


def expected_files(dataset: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """(name, SHA-256) of the attachments of every test case (those the snapshot names by key)."""
    found: dict[str, list[tuple[str, str]]] = {}
    for item in dataset["attachments"]:
        if item["ownerType"] != "testcase":
            continue
        if item.get("content") is not None:
            digest = hashlib.sha256(base64.b64decode(item["content"])).hexdigest()
        else:
            digest = generated_content_sha256(item["fileSize"], item["seed"])
        found.setdefault(f"test-case {item['ownerKey']}", []).append((item["fileName"], digest))
    return {label: sorted(files) for label, files in found.items()}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_a_data_center_project_arrives_whole_and_a_rerun_sends_nothing(
    served: ServedServer, database: dict[str, Any]
) -> None:
    config = served.config(database)
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0
    with served.qtest_api() as api:
        snapshot = qtest_snapshot(api)
        logs = read_logs(api)
    data = served.dataset
    cases = snapshot["test_cases"]
    assert set(cases) == {tc["key"] for tc in data["testCases"]}, "every test case, none extra"
    for tc in data["testCases"]:
        got = cases[tc["key"]]
        assert got["name"] == tc["name"], tc["key"]
        assert got["module"] == module_path(tc.get("folder")), tc["key"]
        want_priority = tc.get("priority")
        assert got["priority"] == PRIORITY_MAP.get(want_priority, want_priority), tc["key"]
        want_status = tc.get("status")
        assert got["status"] == STATUS_MAP.get(want_status, want_status), tc["key"]
        script = tc.get("testScript") or {}
        if script.get("type") == "STEP_BY_STEP":
            steps = sorted(script.get("steps") or [], key=lambda s: s["index"])
            assert len(got["steps"]) == len(steps), tc["key"]
            for (order, description, expected, called), want in zip(got["steps"], steps, strict=True):
                if want.get("testCaseKey"):
                    assert called == want["testCaseKey"], (tc["key"], order)
                else:
                    assert strip_tags(description).startswith(strip_tags(want.get("description"))), tc["key"]
                    assert strip_tags(expected) == strip_tags(want.get("expectedResult")), tc["key"]
        elif script.get("text"):
            first_line = strip_tags(script["text"].splitlines()[0]).strip()
            assert first_line in strip_tags(got["steps"][0][1]), tc["key"]

    # Every result of a run's history is one log of the (run, test case) pair, in order.
    existing = {tc["key"] for tc in data["testCases"]}
    results = [r for r in data["testResults"] if r["testCaseKey"] in existing and r.get("executionDate")]
    assert results, "the dataset has results that ran"
    for result in results:
        log = logs[str(result["id"])]
        assert log["run"] == f"{result['testRunKey']}|{result['testCaseKey']}", result["id"]
        status = result["status"]
        assert log["status"] == EQUIVALENT.get(status, status), result["id"]
        ended = result.get("actualEndDate") or result["executionDate"]
        assert log["end"][:19] == ended[:19], result["id"]
        if result.get("comment"):
            assert strip_tags(result["comment"])[:40] in strip_tags(log["note"]), result["id"]
        want_steps = len(result.get("scriptResults") or [])
        if want_steps and not _data_driven(data, result["testCaseKey"]):
            assert len(log["steps"]) == want_steps, result["id"]
            for got_status, want in zip(
                log["steps"], sorted(result["scriptResults"], key=lambda s: s["index"]), strict=True
            ):
                assert got_status == EQUIVALENT.get(want["status"], want["status"]), result["id"]
    for run_key, run_logs in snapshot["test_runs"].items():
        ends = [end for _, _, end in run_logs if end]
        assert ends == sorted(ends), f"logs of {run_key} follow the execution dates"

    # Attachments arrive with their bytes (checked by SHA-256 for every test case's files).
    files = snapshot["attachments"]
    want_files = expected_files(data)
    assert want_files, "the dataset attaches files to test cases"
    for label, want in want_files.items():
        assert sorted(files.get(label, [])) == want, label
    assert any(label.startswith("test-log") for label in files), "files of results arrived too"

    before = served.qtest.stats.total(write_only=True)
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0
    assert served.qtest.stats.total(write_only=True) == before, "a second run sends nothing"

    # A delta: one test case renamed, one new result; only they go on.
    renamed = data["testCases"][0]["key"]
    with served.zephyr.state.lock:
        case = served.zephyr.state.testcases[renamed]
        served.zephyr.state.testcases[renamed] = {**case, "name": case["name"] + " (renamed)"}
        served.zephyr.state.touch()
    ran = next(r for r in results if r["testCaseKey"] != renamed)
    posted = httpx.post(
        f"{served.zephyr_url}/rest/atm/1.0/testrun/{ran['testRunKey']}/testresults",
        json=[{"testCaseKey": ran["testCaseKey"], "status": "Pass", "comment": "delta run"}],
        auth=("admin", "admin"),
    )
    assert posted.status_code == 201, posted.text
    new_id = str(posted.json()[0]["id"])
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0
    with served.qtest_api() as api:
        after = qtest_snapshot(api)
        logs = read_logs(api)
    assert after["test_cases"][renamed]["name"].endswith(" (renamed)")
    assert logs[new_id]["status"] == "Passed"
    assert logs[new_id]["run"] == f"{ran['testRunKey']}|{ran['testCaseKey']}"
    assert after["test_runs"][logs[new_id]["run"]][-1][0] == new_id, "the new log is the run's last"
    changed = {k for k in snapshot["test_cases"] if snapshot["test_cases"][k] != after["test_cases"][k]}
    assert changed == {renamed}, "nothing else changed"

    cfg = load_config(config)
    with open_store(cfg.database) as store, store.session() as repo:
        codes = {(p.entity_type, p.code) for p in repo.iter_problems(PROJECT, phase="transform")}
    assert any(code == "unknown_test_case" for _, code in codes), "the deleted test case is reported"


def _data_driven(dataset: dict[str, Any], key: str) -> bool:
    case = next((tc for tc in dataset["testCases"] if tc["key"] == key), {})
    return bool((case.get("parameters") or {}).get("entries"))


def read_logs(api: httpx.Client) -> dict[str, dict[str, Any]]:
    """Zephyr result id -> the qTest test log carrying it (run, status, note, step statuses)."""
    marker = re.compile(r"Zephyr key: ([^<\s]+)")
    snapshot_runs: dict[str, dict[str, Any]] = {}
    for cycle in _all_cycles(api):
        page = 1
        while True:
            answer = api.get(
                "/test-runs",
                params={"parentId": cycle, "parentType": "test-cycle", "page": page, "pageSize": 100},
            ).json()
            for test_run in answer["items"]:
                props = {p["field_name"]: p.get("field_value") for p in test_run.get("properties") or []}
                run_key = f"{props.get('Zephyr Key')}"
                for log in api.get(f"/test-runs/{test_run['id']}/test-logs", params={"pageSize": 100}).json()[
                    "items"
                ]:
                    found = marker.findall(log.get("note") or "")
                    if not found:
                        continue
                    steps = sorted(log.get("test_step_logs") or [], key=lambda s: s.get("order", 0))
                    snapshot_runs[found[-1]] = {
                        "run": run_key,
                        "status": (log.get("status") or {}).get("name"),
                        "note": log.get("note") or "",
                        "end": log.get("exe_end_date") or "",
                        "steps": [(s.get("status") or {}).get("name") for s in steps],
                    }
            if len(answer["items"]) < 100:
                break
            page += 1
    return snapshot_runs


def _all_cycles(api: httpx.Client) -> list[int]:
    found: list[int] = []

    def walk(cycle: dict[str, Any]) -> None:
        found.append(cycle["id"])
        for child in cycle.get("test-cycles") or []:
            walk(child)

    for top in api.get("/test-cycles", params={"expand": "descendants"}).json():
        walk(top)
    for release in api.get("/releases").json():
        params = {"parentId": release["id"], "parentType": "release", "expand": "descendants"}
        for top in api.get("/test-cycles", params=params).json():
            walk(top)
    return found
