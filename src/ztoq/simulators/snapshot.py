"""A qTest project read back in full and named by Zephyr keys, to compare two migrations.

qTest ids differ from one run to another, so two projects are compared by what the Zephyr keys
point at: modules by path, test cases (name, module, steps, priority, status, version), releases,
test cycles (and their parents), test runs and their logs in order, and the attachments of each
(name and SHA-256 of the content, per test case, step, release, test log and step log). Reading
raises AssertionError when a Zephyr key is in qTest twice (a duplicate). Used by the crash-safety tests
and by ``ztoq bench --chaos``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import httpx

MARKER = re.compile(r"Zephyr key: ([^<\s]+)")


def _key_of(entity: dict[str, Any]) -> str:
    """An entity's Zephyr key: its "Zephyr Key" property, else the marker line, else its name."""
    for prop in entity.get("properties") or []:
        if prop.get("field_name") == "Zephyr Key" and prop.get("field_value"):
            return str(prop["field_value"])
    for text in (entity.get("description"), entity.get("note")):
        found = MARKER.findall(text or "")
        if found:
            return str(found[-1])
    return f"name:{entity.get('name')}"


def _pages(api: httpx.Client, path: str, params: dict[str, Any], envelope: bool) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        size_key = "pageSize" if envelope else "size"
        answer = api.get(path, params={**params, "page": page, size_key: 100}).json()
        batch = answer["items"] if envelope else answer
        items.extend(batch)
        if len(batch) < 100:
            return items
        page += 1


def _attachments(api: httpx.Client, object_type: str, object_id: int) -> list[tuple[str, str]]:
    """(name, SHA-256) of every attachment of one object, sorted (duplicates stay visible)."""
    found = []
    for attachment in api.get(f"/{object_type}/{object_id}/attachments").json():
        digest = hashlib.sha256()
        with api.stream("GET", f"/{object_type}/{object_id}/attachments/{attachment['id']}") as answer:
            for chunk in answer.iter_bytes():
                digest.update(chunk)
        found.append((attachment["name"], digest.hexdigest()))
    return sorted(found)


def qtest_snapshot(api: httpx.Client) -> dict[str, Any]:
    """Everything in the qTest project, named by Zephyr keys (qTest ids differ between runs).

    Raises AssertionError when any Zephyr key is in qTest twice (a duplicate).
    """
    snapshot: dict[str, Any] = {}
    paths: dict[int, str] = {}
    files: dict[str, list[tuple[str, str]]] = {}

    def attached(label: str, object_type: str, object_id: int) -> None:
        found = _attachments(api, object_type, object_id)
        if found:
            files[label] = found

    def walk_modules(module: dict[str, Any], prefix: str) -> None:
        path = f"{prefix}/{module['name']}"
        paths[module["id"]] = path
        for child in module.get("children") or []:
            walk_modules(child, path)

    for module in api.get("/modules", params={"expand": "descendants"}).json():
        walk_modules(module, "")
    snapshot["modules"] = sorted(paths.values())
    cases: dict[str, Any] = {}
    case_keys: dict[int, str] = {}
    for module_id, path in paths.items():
        for case in _pages(api, "/test-cases", {"parentId": module_id, "expandSteps": "true"}, False):
            key = _key_of(case)
            assert key not in cases, f"test case {key} is in qTest twice"
            case_keys[case["id"]] = key
            attached(f"test-case {key}", "test-cases", case["id"])
            for step in case.get("test_steps") or []:
                attached(f"test-step {key}#{step['order']}", "test-steps", step["id"])
            props = {
                p["field_name"]: p.get("field_value_name") or p.get("field_value") for p in case["properties"]
            }
            cases[key] = {
                "name": case["name"],
                "module": path,
                "version": case["version"],
                "priority": props.get("Priority"),
                "status": props.get("Status"),
                "steps": [
                    (s["order"], s.get("description"), s.get("expected"), s.get("called_test_case_id"))
                    for s in sorted(case.get("test_steps") or [], key=lambda s: s["order"])
                ],
            }
    for case in cases.values():
        case["steps"] = [(o, d, e, case_keys.get(c) if c else None) for o, d, e, c in case["steps"]]
    snapshot["test_cases"] = cases
    releases: dict[str, Any] = {}
    for release in api.get("/releases").json():
        key = _key_of(release)
        assert key not in releases, f"release {key} is in qTest twice"
        releases[key] = release["name"]
        attached(f"release {key}", "releases", release["id"])
    snapshot["releases"] = releases
    cycles: dict[str, Any] = {}
    cycle_ids: list[tuple[int, str]] = []

    def walk_cycles(cycle: dict[str, Any], parent: str) -> None:
        key = _key_of(cycle)
        assert key not in cycles, f"test cycle {key} is in qTest twice"
        cycles[key] = {"name": cycle["name"], "parent": parent}
        cycle_ids.append((cycle["id"], key))
        for child in cycle.get("test-cycles") or []:
            walk_cycles(child, key)

    for top in api.get("/test-cycles", params={"expand": "descendants"}).json():
        walk_cycles(top, "root")
    for release in api.get("/releases").json():
        params = {"parentId": release["id"], "parentType": "release", "expand": "descendants"}
        for top in api.get("/test-cycles", params=params).json():
            walk_cycles(top, _key_of(release))
    snapshot["test_cycles"] = cycles
    runs: dict[str, Any] = {}
    for cycle_id, cycle_key in cycle_ids:
        params = {"parentId": cycle_id, "parentType": "test-cycle"}
        for run in _pages(api, "/test-runs", params, True):
            case_id = run.get("testCaseId") or (run.get("test_case") or {}).get("id")
            case_key = case_keys.get(int(case_id), "?") if case_id is not None else "?"
            key = f"{cycle_key}|{case_key}"
            assert key not in runs, f"test run {key} is in qTest twice"
            logs = _pages(api, f"/test-runs/{run['id']}/test-logs", {}, True)
            runs[key] = [
                (_key_of(log), (log.get("status") or {}).get("name"), log.get("exe_end_date"))
                for log in sorted(logs, key=lambda lg: lg["id"])
            ]
            assert len({entry[0] for entry in runs[key]}) == len(runs[key]), (
                f"a log of run {key} is duplicated"
            )
            for log in logs:
                attached(f"test-log {_key_of(log)}", "test-logs", log["id"])
                for step in log.get("test_step_logs") or []:
                    label = f"test-step-log {_key_of(log)}#{step.get('order')}"
                    attached(label, "test-step-logs", step["test_step_log_id"])
    snapshot["test_runs"] = runs
    snapshot["attachments"] = files
    return snapshot
