"""The Zephyr Server adapter against a hand-built site: what extract gets, keyed how, read how."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from zephyr_server_wire import SITE, FakeSite

from ztoq.config import ZtoqConfig, build_config
from ztoq.errors import ConfigError, InputError
from ztoq.sources.base import SourceAdapter
from ztoq.sources.zephyr_server import ZephyrServerRecords, ZephyrServerSource
from ztoq.store import SourceItem


def config(max_workers: int = 4, **zephyr: Any) -> ZtoqConfig:
    section = {"base_url": SITE, "api_token": "pat-0123456789", "project_key": "DC", **zephyr}
    return build_config({"zephyr": section, "performance": {"max_workers": max_workers}})


def adapter(site: FakeSite, max_workers: int = 4, **zephyr: Any) -> ZephyrServerSource:
    return ZephyrServerSource(config(max_workers, **zephyr), transport=site.transport())


def collect(source: ZephyrServerSource, entity_type: str) -> list[SourceItem]:
    async def read() -> list[SourceItem]:
        try:
            return [item async for item in source.read_all(entity_type)]
        finally:
            await source.aclose()

    return asyncio.run(read())


def test_what_the_source_reads_and_building_it_opens_nothing() -> None:
    source: SourceAdapter = ZephyrServerSource(config())
    assert isinstance(source.reader, ZephyrServerRecords)
    assert (source.reference_types, source.plan_types) == (("environment",), ("test_plan", "test_cycle"))
    assert source.test_case_parts is None
    assert source.execution_parts is None
    assert source.api_stats() == {}
    without = ZephyrServerSource(config(api_token=None))
    with pytest.raises(ConfigError, match=r"zephyr\.username and zephyr\.password"):
        asyncio.run(without.read_project())


def test_the_project_is_jiras() -> None:
    site = FakeSite()
    source = adapter(site, base_url=f"{SITE}/rest/atm/1.0")
    item = asyncio.run(source.read_project())
    assert (item.entity_type, item.source_key, item.source_id, item.payload["name"]) == (
        "project",
        "DC",
        10000,
        "Data Center demo",
    )
    assert site.paths() == ["/rest/api/2/project/DC"]
    assert source.api_stats()["zephyr"]["requests"] == 1


def test_an_unknown_project_says_what_to_check() -> None:
    with pytest.raises(InputError) as caught:
        asyncio.run(adapter(FakeSite(), project_key="NOPE").read_project())
    message = str(caught.value)
    assert re.search(rf"Jira project NOPE was not found at {re.escape(SITE)};", message)
    assert "zephyr.project_key" in message
    assert "Zephyr Scale is enabled" in message


def test_environments_are_keyed_by_id() -> None:
    [item] = collect(adapter(FakeSite()), "environment")
    assert (item.entity_type, item.source_key, item.source_id, item.payload["name"]) == (
        "environment",
        "1",
        1,
        "Chrome",
    )


def test_test_cases_and_plans_come_whole_from_one_search_each() -> None:
    site = FakeSite()
    cases = collect(adapter(site), "test_case")
    assert [(c.source_key, c.source_id) for c in cases] == [
        ("DC-T12", None),
        ("DC-T3", None),
        ("DC-T4", None),
    ]
    assert cases[0].payload["testScript"]["steps"]  # inline: no parts to read
    plans = collect(adapter(site), "test_plan")
    assert [p.source_key for p in plans] == ["DC-P1"]
    assert [r.url.path for r in site.requests] == [
        "/rest/atm/1.0/testcase/search",
        "/rest/atm/1.0/testplan/search",
    ]
    assert all("fields" not in r.url.params for r in site.requests)


def test_a_run_listed_without_items_is_read_whole() -> None:
    site = FakeSite()
    runs = collect(adapter(site), "test_cycle")
    assert [(r.entity_type, r.source_key) for r in runs] == [("test_cycle", "DC-C1"), ("test_cycle", "DC-C4")]
    assert runs[0].payload["items"][0]["id"] == 7001
    assert runs[1].payload["items"] == []
    assert site.paths() == ["/rest/atm/1.0/testrun/search", "/rest/atm/1.0/testrun/DC-C4"]


def test_results_are_read_run_by_run_and_name_their_run() -> None:
    site = FakeSite()
    site.results["DC-C1"].append(
        {"id": 5200, "testCaseKey": "DC-T3", "testRunKey": "DC-C1", "status": "Pass"}
    )
    results = collect(adapter(site), "test_execution")
    assert [(r.entity_type, r.source_key, r.source_id) for r in results] == [
        ("test_execution", "5123", 5123),
        ("test_execution", "5200", 5200),
        ("test_execution", "5124", 5124),
    ]
    assert results[2].payload["testRunKey"] == "DC-C4"  # added: the server left it out
    assert results[0].payload == site.results["DC-C1"][0]  # unchanged otherwise
    listing = site.requests[0]
    assert (listing.url.path, listing.url.params["fields"]) == ("/rest/atm/1.0/testrun/search", "key")


def test_results_are_read_concurrently_but_yielded_in_run_order() -> None:
    site = FakeSite()
    keys = [f"DC-C{n}" for n in range(10, 20)]
    site.runs = [{"key": key} for key in keys]
    site.results = {key: [{"id": n, "testRunKey": key}] for n, key in enumerate(keys)}
    del site.results["DC-C12"]  # deleted since it was listed: skipped
    site.delay = {
        f"/rest/atm/1.0/testrun/{key}/testresults": 0.02 if n % 2 == 0 else 0.0 for n, key in enumerate(keys)
    }
    results = collect(adapter(site, max_workers=3), "test_execution")
    assert [r.payload["testRunKey"] for r in results] == [k for k in keys if k != "DC-C12"]
    assert 1 < site.most_in_flight <= 3


def test_an_unknown_type_is_refused() -> None:
    with pytest.raises(KeyError):
        collect(adapter(FakeSite()), "folder")


def test_stopping_early_cancels_the_reads_in_flight() -> None:
    site = FakeSite()
    keys = [f"DC-C{n}" for n in range(10, 16)]
    site.runs = [{"key": key} for key in keys]
    site.results = {key: [{"id": n}] for n, key in enumerate(keys)}
    site.delay = {f"/rest/atm/1.0/testrun/{key}/testresults": 0.05 for key in keys[1:]}
    source = adapter(site, max_workers=3)

    async def first() -> SourceItem:
        items = source.read_all("test_execution")
        try:
            return await anext(items)
        finally:
            await items.aclose()  # type: ignore[attr-defined]
            await source.aclose()

    assert asyncio.run(first()).payload == {"id": 0, "testRunKey": "DC-C10"}
    assert site.in_flight == 0


def pages(source: ZephyrServerSource, entity_type: str, **options: Any) -> list[tuple[list[str], Any]]:
    async def read() -> list[tuple[list[str], Any]]:
        try:
            return [
                ([item.source_key for item in items], position)
                async for items, position in source.read_pages(entity_type, **options)
            ]
        finally:
            await source.aclose()

    return asyncio.run(read())


def test_searches_come_page_by_page_and_resume_at_the_next_start() -> None:
    site = FakeSite()
    site.cases = [{"key": f"DC-T{n}", "name": f"case {n}"} for n in range(1, 6)]
    listed = pages(adapter(site, page_size=2), "test_case")
    assert listed == [
        (["DC-T1", "DC-T2"], {"startAt": 2}),
        (["DC-T3", "DC-T4"], {"startAt": 4}),
        (["DC-T5"], None),
    ]
    site.requests.clear()
    assert pages(adapter(site, page_size=2), "test_case", resume={"startAt": 4}) == [(["DC-T5"], None)]
    assert site.requests[0].url.params["startAt"] == "4"
    assert ZephyrServerSource.delta_types == frozenset(), "v1's searches have no time filter"


def test_results_resume_after_the_runs_page_whose_results_were_all_yielded() -> None:
    site = FakeSite()
    keys = [f"DC-C{n}" for n in range(10, 15)]
    site.runs = [{"key": key} for key in keys]
    site.results = {key: [{"id": n, "testRunKey": key}] for n, key in enumerate(keys)}
    listed = pages(adapter(site, page_size=2), "test_execution")
    # The results of each run, then, after each full page of runs, where the next page starts.
    assert listed == [
        (["0"], None),
        (["1"], None),
        ([], {"startAt": 2}),
        (["2"], None),
        (["3"], None),
        ([], {"startAt": 4}),
        (["4"], None),
    ]
    site.requests.clear()
    assert pages(adapter(site, page_size=2), "test_execution", resume={"startAt": 4}) == [(["4"], None)]
    assert [r.url.path for r in site.requests] == [
        "/rest/atm/1.0/testrun/search",
        "/rest/atm/1.0/testrun/DC-C14/testresults",
    ]
