"""The Zephyr Scale Cloud adapter against the simulator in process: what extract gets, keyed how."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from datetime import datetime
from typing import Any, TypeVar

import httpx
import pytest

from ztoq.config import ZtoqConfig, build_config
from ztoq.errors import ConfigError, InputError
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, ZephyrSimulator
from ztoq.sources import DEFAULT_SOURCE, SOURCES, reader_for, source_for
from ztoq.sources.zephyr_cloud import ZephyrCloudRecords, ZephyrCloudSource, execution_key
from ztoq.sources.zephyr_cloud.adapter import NEITHER, SCRIPT, STEPS, UNKNOWN, script_kind
from ztoq.store import SourceItem

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def config(**zephyr: Any) -> ZtoqConfig:
    section = {"base_url": "http://zephyr.sim/v2", "api_token": DEFAULT_ZEPHYR_TOKEN, "project_key": "DEMO"}
    return build_config({"zephyr": {**section, **zephyr}})


@pytest.fixture(scope="module")
def sim() -> ZephyrSimulator:
    return ZephyrSimulator.generated(6, seed=3)


def adapter(sim: ZephyrSimulator, **zephyr: Any) -> ZephyrCloudSource:
    source = source_for(config(**zephyr), transport=httpx.ASGITransport(app=sim.app))
    assert isinstance(source, ZephyrCloudSource)
    return source


async def collect(source: ZephyrCloudSource, entity_type: str) -> list[SourceItem]:
    try:
        return [item async for item in source.read_all(entity_type)]
    finally:
        await source.aclose()


def test_the_configured_source_is_zephyr_cloud_and_building_it_opens_nothing() -> None:
    assert DEFAULT_SOURCE in SOURCES
    source = source_for(build_config({}))
    assert isinstance(source, ZephyrCloudSource)
    assert source.api_stats() == {}
    assert isinstance(reader_for(), ZephyrCloudRecords)
    assert isinstance(source.reader, ZephyrCloudRecords)
    # The client (and the check of the Zephyr settings) waits for the first read.
    with pytest.raises(ConfigError):
        run(source.read_project())


def test_the_project(sim: ZephyrSimulator) -> None:
    source = adapter(sim)
    item = run(source.read_project())
    assert (item.entity_type, item.source_key, item.payload["key"]) == ("project", "DEMO", "DEMO")
    assert item.source_id == item.payload["id"]
    assert set(source.api_stats()) == {"zephyr"}


def test_an_unknown_project_says_what_to_check(sim: ZephyrSimulator) -> None:
    with pytest.raises(
        InputError, match=re.escape("Zephyr project NOPE was not found at http://zephyr.sim/v2")
    ):
        run(adapter(sim, project_key="NOPE").read_project())


def test_listings_are_keyed_by_id_or_key(sim: ZephyrSimulator) -> None:
    folders = run(collect(adapter(sim), "folder"))
    assert folders
    for item in folders:
        assert item.source_key == str(item.payload["id"]) == str(item.source_id)
        parent = item.payload.get("parentId")
        assert item.parent_key == (None if parent is None else str(parent))
    cases = run(collect(adapter(sim), "test_case"))
    assert [c.source_key for c in cases] == [c.payload["key"] for c in cases]
    executions = run(collect(adapter(sim), "test_execution"))
    assert executions
    assert all(e.source_key == execution_key(e.payload) and e.parent_key is None for e in executions)
    assert execution_key({"id": 12}) == "12"
    for entity_type in (*ZephyrCloudSource.reference_types, *ZephyrCloudSource.plan_types):
        assert run(collect(adapter(sim), entity_type)), entity_type
    with pytest.raises(KeyError):
        run(collect(adapter(sim), "attachment"))


def test_test_case_parts_are_its_steps_or_else_its_script(sim: ZephyrSimulator) -> None:
    source = adapter(sim)
    parts = source.test_case_parts
    assert parts is not None
    assert (parts.progress_name, parts.entity_types) == ("test_steps", ("test_steps", "test_script"))
    cases = run(collect(adapter(sim), "test_case"))

    async def read_all() -> list[list[SourceItem]]:
        try:
            return [await parts.read(case) for case in cases]
        finally:
            await source.aclose()

    for case, items in zip(cases, run(read_all()), strict=True):
        steps = items[0]
        assert (steps.entity_type, steps.source_key, steps.parent_key) == (
            "test_steps",
            case.source_key,
            case.source_key,
        )
        scripts = [i for i in items if i.entity_type == "test_script"]
        assert not (steps.payload and scripts), "a step-by-step case has no script read"
        assert all(s.source_key == case.source_key for s in scripts)
    assert parts.applies_to(SourceItem("test_case", "P-T1", {"key": "P-T1"}))
    assert not parts.applies_to(SourceItem("test_case", "None", {"id": 3}))


def test_execution_parts_are_its_step_results(sim: ZephyrSimulator) -> None:
    source = adapter(sim)
    parts = source.execution_parts
    assert parts is not None
    assert (parts.progress_name, parts.entity_types) == ("execution_steps", ("execution_steps",))
    execution = run(collect(adapter(sim), "test_execution"))[0]

    async def read() -> list[SourceItem]:
        try:
            return await parts.read(execution)
        finally:
            await source.aclose()

    (steps,) = run(read())
    assert (steps.entity_type, steps.source_key, steps.parent_key) == (
        "execution_steps",
        execution.source_key,
        execution.source_key,
    )
    assert isinstance(steps.payload, list)


@pytest.mark.parametrize(
    ("case", "kind"),
    [
        ({"testScript": {"self": "https://api/v2/testcases/P-T1/teststeps"}}, STEPS),
        ({"testScript": {"self": "https://api/v2/testcases/P-T1/testscript/"}}, SCRIPT),
        ({}, NEITHER),
        ({"testScript": None}, NEITHER),
        ({"testScript": {}}, UNKNOWN),
        ({"testScript": {"self": "https://api/v2/testcases/P-T1/other"}}, UNKNOWN),
    ],
)
def test_the_test_script_link_says_what_a_test_case_holds(case: dict[str, Any], kind: str) -> None:
    assert script_kind(case) == kind


def test_each_test_case_costs_one_request_chosen_by_its_link(sim: ZephyrSimulator) -> None:
    source = adapter(sim)
    parts = source.test_case_parts
    assert parts is not None
    cases = run(collect(adapter(sim), "test_case"))
    sim.stats.reset()

    async def read_all() -> list[list[SourceItem]]:
        try:
            return [await parts.read(case) for case in cases]
        finally:
            await source.aclose()

    read = run(read_all())
    assert sim.stats.total() == len(cases)
    endpoints = sim.stats.snapshot()["endpoints"]
    assert set(endpoints) <= {
        "GET /v2/testcases/{testCaseKey}/teststeps",
        "GET /v2/testcases/{testCaseKey}/testscript",
    }
    for case, items in zip(cases, read, strict=True):
        by_type = {item.entity_type: item.payload for item in items}
        if script_kind(case.payload) == SCRIPT:
            assert by_type["test_steps"] == []
            assert "test_script" in by_type
        else:
            assert "test_script" not in by_type

    # No link: no script of either kind, and nothing to ask.
    sim.stats.reset()
    bare = SourceItem("test_case", cases[0].source_key, {"key": cases[0].source_key})
    (steps,) = run(parts.read(bare))
    assert (steps.entity_type, steps.payload) == ("test_steps", [])
    assert sim.stats.total() == 0


def test_step_results_are_read_only_when_the_execution_can_have_some(sim: ZephyrSimulator) -> None:
    source = adapter(sim)
    parts = source.execution_parts
    assert parts is not None

    def execution(key: str, version: int) -> SourceItem:
        link = {"id": version, "self": f"http://zephyr.sim/v2/testcases/{key}/versions/1"}
        return SourceItem("test_execution", f"E-{key}-{version}", {"id": 1, "testCase": link})

    stored: dict[str, dict[str, Any]] = {
        "test_case": {"P-T1": {"key": "P-T1", "id": 11}, "P-T2": {"key": "P-T2", "id": 12}},
        "test_steps": {"P-T1": [], "P-T2": [{"inline": {"description": "a step"}}]},
    }
    asked: list[tuple[str, set[str]]] = []

    def lookup(entity_type: str, keys: Any) -> dict[str, Any]:
        asked.append((entity_type, set(keys)))
        return {k: v for k, v in stored[entity_type].items() if k in set(keys)}

    batch = [execution("P-T1", 11), execution("P-T1", 10), execution("P-T2", 12), execution("P-T3", 13)]
    source.prepare_parts("test_execution", batch, lookup)
    assert asked == [("test_case", {"P-T1", "P-T2", "P-T3"}), ("test_steps", {"P-T1", "P-T2", "P-T3"})]
    # Only the run of P-T1's current version (stored without steps) has nothing to read: an older
    # version had steps of its own, P-T2 has steps, P-T3 is not stored.
    assert [parts.applies_to(e) for e in batch] == [False, True, True, True]
    assert parts.applies_to(SourceItem("test_execution", "E-9", {"id": 9}))
    source.prepare_parts("test_case", batch, lookup)
    assert len(asked) == 2, "only executions need a look-up"


def test_listings_come_page_by_page_and_resume_after_any_page(sim: ZephyrSimulator) -> None:
    for entity_type in ("test_case", "test_execution", "folder"):
        whole = [item.source_key for item in run(collect(adapter(sim), entity_type))]
        pages = run(pages_of(adapter(sim, page_size=2), entity_type))
        assert [item.source_key for items, _ in pages for item in items] == whole
        assert pages[-1][1] is None
        assert all(position for _, position in pages[:-1])
        exact = entity_type != "folder"  # cursor pages resume by id; offset pages do not
        assert all(bool(position.get("exact")) == exact for _, position in pages[:-1] if position)
        resumed = run(pages_of(adapter(sim, page_size=2), entity_type, resume=pages[1][1]))
        assert [item.source_key for items, _ in resumed for item in items] == whole[4:]


def test_executions_can_be_listed_by_end_date(sim: ZephyrSimulator) -> None:
    source = adapter(sim)
    assert source.delta_types == frozenset({"test_execution"})
    executions = [item.payload for item in run(collect(adapter(sim), "test_execution"))]
    ends = sorted(e["actualEndDate"] for e in executions if e.get("actualEndDate"))
    since = datetime.fromisoformat(ends[len(ends) // 2].replace("Z", "+00:00"))
    pages = run(pages_of(adapter(sim), "test_execution", since=since))
    listed = [item.payload for items, _ in pages for item in items]
    assert listed
    assert len(listed) < len(executions)
    assert all(e["actualEndDate"] > ends[len(ends) // 2] for e in listed)
    # Test cases have no such filter: a since changes nothing.
    assert len(run(pages_of(adapter(sim), "test_case", since=since))[0][0]) == len(
        run(collect(adapter(sim), "test_case"))
    )


async def pages_of(
    source: ZephyrCloudSource, entity_type: str, **options: Any
) -> list[tuple[list[SourceItem], dict[str, Any] | None]]:
    try:
        return [page async for page in source.read_pages(entity_type, **options)]
    finally:
        await source.aclose()
