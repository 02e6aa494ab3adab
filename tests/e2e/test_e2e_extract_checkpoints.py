"""Extract checkpoints: kill an extract mid-listing, and the rerun continues from the last committed page.

Each scenario extracts a served project once into a store (so the store has history), changes
Zephyr, then kills ``ztoq workflow extract`` (SIGKILL, in a child process) right after the third
page of one listing was committed with its checkpoint, and runs it again. The simulators' request
counters prove that the rerun did not start that listing over: the pages (and the parts: steps,
scripts, step results) the killed run read plus those the rerun read are exactly those of one
uninterrupted extract. The store it leaves is that of one uninterrupted extract into a fresh store:
nothing lost, nothing seen before the kill taken for deleted, the test case deleted in Zephyr
marked deleted (with its steps). A listing resumed at an offset (Server's searches) marks no
deletion: objects deleted while it was stopped shift what follows the offset, so some may never
have been seen; the next extract marks them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ztoq.config import load_config
from ztoq.rehearsal import simulator_config, write_config
from ztoq.serving import serve_in_thread
from ztoq.simulators.faults import RequestStats
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset
from ztoq.simulators.zephyr_server import ZephyrServerSimulator
from ztoq.simulators.zephyr_server.generate import generate_server_dataset
from ztoq.store import open_store

pytestmark = pytest.mark.e2e

PAGE = 5
KILLED_AFTER = 3
#: Extract's own bookkeeping rows (their payloads name run ids).
BOOKKEEPING = {"extract_sync", "checkpoint"}


@dataclass
class Source:
    kind: str
    url: str
    stats: RequestStats
    delete_case: Callable[[str], None]


def extract(workdir: Path, source: Source, kill_at: str | None = None) -> int:
    """``ztoq workflow extract`` in a child process (killed at ``kill_at``); its exit code."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = simulator_config(source.url, "http://unused", 1, workdir, source=source.kind, batch_size=PAGE)
    config.pop("qtest")
    config["zephyr"]["page_size"] = PAGE
    config["migration"] = {"include_attachments": False}
    config["logging"] = {"level": "WARNING"}
    path = write_config(config, workdir / "config.yaml")
    env = {k: v for k, v in os.environ.items() if k != "ZTOQ_TEST_KILL_AT"}
    if kill_at:
        env["ZTOQ_TEST_KILL_AT"] = kill_at
    command = [sys.executable, "-m", "ztoq.cli", "workflow", "extract", "--config", str(path), "--quiet"]
    proc = subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.returncode


def stored(workdir: Path) -> tuple[dict[tuple[str, str], str], set[tuple[str, str]]]:
    """The store's live rows (type, key) -> content hash, and the rows marked deleted."""
    cfg = load_config(workdir / "config.yaml")
    live: dict[tuple[str, str], str] = {}
    deleted: set[tuple[str, str]] = set()
    with open_store(cfg.database) as store, store.session() as repo:
        types = repo.source_counts(cfg.zephyr.project_key, include_deleted=True)
        for entity_type in set(types) - BOOKKEEPING:
            for row in repo.iter_source(cfg.zephyr.project_key, entity_type, include_deleted=True):
                if row.deleted_at is None:
                    live[(entity_type, row.source_key)] = row.content_hash
                else:
                    deleted.add((entity_type, row.source_key))
        leftovers = {t: n for t, n in types.items() if t in BOOKKEEPING and t != "extract_sync"}
        assert not leftovers, f"a completed extract leaves no checkpoint: {leftovers}"
    return live, deleted


def counts(stats: RequestStats, *templates: str) -> int:
    endpoints = stats.snapshot()["endpoints"]
    return sum(sum(endpoints.get(f"GET {template}", {}).values()) for template in templates)


@contextmanager
def cloud() -> Iterator[Source]:
    sim = ZephyrSimulator(generate_dataset(25, seed=5, attachments=False))
    with serve_in_thread(sim.app) as url:
        yield Source("cloud", url, sim.stats, sim.state.delete_test_case)


@contextmanager
def server() -> Iterator[Source]:
    sim = ZephyrServerSimulator(generate_server_dataset(25, seed=5, project_key="DEMO", attachments=False))

    def delete(key: str) -> None:
        sim.state.testcases.pop(key)
        sim.state.touch()

    with serve_in_thread(sim.app) as url:
        yield Source("server", url, sim.stats, delete)


CLOUD_PARTS = (
    "/v2/testcases/{testCaseKey}/teststeps",
    "/v2/testcases/{testCaseKey}/testscript",
    "/v2/testexecutions/{testExecutionIdOrKey}/teststeps",
)
SCENARIOS: dict[str, tuple[Callable[[], Any], str, str, tuple[str, ...]]] = {
    # name: (source, killed listing, its page endpoint, the part endpoints)
    "cloud-test-cases": (cloud, "test_case", "/v2/testcases/nextgen", CLOUD_PARTS),
    "cloud-executions": (cloud, "test_execution", "/v2/testexecutions/nextgen", CLOUD_PARTS),
    "server-test-cases": (server, "test_case", "/rest/atm/1.0/testcase/search", ()),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_killed_extract_resumes_at_its_checkpoint_and_loses_nothing(scenario: str, tmp_path: Path) -> None:
    served, listing, pages, parts = SCENARIOS[scenario]
    with served() as source:
        store, reference = tmp_path / "store", tmp_path / "reference"
        assert extract(store, source) == 0
        keys = sorted(key for (entity_type, key) in stored(store)[0] if entity_type == "test_case")
        gone = keys[-1]
        source.delete_case(gone)

        source.stats.reset()
        assert extract(reference, source) == 0
        whole_pages, whole_parts = counts(source.stats, pages), counts(source.stats, *parts)
        assert whole_pages > KILLED_AFTER + 1, "the listing has pages left after the kill"

        source.stats.reset()
        assert extract(store, source, f"extract.checkpoint.{listing}:{KILLED_AFTER}") == -signal.SIGKILL
        killed_pages, killed_parts = counts(source.stats, pages), counts(source.stats, *parts)
        assert killed_pages == KILLED_AFTER

        source.stats.reset()
        assert extract(store, source) == 0
        rerun_pages, rerun_parts = counts(source.stats, pages), counts(source.stats, *parts)
        live, deleted = stored(store)
        if source.kind == "server":
            # Resumed at an offset: no deletion marked yet; the next extract marks it.
            assert ("test_case", gone) in live
            assert not deleted
            assert extract(store, source) == 0
            live, deleted = stored(store)

    # The rerun continued after the third page, and read no part twice.
    assert killed_pages + rerun_pages == whole_pages
    assert killed_parts + rerun_parts == whole_parts
    expected, _ = stored(reference)
    assert live == expected
    assert ("test_case", gone) in deleted
    assert {key for _, key in deleted} == {gone}, "only the deleted test case (and its steps)"
