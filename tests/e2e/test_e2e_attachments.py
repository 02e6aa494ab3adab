"""Attachments end to end: every file of every entity kind arrives on the right qTest object, byte for byte.

A generated Zephyr project carries attachments on test cases, steps, plans, cycles, executions
and execution steps (several types, a 0-byte file, unicode and very long names, the same content
on several entities, and one file over the size limit). After ``ztoq migrate run`` every file is
read back through the qTest simulator's API and compared by SHA-256 with what Zephyr serves; the
over-limit file is reported, not sent; a second run uploads nothing.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from e2e_support import Served, serve

from ztoq.cli.main import run
from ztoq.config import load_config
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, generate_dataset
from ztoq.store import open_store

pytestmark = pytest.mark.e2e

MB = 1024 * 1024
#: The e2e configs leave attachments out unless a test asks (e2e_support.Served.config).
ON = {"include_attachments": True}


def _sha(client: httpx.Client, path: str) -> str:
    digest = hashlib.sha256()
    with client.stream("GET", path) as answer:
        assert answer.status_code == 200, path
        for chunk in answer.iter_bytes():
            digest.update(chunk)
    return digest.hexdigest()


def _served(tmp_path: Path, **generate: Any) -> Any:
    data = generate_dataset(12, seed=8, **generate)
    return serve(tmp_path, data)


def _migrate(config: Path, *extra: str) -> int:
    return run(["migrate", "run", "--config", str(config), "--quiet", *extra])


def _store_view(config: Path) -> tuple[list[Any], dict[str, dict[str, int]], list[Any]]:
    cfg = load_config(config)
    store = open_store(cfg.database)
    try:
        with store.session() as repo:
            files = list(repo.iter_attachments(cfg.zephyr.project_key))
            ids = {
                t: repo.mappings_for(cfg.zephyr.project_key, t) for t in ("test_case", "release", "test_log")
            }
            problems = [
                p for p in repo.iter_problems(cfg.zephyr.project_key) if p.entity_type == "attachment"
            ]
    finally:
        store.close()
    return files, ids, problems


def _check_every_file_arrived(served: Served, config: Path) -> int:
    """Each cached file is on the right qTest object with the same bytes; returns how many were checked."""
    files, ids, problems = _store_view(config)
    # Not sent, each with its reason: too large, a cycle under no release, an execution that
    # never ran (no test log to attach to).
    not_sent = {
        p.source_key
        for p in problems
        if p.code in ("attachment_too_large", "attachment_without_place", "attachment_owner_not_migrated")
    }
    zephyr = httpx.Client(
        base_url=f"{served.zephyr_url}/v2",
        headers={"Authorization": f"Bearer {DEFAULT_ZEPHYR_TOKEN}"},
        timeout=60,
    )
    checked = 0
    with served.qtest_api() as qtest, zephyr:
        for row in files:
            if row.source_key in not_sent:
                assert row.target_id is None, row.source_key
                continue
            assert row.state == "cached", (row.source_key, row.reason)
            assert row.target_id is not None, f"{row.source_key} was not uploaded"
            expected_object = _expected_object(qtest, row, ids)
            assert (row.target_object_type, row.target_object_id) == expected_object, row.source_key
            listed = qtest.get(f"/{row.target_object_type}/{row.target_object_id}/attachments").json()
            [found] = [a for a in listed if a["id"] == row.target_id]
            if row.owner_type != "test_cycle":
                assert found["name"] == row.name, "names are kept exactly (unicode and long ones too)"
            else:
                assert found["name"] == f"{row.owner_key} {row.name}"
            path = f"/{row.target_object_type}/{row.target_object_id}/attachments/{row.target_id}"
            assert _sha(qtest, path) == _sha(zephyr, row.locator) == row.sha256
            checked += 1
    return checked


def _expected_object(qtest: httpx.Client, row: Any, ids: dict[str, dict[str, int]]) -> tuple[str, int]:
    """Where the mapping rules put a file (docs/mapping.md, "Attachments")."""
    if row.owner_type == "test_case":
        return "test-cases", ids["test_case"][row.owner_key]
    if row.owner_type == "test_step":
        case_id = ids["test_case"][row.owner_key]
        steps = sorted(qtest.get(f"/test-cases/{case_id}/test-steps").json(), key=lambda s: s["order"])
        return (
            ("test-steps", steps[row.step_index]["id"])
            if row.step_index < len(steps)
            else ("test-cases", case_id)
        )
    if row.owner_type == "test_plan":
        return "releases", ids["release"][row.owner_key]
    if row.owner_type == "test_cycle":
        return row.target_object_type, row.target_object_id  # the cycle's release (checked by name)
    log_id = ids["test_log"][row.owner_key]
    if row.owner_type == "execution_step" and row.target_object_type == "test-step-logs":
        return "test-step-logs", row.target_object_id
    return "test-logs", log_id


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_file_arrives_on_its_object_and_a_second_run_uploads_nothing(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    database: dict[str, Any] = (
        {"type": "sqlite", "path": str(tmp_path / "m.db")}
        if backend == "sqlite"
        else {"type": "postgresql", "url": request.getfixturevalue("postgres_schema_url")}
    )
    for served in _served(tmp_path, large_attachments=1, large_attachment_size=3 * MB):
        served.qtest.state.attachment_limit = 2 * MB
        config = served.config(database, qtest={"max_attachment_mb": 2}, migration=ON)
        assert _migrate(config) == 0
        kinds = {r.owner_type for r in _store_view(config)[0]}
        assert kinds == {
            "test_case",
            "test_step",
            "test_plan",
            "test_cycle",
            "test_execution",
            "execution_step",
        }
        assert _check_every_file_arrived(served, config) >= 10
        problems = _store_view(config)[2]
        too_large = [p for p in problems if p.code == "attachment_too_large"]
        assert len(too_large) == 1
        assert "3.0 MB" in too_large[0].message
        uploaded = len(served.qtest.state.attachments)
        assert _migrate(config) == 0
        assert len(served.qtest.state.attachments) == uploaded, "a second run uploads nothing"


def test_include_attachments_false_skips_them(tmp_path: Path) -> None:
    for served in _served(tmp_path):
        config = served.config(migration={"include_attachments": False})
        assert _migrate(config) == 0
        assert not served.qtest.state.attachments
        assert not _store_view(config)[0]


def test_a_tenant_without_attachment_operations_migrates_everything_else(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for served in _served(tmp_path):
        served.zephyr.state.attachments_available = False
        config = served.config(migration=ON)
        assert run(["migrate", "run", "--config", str(config)]) == 0
        said = capsys.readouterr()
        assert "does not offer attachment operations" in said.out + said.err
        assert not served.qtest.state.attachments
        with served.qtest_api() as qtest:
            assert qtest.get("/test-cases", params={"size": 1}).json(), "the test cases arrived"


def test_a_full_sync_uploads_new_files_and_propagates_deleted_ones(tmp_path: Path) -> None:
    for served in _served(tmp_path):
        config = served.config(migration=ON)
        assert _migrate(config) == 0
        files, ids, _ = _store_view(config)
        gone = next(f for f in files if f.owner_type == "test_case" and f.target_id is not None)
        case_key = gone.owner_key
        with served.zephyr.state.lock:
            store = served.zephyr.state.attachments
            removed = store.by_id.pop(int(gone.source_id))
            store.by_owner[removed.owner].remove(removed)
        with httpx.Client(
            base_url=f"{served.zephyr_url}/v2", headers={"Authorization": f"Bearer {DEFAULT_ZEPHYR_TOKEN}"}
        ) as zephyr:
            added = zephyr.post(
                f"/testcases/{case_key}/attachments/added later.txt",
                content=b"new evidence",
                headers={"Content-Type": "text/plain"},
            )
            assert added.status_code == 201, added.text
        before = len(served.qtest.state.attachments)
        delta = served.config(migration={**ON, "propagate_deletions": True, "incremental": True})
        # A file added to (or removed from) a test case leaves the test case Zephyr lists as it
        # was: a delta sync lists the attachments of what changed only, so it does not see it.
        served.zephyr.stats.reset()
        assert _migrate(delta) == 0
        lists = served.zephyr.stats.snapshot()["endpoints"]
        assert not [e for e in lists if e.endswith("/attachments")], lists
        assert len(served.qtest.state.attachments) == before
        # The full sync (the delta syncs' periodic reconciliation) lists every object's files.
        assert _migrate(delta, "--full") == 0
        assert len(served.qtest.state.attachments) == before, "one uploaded, one deleted"
        with served.qtest_api() as qtest:
            names = [
                a["name"] for a in qtest.get(f"/test-cases/{ids['test_case'][case_key]}/attachments").json()
            ]
        assert "added later.txt" in names
        assert gone.target_id not in served.qtest.state.attachments


def test_a_site_refusing_a_file_as_too_large_gets_it_reported_not_retried(tmp_path: Path) -> None:
    for served in _served(tmp_path):
        served.qtest.state.attachment_limit = 1500  # lower than the site's configured limit says
        config = served.config(migration=ON)
        assert _migrate(config) == 0
        files, _, problems = _store_view(config)
        refused = {p.source_key for p in problems if p.code == "attachment_too_large"}
        big = {f.source_key for f in files if (f.size or 0) > 1500 and f.target_id is None}
        assert refused, "some generated files are over 1500 bytes"
        assert refused <= big
        assert all(len(a.data) <= 1500 for a in served.qtest.state.attachments.values())
        assert not [p for p in problems if p.severity == "failed"]
        # Never retried: the next run plans them as too large and sends nothing.
        posts = served.qtest.stats.total(method="POST")
        assert _migrate(config) == 0
        assert served.qtest.stats.total(method="POST") == posts
        again = {p.source_key for p in _store_view(config)[2] if p.code == "attachment_too_large"}
        assert again == refused


def test_rollback_deletes_the_attachments_ztoq_uploaded_and_nothing_else(tmp_path: Path) -> None:
    for served in _served(tmp_path):
        requirement = next(iter(served.qtest.state.requirements))  # qTest's own, before the migration
        with served.qtest_api() as qtest:
            kept = qtest.post(
                f"/requirements/{requirement}/blob-handles",
                content=b"made in qTest",
                headers={"File-Name": "before.txt", "Content-Type": "text/plain"},
            ).json()
        before = set(served.qtest.state.attachments)
        config = served.config(migration=ON)
        assert _migrate(config) == 0
        assert len(served.qtest.state.attachments) > len(before)
        args = ["workflow", "rollback", "--config", str(config), "--project-key", "DEMO", "--phases", "load"]
        assert run([*args, "--yes"]) == 0
        assert set(served.qtest.state.attachments) == before
        assert kept["id"] in served.qtest.state.attachments


def test_images_embedded_in_rich_text_are_attached_when_reachable_and_referenced_when_not(
    tmp_path: Path,
) -> None:
    cdn = "https://cdn.zephyr.example/tenant/att/42/login%20page.png"
    for served in _served(tmp_path):
        state = served.zephyr.state
        with state.lock:
            key, attachment = next(
                (str(owner[1]), found[0])
                for owner, found in state.attachments.by_owner.items()
                if owner[0] == "testcase" and found
            )
            own = f"{served.zephyr_url}/v2/testcases/{key}/attachments/{attachment.id}"
            state.testcase_versions[key][-1]["objective"] = (
                f'<p>As shown: <img src="{own}" alt="shown"> and <img src="{cdn}"></p>'
            )
        config = served.config(migration=ON)
        assert _migrate(config) == 0
        files, ids, _problems = _store_view(config)
        inline = [f for f in files if f.source_id.startswith("inline-")]
        assert [(f.owner_key, f.state) for f in inline] == [(key, "cached")]
        assert inline[0].target_object_type == "test-cases"
        assert inline[0].target_object_id == ids["test_case"][key]
        with served.qtest_api() as qtest:
            case = qtest.get(f"/test-cases/{ids['test_case'][key]}").json()
        assert f"[Image: {inline[0].name} (attached)]" in case["description"]
        assert "[Image: login page.png]" in case["description"]
        assert cdn in case["description"]
        assert "<img" not in case["description"]
    cfg = load_config(config)
    with open_store(cfg.database) as store, store.session() as repo:
        lost = list(repo.iter_problems("DEMO", code="inline_image_unreachable"))
    assert [(p.source_key, p.detail) for p in lost] == [(key, {"url": cdn})]


def test_a_delta_sync_lists_the_files_of_steps_only_when_the_steps_changed(tmp_path: Path) -> None:
    for served in _served(tmp_path):
        config = served.config(migration={**ON, "incremental": True})
        assert _migrate(config) == 0
        with httpx.Client(
            base_url=f"{served.zephyr_url}/v2", headers={"Authorization": f"Bearer {DEFAULT_ZEPHYR_TOKEN}"}
        ) as zephyr:
            stepped = []
            for case in zephyr.get("/testcases", params={"projectKey": "DEMO", "maxResults": 100}).json()[
                "values"
            ]:
                steps = zephyr.get(f"/testcases/{case['key']}/teststeps").json()["values"]
                if steps:
                    stepped.append((case, len(steps)))
            (renamed, _), (extended, count) = stepped[:2]
            for case in (renamed, extended):  # both renamed: the delta sync reads their steps again
                case["name"] += " (renamed)"
                assert zephyr.put(f"/testcases/{case['key']}", json=case).status_code == 200
            step = {"inline": {"description": "Added later", "expectedResult": "Listed"}}
            appended = zephyr.post(
                f"/testcases/{extended['key']}/teststeps", json={"mode": "APPEND", "items": [step]}
            )
            assert appended.status_code == 201
        served.zephyr.stats.reset()
        assert _migrate(config) == 0
        sent = served.zephyr.stats.snapshot()["endpoints"]
        step_lists = sum(
            sent.get("GET /v2/testcases/{testCaseIdOrKey}/teststeps/{testStepId}/attachments", {}).values()
        )
        case_lists = sum(sent.get("GET /v2/testcases/{testCaseIdOrKey}/attachments", {}).values())
        # Both test cases' own files are listed again; the steps' only where the steps changed.
        assert (case_lists, step_lists) == (2, count + 1), sent
