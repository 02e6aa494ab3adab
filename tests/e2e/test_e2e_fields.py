"""``ztoq fields plan|apply`` end to end: the missing qTest fields are created, once, filled, rolled back.

The CLI runs in process against both simulators served on loopback (the generated demo project
and its qTest target, which deliberately lacks some fields, and here one pick list value). The
dry run shows what ``fields apply`` would do, and that the token's user may not, without a write.
After ``fields apply --yes`` and a migration, the demo's custom fields, labels and components are
read back through the qTest simulator's API: they are in qTest fields, not in the description's
"Zephyr fields" table. A rollback then removes the fields and the value ztoq added, except a field
a test case made by hand still holds a value in; once that case is gone, the next rollback removes it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from e2e_support import Served

from ztoq.cli.main import run


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _labels(served: Served, object_type: str) -> dict[str, dict[str, Any]]:
    return {f["label"]: f for f in served.qtest.state.fields_of(served.project_id, object_type)}


def _test_cases(served: Served) -> list[dict[str, Any]]:
    with served.qtest_api() as api:
        modules = api.get("/modules").json()
        found: list[dict[str, Any]] = []
        pending = [m["id"] for m in modules]
        while pending:
            module = pending.pop()
            found += api.get("/test-cases", params={"parentId": module, "size": 999}).json()
            pending += [m["id"] for m in api.get("/modules", params={"parentId": module}).json()]
    return found


@pytest.mark.e2e
def test_fields_plan_apply_and_migrate(
    served: Served, database: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = str(served.config(database))
    # A pick list numbered as real sites number site-level fields (below zero), lacking a value.
    automation = _labels(served, "test-cases")["Automation Status"]
    automation["id"] = -1201
    used = {(c.get("customFields") or {}).get("Automation Status") for c in served.dataset["testcases"]}
    dropped = next(v for v in automation["allowed_values"] if v["label"] in used)
    automation["allowed_values"].remove(dropped)
    code, text = _cli(capsys, "workflow", "extract", "--config", cfg, "--quiet")
    assert code == 0, text

    code, text = _cli(capsys, "fields", "plan", "--config", cfg, "--json")
    assert code == 0, text
    plan = json.loads(text[text.index("{") :])
    missing = {(f["qtest_object_type"], f["qtest_label"]): f for f in plan["to_create"]}
    assert ("test-cases", "Labels") in missing
    assert missing[("test-cases", "Component")]["data_type"] == 3
    assert missing[("test-cases", "Legacy ID")]["data_type"] == 1
    assert ("releases", "Release Train") in missing
    assert ("test-runs", "Defect Notes") in missing
    rows = {(r["entity"], r["zephyr_field"]): r for r in plan["fields"]}
    assert rows[("test_case", "Automation Status")]["status"] == "existing"
    assert rows[("test_case", "Requirement ID")]["qtest_label"] == "Requirement"
    assert rows[("test_cycle", "Build")]["status"] == "unavailable"
    assert rows[("test_case", "labels")]["entities"] > 0
    saved = served.workdir / "plan.json"
    code, text = _cli(capsys, "fields", "plan", "--config", cfg, "--output-file", str(saved))
    assert code == 0, text
    assert json.loads(saved.read_text(encoding="utf-8"))["to_create"] == plan["to_create"]
    assert "would be created" in text, text
    assert "ztoq fields apply" in text

    # A second store, extracted now: its stored settings will not know the fields apply creates.
    written = served.config(database={"type": "sqlite", "path": str(served.workdir / "lost.db")})
    lost = str(written.rename(written.with_name("lost.yaml")))
    assert _cli(capsys, "workflow", "extract", "--config", lost, "--quiet")[0] == 0
    cfg = str(served.config(database))

    # Without the project-admin permission: one sentence, exit 2, nothing created.
    before = len(_labels(served, "test-cases"))
    profiles = served.qtest.state.project(served.project_id).profiles
    profiles[served.qtest.state.admin_id] = {"project": {"admin": False}}
    code, text = _cli(capsys, "fields", "apply", "--config", cfg, "--yes")
    assert code == 2, text
    assert "project-admin permission" in text
    assert len(_labels(served, "test-cases")) == before
    _assert_dry_run(served, capsys, cfg, set(missing), dropped["label"])
    del profiles[served.qtest.state.admin_id]

    code, text = _cli(capsys, "fields", "apply", "--config", cfg, "--yes")
    assert code == 0, text
    assert "created test-cases field 'Labels'" in text
    case_fields = _labels(served, "test-cases")
    assert case_fields["Labels"]["data_type"] == 17
    assert case_fields["Labels"]["allowed_values"]
    assert case_fields["Component"]["data_type"] == 3
    assert dropped["label"] in {v["label"] for v in case_fields["Automation Status"]["allowed_values"]}
    assert "Release Train" in _labels(served, "releases")
    assert "Defect Notes" in _labels(served, "test-runs")
    created = sum(
        len(served.qtest.state.fields_of(served.project_id, t))
        for t in ("test-cases", "releases", "test-runs")
    )

    # A rerun creates nothing, with the store (the plan has nothing missing) ...
    posts = served.qtest.stats.total(method="POST")
    code, text = _cli(capsys, "fields", "apply", "--config", cfg, "--yes")
    assert code == 0, text
    assert served.qtest.stats.total(method="POST") == posts
    # ... and with a store that does not know them: qTest's own fields are found by label.
    code, text = _cli(capsys, "fields", "apply", "--config", lost, "--yes")
    assert code == 0, text
    assert "kept test-cases field 'Labels'" in text
    assert served.qtest.stats.total(method="POST") == posts
    after = sum(
        len(served.qtest.state.fields_of(served.project_id, t))
        for t in ("test-cases", "releases", "test-runs")
    )
    assert after == created

    code, text = _cli(capsys, "migrate", "run", "--config", cfg, "--quiet")
    assert code == 0, text
    _assert_values_in_fields(served, dropped["label"])
    with served.qtest_api() as api:
        releases = api.get("/releases").json()
    trains = {
        p["field_value"] for r in releases for p in r["properties"] if p["field_name"] == "Release Train"
    }
    plans = {p["customFields"]["Release Train"] for p in served.dataset["testplans"]}
    assert plans <= trains
    _assert_log_fields(served)
    _assert_rollback(served, capsys, cfg, dropped["label"])


def _assert_dry_run(
    served: Served, capsys: pytest.CaptureFixture[str], cfg: str, missing: set[Any], dropped: str
) -> None:
    """The dry run lists what ``fields apply`` would do and says the user may not, writing nothing."""
    writes = served.qtest.stats.total(write_only=True)
    code, text = _cli(
        capsys, "migrate", "run", "--config", cfg, "--dry-run", "--phases", "transform", "--json"
    )
    assert code == 0, text
    line = next(line for line in text.splitlines() if line.startswith('{"dry_run"'))
    report = json.loads(line)["preflight"]
    assert served.qtest.stats.total(write_only=True) == writes
    to_create = report["fields_apply"]["to_create"]
    assert {(f["qtest_object_type"], f["qtest_label"]) for f in to_create} == missing
    assert [(c["qtest_field_id"], c["choices"]) for c in report["fields_apply"]["to_extend"]] == [
        (-1201, [dropped])
    ]
    refused = [f for f in report["findings"] if f["code"] == "fields_permission_missing"]
    assert len(refused) == 1, report["findings"]
    assert f"not a project admin of qTest project {served.project_id}" in refused[0]["message"]
    assert report["checks"]["permissions"] == "warning"


def _assert_rollback(served: Served, capsys: pytest.CaptureFixture[str], cfg: str, dropped: str) -> None:
    """Rollback removes the fields and value ztoq added, but not a field data made by hand holds."""
    legacy = _labels(served, "test-cases")["Legacy ID"]["id"]
    with served.qtest_api() as api:
        made = api.post(
            "/test-cases",
            json={"name": "Made by hand", "properties": [{"field_id": legacy, "field_value": "L-0"}]},
        )
        assert made.status_code == 200, made.text
    code, text = _cli(capsys, "workflow", "rollback", "--config", cfg, "--dry-run")
    assert code == 0, text
    assert "fields apply` created" in text
    assert "Legacy ID" in _labels(served, "test-cases")
    code, text = _cli(capsys, "workflow", "rollback", "--config", cfg, "--yes", "--quiet")
    assert code == 1, text
    assert "Kept test-cases field 'Legacy ID'" in text
    assert "Removed test-cases field 'Labels'" in text
    case_fields = _labels(served, "test-cases")
    assert "Labels" not in case_fields
    assert "Component" not in case_fields
    assert case_fields["Legacy ID"]["id"] == legacy
    assert dropped not in {v["label"] for v in case_fields["Automation Status"]["allowed_values"]}
    assert "Release Train" not in _labels(served, "releases")
    assert "Defect Notes" not in _labels(served, "test-runs")

    # The record of the kept field outlives the forgotten extract: once the case is gone, it goes.
    with served.qtest_api() as api:
        assert api.delete(f"/test-cases/{made.json()['id']}").status_code == 200
    code, text = _cli(capsys, "workflow", "rollback", "--config", cfg, "--phases", "load", "--yes", "--quiet")
    assert code == 0, text
    assert "Legacy ID" not in _labels(served, "test-cases")
    code, text = _cli(capsys, "workflow", "rollback", "--config", cfg, "--phases", "load", "--dry-run")
    assert code == 0, text
    assert "fields apply" not in text


def _assert_log_fields(served: Served) -> None:
    """Executions' custom fields without a qTest field before apply are in test log fields now."""
    notes = {
        e["key"]: e["customFields"]["Defect Notes"]
        for e in served.dataset["testexecutions"]
        if (e.get("customFields") or {}).get("Defect Notes")
    }
    found: dict[str, str] = {}
    with served.qtest_api() as api:
        runs = api.get("/test-runs", params={"pageSize": 999}).json()["items"]
        for run in runs:
            for log in api.get(f"/test-runs/{run['id']}/test-logs").json()["items"]:
                assert "<td>Defect Notes</td>" not in (log.get("note") or "")
                key = (log.get("note") or "").rsplit("Zephyr key: ", 1)[-1].strip()
                props = {p["field_name"]: p["field_value"] for p in log.get("properties") or []}
                if props.get("Defect Notes"):
                    found[key] = props["Defect Notes"]
    assert found
    assert all(notes[key] == value for key, value in found.items())


def _assert_values_in_fields(served: Served, added: str) -> None:
    by_key = {tc["key"]: tc for tc in served.dataset["testcases"]}
    checked = 0
    for qtest_case in _test_cases(served):
        props = {p["field_name"]: p for p in qtest_case["properties"]}
        key = props["Zephyr Key"]["field_value"]
        source = by_key[key]
        description = qtest_case.get("description") or ""
        if source.get("labels"):
            assert props["Labels"]["field_value_name"].strip("[]").split(", ") == source["labels"], key
            assert "<td>labels</td>" not in description
        if source.get("component"):
            assert props["Component"]["field_value_name"] == f"component {source['component']['id']}", key
        legacy = (source.get("customFields") or {}).get("Legacy ID")
        if legacy:
            assert props["Legacy ID"]["field_value"] == legacy, key
            assert "Legacy ID" not in description, key
        if (source.get("customFields") or {}).get("Automation Status") == added:
            assert props["Automation Status"]["field_id"] == -1201, key
            assert props["Automation Status"]["field_value_name"] == added, key
        areas = (source.get("customFields") or {}).get("Test Areas")
        if areas:
            assert props["Test Areas"]["field_value_name"] == f"[{', '.join(areas)}]", key
        checked += bool(source.get("labels") and source.get("component") and legacy)
    assert checked, "no test case had labels, a component and a Legacy ID"
