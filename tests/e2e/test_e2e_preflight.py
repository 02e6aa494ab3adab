"""``ztoq migrate run --dry-run``: extract, transform and a preflight that writes nothing to qTest.

The end-to-end tests run the CLI in process against both simulators served on loopback, change
the qTest simulator's state the way a qTest administrator would (a value removed, a required
field added, a permission taken away) and check that each change is reported precisely, with
the right exit code, and that not one write request reached qTest. The pure checks have their
unit tests in ``tests/unit/pipeline`` (no network, no database).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_support import Served

from ztoq.cli.main import run
from ztoq.pipeline.preflight_checks import BLOCKING, WARNING
from ztoq.simulators.qtest.fields import make_field

# -- end to end ----------------------------------------------------------------------------------------


def _dry_run(
    served: Served, capsys: pytest.CaptureFixture[str], *args: str, config: Path | None = None
) -> tuple[int, str]:
    cfg = config or served.config()
    capsys.readouterr()
    code = run(["migrate", "run", "--config", str(cfg), "--dry-run", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _dry_run_json(
    served: Served, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, dict[str, Any]]:
    code, text = _dry_run(served, capsys, "--json", *args)
    line = next(line for line in text.splitlines() if line.startswith('{"dry_run"'))
    return code, json.loads(line)["preflight"]


@pytest.fixture
def writes(served: Served) -> Iterator[None]:
    """Fails the test when any write request reached either simulator during it."""
    qtest_before = served.qtest.stats.total(write_only=True)
    zephyr_before = served.zephyr.stats.total(write_only=True)
    yield
    assert served.qtest.stats.total(write_only=True) == qtest_before, "the dry run wrote to qTest"
    assert served.zephyr.stats.total(write_only=True) == zephyr_before, "the dry run wrote to Zephyr"


def _field(served: Served, object_type: str, label: str) -> dict[str, Any]:
    return next(
        f for f in served.qtest.state.fields_of(served.project_id, object_type) if f["label"] == label
    )


def _row(text: str, entity: str) -> list[int]:
    """The numbers of one row of the "What a load would send" table."""
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│|]", line) if c.strip()]
        if cells and cells[0] == entity and all(c.isdigit() for c in cells[1:]) and len(cells) == 6:
            return [int(c) for c in cells[1:]]
    raise AssertionError(f"no row for {entity} in:\n{text}")


@pytest.mark.e2e
def test_clean_dry_run_lists_counts_per_type_and_writes_nothing(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None
) -> None:
    gets_before = served.qtest.stats.total(method="GET")
    code, text = _dry_run(served, capsys)
    assert code == 0, text
    assert "Dry run: nothing was written to qTest project" in text
    assert "Source: Zephyr Scale Cloud (REST API v2) at http://127.0.0.1:" in text
    # Planned, Create, Update, Unchanged, Not planned.
    assert _row(text, "module") == [33, 33, 0, 0, 0]
    assert _row(text, "test case") == [60, 60, 0, 0, 0]
    assert _row(text, "release") == [2, 2, 0, 0, 0]
    assert _row(text, "test run") == [72, 72, 0, 0, 0]
    assert _row(text, "test log") == [83, 83, 0, 0, 4]  # 4 executions without an end date
    for check in ("plan", "fields", "required", "permissions"):
        assert f"[ok]   {check}:" in text
    # The demo config maps a cycle custom field to a test-suite field: a true warning, not blocking.
    assert "[warn] mappings:" in text
    assert "'Sprint Number', which qTest test-cycles do not have" in text
    assert "Preflight passed with 1 warning: `ztoq migrate run` would send 265 entities" in text
    assert served.qtest.stats.total(method="GET") > gets_before


@pytest.mark.e2e
def test_removed_allowed_value_is_named_stale_plan_blocks_fresh_plan_degrades(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None
) -> None:
    assert _dry_run(served, capsys)[0] == 0
    priority = _field(served, "test-cases", "Priority")
    with served.qtest.state.lock:
        low = next(v for v in priority["allowed_values"] if v["label"] == "Low")
        priority["allowed_values"].remove(low)
    # The stored plan (made before the change) is checked against today's qTest fields.
    code, text = _dry_run(served, capsys, "--phases", "load")
    assert code == 1, text
    field = f"test-cases field 'Priority' (id {priority['id']})"
    assert f"[FAIL] {field} no longer offers value {low['value']} ('Low'); qTest refuses it" in text
    assert re.search(r"\(19 test cases: DEMO-T\d+", text), text
    assert "[FAIL] fields:" in text
    # A fresh extract + transform plans around it: the default is used, and the dry run says so.
    code, text = _dry_run(served, capsys)
    assert code == 0, text
    assert "priority_defaulted" in text
    assert "qTest field 'Priority' has no value 'Low'; its default 'Medium' is used" in text
    assert "[ok]   fields:" in text


@pytest.mark.e2e
def test_required_field_without_default_blocks_with_its_name(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None
) -> None:
    assert _dry_run(served, capsys)[0] == 0
    fields = served.qtest.state.fields_of(served.project_id, "test-cases")
    risk = make_field(990001, "Risk Level", 3, order=99, required=True, values=[(990002, "High", False)])
    with served.qtest.state.lock:
        fields.append(risk)
    # Against the stored plan: the preflight's own required-field check.
    code, report = _dry_run_json(served, capsys, "--phases", "load")
    assert code == 1
    assert report["checks"]["required"] == "failed"
    [finding] = [f for f in report["findings"] if f["check"] == "required"]
    assert finding["entity_type"] == "test_case"
    assert finding["count"] == 60
    assert "qTest requires test-cases field 'Risk Level' (id 990001), which has no default" in finding["text"]
    # After a fresh transform, the test cases cannot even be planned: the plan check names the field.
    code, text = _dry_run(served, capsys)
    assert code == 1, text
    assert "[FAIL] plan:" in text
    assert "Required qTest field 'Risk Level' has no Zephyr value and no default" in text
    assert "(60 test cases: DEMO-T" in text


@pytest.mark.e2e
def test_removed_permission_is_named(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None
) -> None:
    state = served.qtest.state
    with state.lock:
        state.project(served.project_id).profiles[state.admin_id] = {
            "test_case": {"approve": False},
            "test_run": {"execute": False},
            "release": {"edit": False},  # not needed by a first load: a warning only
        }
    code, report = _dry_run_json(served, capsys)
    assert code == 1
    by_text = {f["text"]: f for f in report["findings"] if f["check"] == "permissions"}
    approve = next(f for t, f in by_text.items() if "test_case.approve" in t)
    execute = next(f for t, f in by_text.items() if "test_run.execute" in t)
    edit = next(f for t, f in by_text.items() if "release.edit" in t)
    assert approve["severity"] == execute["severity"] == BLOCKING
    assert "60 test cases to approve" in approve["text"]
    assert "83 test logs to submit" in execute["text"]
    assert edit["severity"] == WARNING
    assert "this run does not need it" in edit["text"]
    assert report["checks"]["permissions"] == "failed"


@pytest.mark.e2e
def test_mapping_naming_a_missing_value_warns_or_blocks(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None
) -> None:
    config = served.config(
        mappings={
            "priority": {"Normal": "Mediumm"},
            "execution_status": {"Retest Needed": "Re-run"},
            "users": {"5b10a2844c20165700ede21g": "nobody@example.com"},
            "default_user": "admin@example.com",
            "environment_field": "Browser Env",
        }
    )
    code, text = _dry_run(served, capsys, config=config)
    assert code == 0, text  # each falls back to a default: degraded, not failed
    assert (
        "[warn] mappings.priority maps 'Normal' to 'Mediumm', which qTest test-cases field 'Priority' "
        "does not offer (choices: Urgent, High, Medium, Low); its default 'Medium' is used" in text
    )
    assert "mappings.execution_status maps 'Retest Needed' to 'Re-run', which qTest does not offer" in text
    assert "qTest user 'nobody@example.com', who is not an active member" in text
    assert "mappings.environment_field 'Browser Env' is not a field of qTest test-runs" in text
    # A required Priority field without a default turns the same mistake into a blocking one.
    priority = _field(served, "test-cases", "Priority")
    with served.qtest.state.lock:
        priority["required"] = True
        priority["default_value"] = None
        for value in priority["allowed_values"]:
            value["is_default"] = False
    code, text = _dry_run(served, capsys, config=config)
    assert code == 1, text
    assert "[FAIL] mappings.priority maps 'Normal' to 'Mediumm'" in text
    assert "the field is required and has no default, so those entities fail" in text


@pytest.mark.e2e
def test_custom_field_map_naming_a_missing_field_warns(
    served: Served, capsys: pytest.CaptureFixture[str], writes: None, tmp_path: Path
) -> None:
    field_map = tmp_path / "custom_fields_map.yaml"
    field_map.write_text(
        yaml.safe_dump(
            {"test_case": {"Requirement ID": "Requirement Ref"}, "test_plan": {"Release Train": "Train"}}
        )
    )
    code, text = _dry_run(served, capsys, "--custom-field-map", str(field_map))
    assert code == 0, text
    assert (
        "custom_fields.test_case maps Zephyr field 'Requirement ID' to qTest field 'Requirement Ref', which "
        "qTest test-cases do not have" in text
    )
    assert "custom_fields.test_plan maps Zephyr field 'Release Train' to qTest field 'Train'" in text
    assert "[warn] mappings:" in text


@pytest.mark.e2e
def test_real_run_after_a_dry_run_works_and_a_second_dry_run_sends_nothing(
    served: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    config = served.config()
    writes_before = served.qtest.stats.total(write_only=True)
    assert _dry_run(served, capsys, config=config)[0] == 0
    assert served.qtest.stats.total(write_only=True) == writes_before
    capsys.readouterr()
    assert run(["migrate", "run", "--config", str(config), "--quiet"]) == 0, capsys.readouterr()
    assert served.qtest.stats.total(write_only=True) > writes_before
    after_run = served.qtest.stats.total(write_only=True)
    code, report = _dry_run_json(served, capsys)
    assert code == 0
    assert served.qtest.stats.total(write_only=True) == after_run
    by_type = {c["entity_type"]: c for c in report["counts"]}
    assert by_type["test_case"] == {
        "entity_type": "test_case",
        "planned": 60,
        "create": 0,
        "update": 0,
        "unchanged": 60,
        "not_planned": 0,
        "send": 0,
    }
    assert sum(c["send"] for c in report["counts"]) == 0
