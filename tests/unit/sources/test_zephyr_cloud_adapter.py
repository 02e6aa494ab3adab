"""The Zephyr Scale Cloud adapter against the simulator in process: what extract gets, keyed how."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Coroutine
from typing import Any, TypeVar

import httpx
import pytest

from ztoq.config import ZtoqConfig, build_config
from ztoq.errors import ConfigError, InputError
from ztoq.simulators.zephyr import DEFAULT_ZEPHYR_TOKEN, ZephyrSimulator
from ztoq.sources import DEFAULT_SOURCE, SOURCES, reader_for, source_for
from ztoq.sources.zephyr_cloud import ZephyrCloudRecords, ZephyrCloudSource, execution_key
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
