"""Validate reads qTest back with the least requests, and holds no more than a page of it.

A small project is migrated (its attachments too), then validated alone with qTest's page size
lowered to a few items (the simulator serves any size up to 999), so test cases, runs and the
attachments of each object type span several pages: the requests validate sends equal the
"read back" terms of :func:`ztoq.bench_minimum.qtest_minimum` at that page size, term by term,
and what it read is in the store's ``validate_seen`` table, not in memory. In an overlapped run,
the rounds of attachments read back the files they upload, and the validation that ends the run
reads only the others, finding what a validation alone finds.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from e2e_support import Served

from ztoq import bench_minimum
from ztoq.bench_minimum import qtest_minimum, target_plan
from ztoq.cli.main import run
from ztoq.config import load_config
from ztoq.mapping.text import with_source_key
from ztoq.pipeline import attachment_rounds, validate_attachments, validate_snapshot
from ztoq.pipeline.context import PhaseContext
from ztoq.pipeline.orchestrator import run_migration
from ztoq.simulators.zephyr import generate_dataset
from ztoq.store import open_store
from ztoq.store.tables import validate_attachment_reads, validate_seen

pytestmark = pytest.mark.e2e

#: The page size of the test: test cases and runs take several pages.
PAGE = 7

#: The e2e configs leave attachments out unless a test asks (e2e_support.Served.config).
ATTACHMENTS = {"include_attachments": True}

#: "read back" term -> the qTest endpoints it counts (method and path template, after the project).
TERMS: dict[str, tuple[tuple[str, str], ...]] = {
    "read back: module tree": (("GET", "/modules/{moduleId}"),),
    "read back: test case pages": (("GET", "/test-cases"),),
    "read back: releases": (("GET", "/releases"),),
    "read back: test cycle trees": (("GET", "/test-cycles"),),
    "read back: test run pages": (("GET", "/test-runs"),),
    "read back: test logs (per run with logs)": (("GET", "/test-runs/{testRunId}/test-logs"),),
    "read back: attachment lists": (
        ("GET", "/attachments"),
        ("GET", "/{objectType}/{objectId}/attachments"),
    ),
    "read back: attachment sizes": (("GET", "/{objectType}/{objectId}/attachments/{attachmentId}"),),
}


@pytest.fixture
def dataset() -> dict[str, Any]:
    """A small generated project (every feature, 20 test cases)."""
    return generate_dataset(20, seed=5)


def _sent(served: Served) -> Counter[tuple[str, str]]:
    """Requests answered since the counters were reset, by (method, path after the project)."""
    sent: Counter[tuple[str, str]] = Counter()
    for endpoint, by_status in served.qtest.stats.snapshot()["endpoints"].items():
        method, _, template = endpoint.partition(" ")
        path = template.split("/projects/{projectId}", 1)[-1]
        sent[(method, path)] += sum(by_status.values())
    return sent


def test_validate_sends_the_minimum_and_keeps_what_it_read_in_the_store(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = {"type": "sqlite", "path": str(tmp_path / "migration.db")}
    path = served.config(database, migration=ATTACHMENTS)
    assert run(["migrate", "run", "--config", str(path), "--quiet"]) == 0
    _small_pages(monkeypatch)
    monkeypatch.setattr(bench_minimum, "QTEST_PAGE", PAGE)
    config = load_config(path)
    project = config.zephyr.project_key

    served.qtest.stats.reset()
    summary = run_migration(config, ["validate"])
    sent = _sent(served)

    assert summary.validation is not None
    assert summary.validation.ok, summary.validation
    with open_store(config.database) as store, store.session() as repo:
        minimum = dict(qtest_minimum(target_plan(repo, project)).terms)
        cases = len(repo.mappings_for(project, "test_case"))
        runs = len(repo.mappings_for(project, "test_run"))
        uploads = Counter(
            (m.target_pid or "").partition("/")[0] for m in repo.iter_mappings(project, "attachment")
        )
    with open_store(config.database) as store, store.engine.connect() as conn:
        seen = Counter(
            kind for (kind,) in conn.execute(validate_seen.select().with_only_columns(validate_seen.c.kind))
        )
    assert cases > 2 * PAGE, "test cases span several pages"
    assert runs > 2 * PAGE, "test runs span several pages"
    assert max(n for object_type, n in uploads.items() if object_type != "test-step-logs") > 2 * PAGE
    assert uploads["test-step-logs"], "some files are on step logs (listed one by one)"
    assert {term: sum(sent[e] for e in endpoints) for term, endpoints in TERMS.items()} == {
        term: minimum[term] for term in TERMS
    }
    assert sum(sent.values()) == sum(minimum[term] for term in TERMS), sent
    assert seen["test-case"] >= cases
    assert seen["test-run"] == runs
    assert seen["attachment"] == uploads.total()


def _small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """qTest's pages of a few items (validate's reads only)."""
    monkeypatch.setattr(validate_snapshot, "QTEST_MAX_PAGE_SIZE", PAGE)
    monkeypatch.setattr(validate_attachments, "QTEST_MAX_PAGE_SIZE", PAGE)


def _problems(served: Served, database: dict[str, Any]) -> tuple[Any, Counter[Any]]:
    """Run the validate phase alone; its counts and its problems, as a multiset."""
    config = load_config(served.config(database, migration=ATTACHMENTS))
    summary = run_migration(config, ["validate"])
    assert summary.validation is not None
    with open_store(config.database) as store, store.session() as repo:
        problems = repo.list_problems(config.zephyr.project_key, phase="validate")
    found = Counter((p.entity_type, p.source_key, p.severity, p.code, repr(p.detail)) for p in problems)
    return summary.validation.counts, found


def _spoil(served: Served, database: dict[str, Any]) -> None:
    """Rename a test case, delete a run (its logs go too), add a later log to another run, a copy
    of a test case and a test case carrying a key this project does not have; delete a file of a
    test case and a file of a step log, and change the content of another test case's file."""
    config = load_config(served.config(database))
    project = config.zephyr.project_key
    with open_store(config.database) as store, store.session() as repo:
        cases = repo.mappings_for(project, "test_case")
        runs = repo.mappings_for(project, "test_run")
        root = repo.mappings_for(project, "module")["root"]
        files = sorted(
            (m.target_pid or "", m.target_id or 0) for m in repo.iter_mappings(project, "attachment")
        )
    on_cases = [(place, i) for place, i in files if place.startswith("test-cases/")]
    on_step_logs = [(place, i) for place, i in files if place.startswith("test-step-logs/")]
    assert len(on_cases) >= 2
    assert on_step_logs
    served.qtest.state.attachments[on_cases[1][1]].data += b" changed in qTest"
    first, second = sorted(cases)[:2]
    with served.qtest_api() as api:
        for place, attachment_id in (on_cases[0], on_step_logs[-1]):
            assert api.delete(f"/{place}/blob-handles/{attachment_id}").is_success
        assert api.put(f"/test-cases/{cases[first]}", json={"name": "Renamed in qTest"}).is_success
        with_logs = sorted(
            {run for run in runs.values() if api.get(f"/test-runs/{run}/test-logs").json()["items"]}
        )
        assert len(with_logs) >= 2
        assert api.delete(f"/test-runs/{with_logs[0]}").is_success
        status = api.get("/test-runs/execution-statuses").json()[0]["id"]
        later = {
            "status": {"id": status},
            "exe_start_date": "2099-01-01T00:00:00Z",
            "exe_end_date": "2099-01-01T00:00:00Z",
        }
        assert api.post(f"/test-runs/{with_logs[1]}/test-logs", json=later).is_success
        for name, key in (("Copy", second), ("Stray", f"{project}-T9999")):
            body = {"name": name, "parent_id": root, "description": with_source_key("Added by hand", key)}
            assert api.post("/test-cases", json=body).is_success


def test_a_damaged_project_gives_the_same_problems_whatever_the_page_size(
    served: Served, database: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = served.config(database, migration=ATTACHMENTS)
    assert run(["migrate", "run", "--config", str(path), "--quiet"]) == 0
    _spoil(served, database)

    whole_counts, whole = _problems(served, database)
    _small_pages(monkeypatch)
    paged_counts, paged = _problems(served, database)

    assert paged_counts == whole_counts
    assert paged == whole
    codes = {(entity_type, code) for entity_type, _, _, code, _ in whole}
    assert {
        ("test_case", "name_differs"),
        ("test_case", "duplicate_in_qtest"),
        ("test_case", "unknown_zephyr_key"),
        ("test_run", "not_in_qtest"),
        ("test_run", "latest_log_differs"),
        ("test_log", "not_in_qtest"),
        ("attachment", "not_in_qtest"),
        ("attachment", "attachment_size_differs"),
    } <= codes, codes


#: A size read of one file (what "read back: attachment sizes" counts).
SIZE_READ = TERMS["read back: attachment sizes"][0]


def test_an_overlapped_run_reads_each_file_once_and_finds_what_validate_alone_finds(
    served: Served, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first round's first file is damaged in qTest before the round reads it back, its
    second deleted after: the validation that ends the run takes the round's reads and finds
    both, as the validation run alone afterwards (which reads every file) does."""
    served.zephyr.faults.latency_ms = 30  # extract outlasts the first rounds
    database = {"type": "sqlite", "path": str(tmp_path / "migration.db")}
    config = load_config(served.config(database, migration=ATTACHMENTS, performance={"batch_size": 5}))
    read_back = attachment_rounds.read_uploads
    rounds: list[list[tuple[str, int, str]]] = []
    kept: list[int] = []

    async def read_uploads(ctx: PhaseContext, keys: list[str], *, deep: bool) -> int:
        with ctx.session() as repo:
            uploads = repo.attachment_uploads(ctx.project_key, keys)
        damage = not rounds and len(uploads) >= 2
        if damage:
            served.qtest.state.attachments[uploads[0][1]].data += b" changed in qTest"
        kept.append(await read_back(ctx, keys, deep=deep))
        if damage:
            with served.qtest_api() as api:
                assert api.delete(f"/{uploads[1][2]}/blob-handles/{uploads[1][1]}").is_success
            rounds.append(uploads)
        return kept[-1]

    monkeypatch.setattr(attachment_rounds, "read_uploads", read_uploads)
    served.qtest.stats.reset()
    summary = run_migration(config)
    in_run = _sent(served)[SIZE_READ]
    served.zephyr.faults.latency_ms = 0

    assert rounds, "a round read back what it sent"
    assert sum(kept) >= 2
    with open_store(config.database) as store, store.session() as repo:
        uploaded = len(list(repo.iter_mappings(config.zephyr.project_key, "attachment")))
        with_rounds = repo.list_problems(config.zephyr.project_key, phase="validate")
    with open_store(config.database) as store, store.engine.connect() as conn:
        assert conn.execute(validate_attachment_reads.select()).first() is None, "used up"
    assert in_run == uploaded, "each file is read once in the run"

    served.qtest.stats.reset()
    alone = run_migration(config, ["validate"])
    assert _sent(served)[SIZE_READ] == uploaded - 1, "a validation alone reads every file held"
    with open_store(config.database) as store, store.session() as repo:
        problems = repo.list_problems(config.zephyr.project_key, phase="validate")
    assert summary.validation is not None
    assert alone.validation is not None
    assert summary.validation.counts == alone.validation.counts
    found = Counter((p.entity_type, p.source_key, p.code, repr(p.detail)) for p in problems)
    assert Counter((p.entity_type, p.source_key, p.code, repr(p.detail)) for p in with_rounds) == found
    [damaged, deleted] = [key for key, _, _ in rounds[0][:2]]
    assert {(p.source_key, p.code) for p in problems} == {
        (damaged, "attachment_size_differs"),
        (deleted, "not_in_qtest"),
    }
