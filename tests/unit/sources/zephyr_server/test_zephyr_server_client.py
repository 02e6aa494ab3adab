"""The Zephyr Server client: the site URL, credentials, TQL, search paging and its stall guard."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
from zephyr_server_wire import SITE, FakeSite

from ztoq.config import PerformanceConfig, ZephyrConfig
from ztoq.errors import ApiError, AuthenticationFailed
from ztoq.sources.zephyr_server.client import SearchPages, SearchStalled, ZephyrServerClient, project_query

TOKEN = "pat-secret-0123456789"


def zephyr(**values: Any) -> ZephyrConfig:
    return ZephyrConfig(
        **{"base_url": f"{SITE}/rest/atm/1.0", "api": "server", "project_key": "DC", **values}
    )


def client(site: FakeSite, **values: Any) -> ZephyrServerClient:
    config = zephyr(**{"api_token": TOKEN, **values})
    return ZephyrServerClient.from_config(config, transport=site.transport(), performance=PerformanceConfig())


async def _all(client: ZephyrServerClient, project_key: str = "DC", **kw: Any) -> list[dict[str, Any]]:
    try:
        return [row async for row in client.test_cases(project_key, **kw)]
    finally:
        await client.aclose()


def test_the_project_query_quotes_and_escapes_the_key() -> None:
    assert project_query("DC") == 'projectKey = "DC"'
    assert project_query('A"B\\C') == 'projectKey = "A\\"B\\\\C"'


def test_a_short_page_is_the_last() -> None:
    pager = SearchPages(2)
    assert pager.params() == {"startAt": 0, "maxResults": 2}
    assert pager.advance([{"key": "A"}, {"key": "B"}]) == [{"key": "A"}, {"key": "B"}]
    assert (pager.finished, pager.params()) == (False, {"startAt": 2, "maxResults": 2})
    assert pager.advance([{"key": "C"}]) == [{"key": "C"}]
    assert pager.finished
    assert pager.pages == 2
    with pytest.raises(RuntimeError):
        pager.advance([])


def test_an_empty_page_ends_the_search_and_a_non_array_is_an_error() -> None:
    pager = SearchPages(5)
    assert pager.advance([]) == []
    assert pager.finished
    assert SearchPages(5).advance([{"key": "A"}, "junk"]) == [{"key": "A"}]  # not an object: left out
    with pytest.raises(ApiError, match="dict, not a JSON array"):
        SearchPages(5, what="GET /x").advance({"values": []})


def test_a_repeated_full_page_stops_the_search() -> None:
    pager = SearchPages(1, what="GET /rest/atm/1.0/testcase/search")
    pager.advance([{"key": "A"}])
    with pytest.raises(SearchStalled, match="startAt=1 with the same 1 results"):
        pager.advance([{"key": "A"}])


def test_the_session_is_on_the_site_and_searches_page_by_startat() -> None:
    site = FakeSite()
    rows = asyncio.run(_all(client(site, page_size=2)))
    assert [r["key"] for r in rows] == ["DC-T12", "DC-T3", "DC-T4"]
    assert [r.url.path for r in site.requests] == ["/rest/atm/1.0/testcase/search"] * 2
    first, second = (dict(r.url.params) for r in site.requests)
    assert first == {"query": 'projectKey = "DC"', "startAt": "0", "maxResults": "2"}  # no fields
    assert second["startAt"] == "2"
    assert site.requests[0].headers["authorization"] == f"Bearer {TOKEN}"


def test_the_page_size_is_200_unless_set_and_never_more() -> None:
    site = FakeSite()
    assert client(site).max_results == 200
    assert client(site, page_size=50).max_results == 50
    assert client(site, page_size=1000).max_results == 200
    assert client(site).session.base_url == SITE
    assert ZephyrServerClient.from_config(zephyr(base_url=SITE + "/jira/")).session.base_url == SITE + "/jira"


def test_fields_are_asked_for_when_given() -> None:
    site = FakeSite()
    rows = asyncio.run(_all(client(site), fields="key"))
    assert rows == [{"key": "DC-T12"}, {"key": "DC-T3"}, {"key": "DC-T4"}]
    assert site.requests[0].url.params["fields"] == "key"


def test_basic_authentication_when_no_token() -> None:
    site = FakeSite()
    session_client = client(site, api_token=None, username="ada", password="pw")
    asyncio.run(_all(session_client))
    expected = base64.b64encode(b"ada:pw").decode()
    assert site.requests[0].headers["authorization"] == f"Basic {expected}"


def test_a_server_ignoring_startat_is_stopped() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[{"key": "DC-T1"}, {"key": "DC-T2"}])

    stuck = ZephyrServerClient.from_config(
        zephyr(api_token=TOKEN, page_size=2), transport=httpx.MockTransport(handler)
    )
    with pytest.raises(SearchStalled):
        asyncio.run(_all(stuck))


@pytest.mark.parametrize(
    ("credentials", "named"),
    [
        ({"api_token": TOKEN}, "personal access token in zephyr.api_token"),
        ({"username": "ada", "password": TOKEN}, "ada"),
    ],
)
def test_a_401_names_both_server_credentials_and_never_the_secret(
    credentials: dict[str, Any], named: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"errorMessages": ["You are not authenticated."]})

    config = zephyr(**credentials)
    refused = ZephyrServerClient.from_config(config, transport=httpx.MockTransport(handler))
    with pytest.raises(AuthenticationFailed) as caught:
        asyncio.run(_all(refused))
    message = str(caught.value)
    assert named in message
    assert "zephyr.api_token" in message
    assert "zephyr.username and zephyr.password" in message
    assert TOKEN not in message
    assert caught.value.status == 401


def test_single_objects_and_arrays() -> None:
    site = FakeSite()
    zephyr_client = client(site)

    async def read() -> tuple[Any, ...]:
        try:
            return (
                await zephyr_client.project("DC"),
                await zephyr_client.environments("DC"),
                await zephyr_client.test_run("DC-C4"),
                await zephyr_client.test_results("DC-C1"),
            )
        finally:
            await zephyr_client.aclose()

    project, environments, run, results = asyncio.run(read())
    assert (project["key"], environments[0]["name"], run["items"], results[0]["id"]) == (
        "DC",
        "Chrome",
        [],
        5123,
    )
    assert site.paths() == [
        "/rest/api/2/project/DC",
        "/rest/atm/1.0/environments",
        "/rest/atm/1.0/testrun/DC-C4",
        "/rest/atm/1.0/testrun/DC-C1/testresults",
    ]
    assert site.requests[1].url.params["projectKey"] == "DC"


def test_an_object_where_an_array_belongs_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"oops": True})

    odd = ZephyrServerClient.from_config(zephyr(api_token=TOKEN), transport=httpx.MockTransport(handler))
    with pytest.raises(ApiError, match="not a JSON array"):
        asyncio.run(odd.environments("DC"))
