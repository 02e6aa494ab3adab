"""A delta sync validates the logs and files that changed, not the whole project again.

A full validation reads the logs of every run with logs (a request each) and the size of every
attachment (a request each). After a delta sync, the logs and files in question are read again:
those whose mapping changed since the last validation that succeeded started, and those a
validation found a problem with; everything else is still read a page or a tree at a time.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest
from e2e_support import Served, serve

from ztoq.cli.main import run
from ztoq.config import load_config
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, generate_dataset
from ztoq.store import ProblemItem, open_store

pytestmark = pytest.mark.e2e

#: Reads of the logs of one run, of one attachment's file, and of one test step log's attachments.
LOG_LISTS = ("GET", "/test-runs/{testRunId}/test-logs")
SIZE_READS = ("GET", "/{objectType}/{objectId}/attachments/{attachmentId}")
STEP_LOG_LISTS = ("GET", "/{objectType}/{objectId}/attachments")


def sent(served: Served) -> Counter[tuple[str, str]]:
    """qTest requests answered since the counters were reset, by (method, path after the project)."""
    counted: Counter[tuple[str, str]] = Counter()
    for endpoint, by_status in served.qtest.stats.snapshot()["endpoints"].items():
        method, _, template = endpoint.partition(" ")
        counted[(method, template.split("/projects/{projectId}", 1)[-1])] += sum(by_status.values())
    return counted


def migrate(config: Path, *extra: str) -> int:
    return run(["migrate", "run", "--config", str(config), "--quiet", *extra])


def validate(config: Path) -> int:
    return run(["workflow", "validate", "--config", str(config), "--quiet"])


def test_a_delta_sync_validates_what_changed_and_what_was_found_wrong(tmp_path: Path) -> None:
    data = generate_dataset(20, seed=31)
    for served in serve(tmp_path, data):
        config = served.config(
            {"type": "sqlite", "path": str(tmp_path / "m.db")},
            migration={"incremental": True, "include_attachments": True},
        )
        served.qtest.stats.reset()
        assert migrate(config) == 0
        full = sent(served)
        assert full[LOG_LISTS] >= 10, full
        assert full[SIZE_READS] >= 10, full

        cfg = load_config(config)
        with open_store(cfg.database) as store, store.session() as repo:
            logs = {m.source_key: m.target_id for m in repo.iter_mappings("DEMO", "test_log")}
            attachments = [m.source_key for m in repo.iter_mappings("DEMO", "attachment")]
            # A problem an earlier validation found (here planted) is looked at again.
            planted_log, planted_file = sorted(logs)[0], attachments[0]
            for entity_type, key in (("test_log", planted_log), ("attachment", planted_file)):
                problem = ProblemItem(
                    "mismatch", "field_differs", "Planted: found wrong by an earlier validation."
                )
                repo.add_problems("DEMO", "validate", [(entity_type, key, [problem])])
        case = data["testcases"][0]["key"]
        with httpx.Client(
            base_url=f"{served.zephyr_url}/v2", headers={"Authorization": f"Bearer {DEFAULT_ZEPHYR_TOKEN}"}
        ) as api:
            execution = {
                "projectKey": "DEMO",
                "testCaseKey": case,
                "testCycleKey": data["testcycles"][0]["key"],
                "statusName": "Fail",
                "actualEndDate": "2031-01-01T10:00:00Z",
            }
            assert api.post("/testexecutions", json=execution).status_code == 201

        served.qtest.stats.reset()
        assert migrate(config, "--incremental", "true") == 0
        delta = sent(served)
        # Validation reads the logs of the run of the new log and of the run of the log in
        # question, nothing else; load lists the first once before it adds the log to it (adopt
        # before create: the run was not created by this run).
        assert delta[LOG_LISTS] == 1 + 2, delta
        # The one file in question: its size, and its test step log's list if it is on one.
        assert delta[SIZE_READS] == 1, delta
        assert delta[STEP_LOG_LISTS] <= 1, delta
        with open_store(cfg.database) as store, store.session() as repo:
            left = [(p.entity_type, p.source_key) for p in repo.iter_problems("DEMO", phase="validate")]
            new_logs = {m.source_key for m in repo.iter_mappings("DEMO", "test_log")} - set(logs)
        assert left == [], "what was in question was found right this time"
        assert len(new_logs) == 1

        # A log changed by hand in qTest since the last validation, and not in Zephyr: a delta
        # validation does not read it again; a full one (workflow validate, --full) does.
        changed = served.qtest.state.test_logs[logs[sorted(logs)[-1]]]
        changed.status_id = next(s for s in (601, 602, 603, 604, 605) if s != changed.status_id)
        served.qtest.stats.reset()
        assert migrate(config, "--incremental", "true") == 0
        assert sent(served)[LOG_LISTS] <= 1  # at most the run of the new log (loaded after validation began)
        assert validate(config) == 1
        with open_store(cfg.database) as store, store.session() as repo:
            found = [p.source_key for p in repo.iter_problems("DEMO", phase="validate")]
        assert found == [sorted(logs)[-1]]
