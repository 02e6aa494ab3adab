"""Contract test of the simulated Jira user API, and of ztoq's client against it.

No Jira specification is in the shared specs, so the shapes are those of Atlassian's REST
reference: Cloud v3 ``User`` (``accountId``, ``accountType``, ``displayName``, ``emailAddress``
(absent when hidden), ``active``, ...) and ``PageBeanUser`` (``self``, ``nextPage``,
``maxResults``, ``startAt``, ``total``, ``isLast``, ``values``); Server/Data Center v2 ``User``
(``key``, ``name``, ``displayName``, ``emailAddress``, ``active``). Errors are Jira's
``ErrorCollection`` (``errorMessages``, ``errors``). Cloud authenticates with Basic
``email:api_token``; Server/Data Center with a Bearer PAT or Basic user:password.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest

from ztoq.config import JiraConfig
from ztoq.errors import AuthenticationFailed
from ztoq.simulators import catalog
from ztoq.simulators.zephyr import (
    DEFAULT_JIRA_API_TOKEN,
    DEFAULT_JIRA_EMAIL,
    ZephyrSimulator,
    generate_dataset,
)
from ztoq.simulators.zephyr_server import DEFAULT_SERVER_TOKEN, ZephyrServerSimulator
from ztoq.simulators.zephyr_server.generate import generate_server_dataset
from ztoq.sources import jira_users
from ztoq.sources.jira_users import JiraUsersClient

USER_FIELDS = {
    "self",
    "accountId",
    "accountType",
    "emailAddress",
    "displayName",
    "active",
    "timeZone",
    "locale",
}
PAGE_FIELDS = {"self", "nextPage", "maxResults", "startAt", "total", "isLast", "values"}
ACCOUNTS = [u.account_id for u in catalog.USERS]
CONTRACTOR = next(u for u in catalog.USERS if u.qtest_login is None)
BASIC = "Basic " + base64.b64encode(f"{DEFAULT_JIRA_EMAIL}:{DEFAULT_JIRA_API_TOKEN}".encode()).decode()


@pytest.fixture(scope="module")
def cloud() -> ZephyrSimulator:
    return ZephyrSimulator(generate_dataset(20, seed=4))


def get(app: Any, path: str, params: Any = None, auth: str | None = BASIC) -> httpx.Response:
    async def send() -> httpx.Response:
        headers = {} if auth is None else {"Authorization": auth}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://jira.test"
        ) as client:
            return await client.get(path, params=params, headers=headers)

    return asyncio.run(send())


def _user_shape(user: dict[str, Any]) -> None:
    assert set(user) <= USER_FIELDS, set(user) - USER_FIELDS
    assert {"self", "accountId", "accountType", "displayName", "active"} <= set(user)
    assert user["accountType"] == "atlassian"
    assert user["self"] == f"http://jira.test/rest/api/3/user?accountId={user['accountId']}"


def test_bulk_pages_follow_jira_cloud_page_bean(cloud: ZephyrSimulator) -> None:
    wanted = [*ACCOUNTS, "5b10ffffffffffffffffffff"]  # the last one Jira does not know
    seen: list[dict[str, Any]] = []
    start = 0
    while True:
        answer = get(
            cloud.app,
            "/rest/api/3/user/bulk",
            [*[("accountId", a) for a in wanted], ("startAt", start), ("maxResults", 2)],
        )
        assert answer.status_code == 200, answer.text
        page = answer.json()
        assert set(page) <= PAGE_FIELDS
        assert {"maxResults", "startAt", "total", "isLast", "values"} <= set(page)
        assert (page["startAt"], page["maxResults"], page["total"]) == (start, 2, len(ACCOUNTS))
        assert ("nextPage" in page) is (not page["isLast"])
        seen += page["values"]
        if page["isLast"]:
            break
        start += len(page["values"])
    for user in seen:
        _user_shape(user)
    by_account = {u["accountId"]: u for u in seen}
    assert list(by_account) == ACCOUNTS
    ada = by_account[catalog.USERS[0].account_id]
    assert (ada["displayName"], ada["emailAddress"], ada["active"]) == (
        "Ada Lovelace",
        "ada@example.com",
        True,
    )
    gone = by_account[CONTRACTOR.account_id]
    assert "emailAddress" not in gone
    assert gone["active"] is False
    assert get(cloud.app, "/rest/api/3/user/bulk", [("accountId", ACCOUNTS[0])]).json()["maxResults"] == 10


def test_single_user_and_errors(cloud: ZephyrSimulator) -> None:
    one = get(cloud.app, "/rest/api/3/user", {"accountId": ACCOUNTS[1]})
    assert one.status_code == 200
    _user_shape(one.json())
    for params, status in (({"accountId": "nobody"}, 404), ({}, 400)):
        answer = get(cloud.app, "/rest/api/3/user", params)
        assert answer.status_code == status
        assert set(answer.json()) == {"errorMessages", "errors"}
    assert get(cloud.app, "/rest/api/3/user/bulk").status_code == 400


def test_jira_cloud_authentication(cloud: ZephyrSimulator) -> None:
    path, params = "/rest/api/3/user", {"accountId": ACCOUNTS[0]}
    wrong = "Basic " + base64.b64encode(f"{DEFAULT_JIRA_EMAIL}:nope".encode()).decode()
    for auth in (None, wrong, "Bearer zephyr-sim-token"):
        answer = get(cloud.app, path, params, auth)
        assert answer.status_code == 401
        assert answer.json()["errorMessages"]
    # Zephyr's own API still wants its bearer token, not the Jira credentials.
    assert get(cloud.app, "/v2/projects", auth=BASIC).status_code == 401


def _client(app: Any, config: JiraConfig) -> JiraUsersClient:
    return JiraUsersClient.from_config(config, transport=httpx.ASGITransport(app))


def test_client_reads_cloud_users_in_pages(cloud: ZephyrSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jira_users, "BULK_PAGE_SIZE", 2)
    config = JiraConfig(
        base_url="http://jira.test", email=DEFAULT_JIRA_EMAIL, api_token=DEFAULT_JIRA_API_TOKEN
    )

    async def read() -> dict[str, jira_users.JiraUser]:
        client = _client(cloud.app, config)
        try:
            return await client.users([*ACCOUNTS, "unknown"])
        finally:
            await client.aclose()

    found = asyncio.run(read())
    assert list(found) == ACCOUNTS
    assert found[CONTRACTOR.account_id].email == ""
    assert not found[CONTRACTOR.account_id].active
    assert found[ACCOUNTS[3]].display_name == "José Müller-Ñúñez"


def test_client_names_the_setting_on_401(cloud: ZephyrSimulator) -> None:
    config = JiraConfig(base_url="http://jira.test", email=DEFAULT_JIRA_EMAIL, api_token="stale-secret")

    async def read() -> None:
        client = _client(cloud.app, config)
        try:
            await client.users(ACCOUNTS[:1])
        finally:
            await client.aclose()

    with pytest.raises(AuthenticationFailed) as caught:
        asyncio.run(read())
    assert "jira.api_token" in str(caught.value)
    assert "stale-secret" not in str(caught.value)


def test_client_reads_data_center_users_by_key() -> None:
    server = ZephyrServerSimulator(generate_server_dataset(3, seed=1))
    config = JiraConfig(base_url="http://jira.test", pat=DEFAULT_SERVER_TOKEN)

    async def read() -> dict[str, jira_users.JiraUser]:
        client = _client(server.app, config)
        try:
            return await client.users(["JIRAUSER10100", "contractor", "nobody"])
        finally:
            await client.aclose()

    found = asyncio.run(read())
    assert set(found) == {"JIRAUSER10100", "contractor"}
    assert (found["JIRAUSER10100"].display_name, found["JIRAUSER10100"].email) == (
        "Ada Lovelace",
        "ada@example.com",
    )
