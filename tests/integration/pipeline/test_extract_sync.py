"""Extract syncs against the in-process Zephyr Cloud simulator: what each sync asks for, and resuming one.

Every request the extract sends is recorded (method, path, query), so the tests say exactly what
a first (full) extract, a delta sync, a full sync and a resumed sync ask Zephyr for.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from ztoq.config import ZtoqConfig, build_config
from ztoq.errors import PhaseFailed
from ztoq.pipeline.context import Transports
from ztoq.pipeline.extract_sync import CHECKPOINT, DELTA_OVERLAP, LAST, PENDING
from ztoq.pipeline.orchestrator import run_migration
from ztoq.rehearsal import simulator_config
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset
from ztoq.simulators.zephyr.state import ExecutionFilter
from ztoq.store import open_store

P = "DEMO"


class Recording(httpx.AsyncBaseTransport):
    """The simulator in process, recording every request; ``refuse`` answers matching ones with 403."""

    def __init__(self, sim: ZephyrSimulator) -> None:
        self.inner = httpx.ASGITransport(app=sim.app)
        self.requests: list[httpx.Request] = []
        self.refuse: Any = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.refuse is not None and self.refuse(request):
            return httpx.Response(403, json={"errorCode": 403, "message": "refused by the test"})
        return await self.inner.handle_async_request(request)

    def paths(self, suffix: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path.endswith(suffix)]

    def parts_of_cases(self) -> set[str]:
        return {
            r.url.path.split("/testcases/")[1].split("/")[0]
            for r in self.requests
            if r.url.path.endswith(("/teststeps", "/testscript")) and "/testcases/" in r.url.path
        }


@pytest.fixture
def sim() -> ZephyrSimulator:
    return ZephyrSimulator(generate_dataset(12, seed=2, attachments=False))


def config(tmp_path: Path, **migration: Any) -> ZtoqConfig:
    data = simulator_config("http://zephyr.sim", "http://qtest.sim", 1, tmp_path, batch_size=4)
    data.pop("qtest")
    data["zephyr"]["page_size"] = 4
    data["migration"] = {"include_attachments": False, "incremental": True, **migration}
    return build_config(data)


def extract(cfg: ZtoqConfig, sim: ZephyrSimulator) -> Recording:
    recording = Recording(sim)
    run_migration(cfg, ["extract"], command="workflow extract", transports=Transports(zephyr=recording))
    return recording


def row(cfg: ZtoqConfig, entity_type: str, key: str) -> Any:
    with open_store(cfg.database) as store, store.session() as repo:
        return repo.get_source(P, entity_type, key)


def edit_case(sim: ZephyrSimulator, key: str) -> None:
    with sim.state.lock:
        case = sim.state.current_case(key)
        case["name"] = f"{case['name']} (edited)"
        sim.state.touch()


@pytest.fixture
def first(tmp_path: Path, sim: ZephyrSimulator) -> tuple[ZtoqConfig, Recording]:
    cfg = config(tmp_path)
    return cfg, extract(cfg, sim)


def test_the_first_extract_is_full_and_reads_one_part_per_test_case(
    first: tuple[ZtoqConfig, Recording], sim: ZephyrSimulator
) -> None:
    cfg, recording = first
    cases = [c["key"] for c in sim.state.list_cases(None, None)]
    steps, scripts = recording.paths("/teststeps"), recording.paths("/testscript")
    case_parts = [r for r in steps + scripts if "/testcases/" in r.url.path]
    # One read per test case: its steps (every page; 4 per page here) or its script, never both.
    first_pages = [r for r in case_parts if r.url.params.get("startAt", "0") == "0"]
    assert sorted(r.url.path.split("/")[-2] for r in first_pages) == sorted(cases)
    assert not [r for r in case_parts if r.url.path.endswith("/testscript") and r.url.params]
    assert not [r for r in recording.paths("/testexecutions/nextgen") if "actualEndDateAfter" in r.url.params]
    last = row(cfg, *LAST).payload
    assert last["mode"] == "full"
    assert last["full_started_at"] == last["started_at"]
    assert row(cfg, *PENDING) is None


def test_a_delta_sync_lists_executions_ended_since_and_reads_only_changed_parts(
    first: tuple[ZtoqConfig, Recording], sim: ZephyrSimulator
) -> None:
    cfg, _ = first
    started = datetime.fromisoformat(row(cfg, *LAST).payload["started_at"])
    edited = sim.state.list_cases(None, None)[3]["key"]
    edit_case(sim, edited)

    recording = extract(cfg, sim)

    listings = recording.paths("/testexecutions/nextgen")
    assert listings
    since = datetime.fromisoformat(listings[0].url.params["actualEndDateAfter"].replace("Z", "+00:00"))
    assert abs(since - (started - DELTA_OVERLAP)) < timedelta(seconds=1)
    assert recording.parts_of_cases() == {edited}
    assert not [
        r for r in recording.requests if "/testexecutions/" in r.url.path and "/teststeps" in r.url.path
    ]
    assert row(cfg, *LAST).payload["mode"] == "delta"
    assert row(cfg, "test_case", edited).payload["name"].endswith("(edited)")


def test_a_full_sync_reads_every_steps_again_and_marks_deletions_a_delta_cannot_see(
    first: tuple[ZtoqConfig, Recording], sim: ZephyrSimulator, tmp_path: Path
) -> None:
    cfg, _ = first
    executions = sim.state.list_executions(ExecutionFilter())
    gone = executions[0]
    with sim.state.lock:
        sim.state.testexecutions.pop(int(gone["id"]))
        sim.state.touch()

    delta = extract(cfg, sim)
    assert not delta.parts_of_cases()
    assert row(cfg, "test_execution", gone["key"]).deleted_at is None, "a filtered listing marks nothing"

    full = extract(config(tmp_path, full_sync=True), sim)
    assert full.parts_of_cases() == {c["key"] for c in sim.state.list_cases(None, None)}
    assert row(cfg, "test_execution", gone["key"]).deleted_at is not None
    steps = row(cfg, "execution_steps", gone["key"])
    assert steps is None or steps.deleted_at is not None
    assert row(cfg, *LAST).payload["mode"] == "full"


def test_an_interrupted_sync_resumes_at_its_checkpoint(tmp_path: Path, sim: ZephyrSimulator) -> None:
    cfg = config(tmp_path, incremental=False)
    recording = Recording(sim)
    # The third page of test cases is refused: the extract fails after two committed pages.
    recording.refuse = lambda r: (
        r.url.path.endswith("/testcases/nextgen")
        and len([q for q in recording.requests if q.url.path.endswith("/testcases/nextgen")]) == 3
    )
    with pytest.raises(PhaseFailed):
        run_migration(cfg, ["extract"], command="workflow extract", transports=Transports(zephyr=recording))
    pending, mark = row(cfg, *PENDING).payload, row(cfg, CHECKPOINT, "test_case").payload
    assert mark["run_id"] == pending["run_id"]
    position = mark["next"]
    assert position["exact"] is True
    assert position["startAtId"] > 0
    read_before = recording.parts_of_cases()
    assert len(read_before) == 8  # two pages of 4

    again = extract(cfg, sim)
    first_page = again.paths("/testcases/nextgen")[0]
    assert first_page.url.params["startAtId"] == str(position["startAtId"])
    assert again.parts_of_cases().isdisjoint(read_before), "no test case's steps are read twice"
    assert read_before | again.parts_of_cases() == {c["key"] for c in sim.state.list_cases(None, None)}
    assert row(cfg, *PENDING) is None
    assert row(cfg, CHECKPOINT, "test_case") is None
    last = row(cfg, *LAST).payload
    assert last["run_id"] == pending["run_id"], "the sync is the one the failed run started"
    assert datetime.fromisoformat(last["finished_at"]) <= datetime.now(UTC)


def test_asking_for_a_full_sync_abandons_an_interrupted_delta_sync(
    first: tuple[ZtoqConfig, Recording], sim: ZephyrSimulator, tmp_path: Path
) -> None:
    cfg, _ = first
    recording = Recording(sim)
    recording.refuse = lambda r: r.url.path.endswith("/testcycles")
    with pytest.raises(PhaseFailed):
        run_migration(cfg, ["extract"], command="workflow extract", transports=Transports(zephyr=recording))
    assert row(cfg, *PENDING).payload["mode"] == "delta"

    full = extract(config(tmp_path, full_sync=True), sim)
    assert full.parts_of_cases() == {c["key"] for c in sim.state.list_cases(None, None)}
    assert row(cfg, *LAST).payload["mode"] == "full"
