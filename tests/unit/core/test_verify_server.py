"""``verify-tokens`` against Zephyr Scale Server/Data Center: the Jira site, its credentials, the project."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ztoq.config import build_config
from ztoq.verify import FAIL, PASS, SKIP, Check, exit_code, verify_tokens
from ztoq.verify_checks import secrets

PAT = "pat7Qw2Er9Ty4Ui1Op6As3"
PASSWORD = "pw5Kd8Lm2Nb7Vc"
SITE = "https://jira.example.com"

Answer = Callable[[httpx.Request], httpx.Response]


def jira(
    environments: Answer | None = None, project: Answer | None = None
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    """A Jira site with Zephyr Scale and project DC; returns the transport and the requests it saw."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        if path == "/rest/atm/1.0/environments":
            if environments is not None:
                return environments(request)
            return httpx.Response(200, json=[{"id": 1, "name": "Chrome"}])
        if path == "/rest/api/2/project/DC":
            if project is not None:
                return project(request)
            return httpx.Response(200, json={"id": "10000", "key": "DC", "name": "Data Center"})
        return httpx.Response(404, json={"errorMessages": ["Not found"]})

    return httpx.MockTransport(answer), seen


def zephyr_checks(transport: httpx.AsyncBaseTransport, **zephyr: Any) -> dict[str, Check]:
    """The Zephyr checks of ``verify_tokens`` (no qTest URL: qTest sends nothing)."""
    settings = {"base_url": f"{SITE}/rest/atm/1.0", "project_key": "DC", **zephyr}
    checks = verify_tokens(build_config({"zephyr": settings}), zephyr_transport=transport)
    text = json.dumps([c.message for c in checks])
    assert PAT not in text
    assert PASSWORD not in text
    return {c.name: c for c in checks if c.service == "Zephyr"}


def test_a_personal_access_token_that_works_passes_every_check() -> None:
    transport, seen = jira()
    found = zephyr_checks(transport, api_token=PAT)
    assert [c.status for c in found.values()] == [PASS, PASS, PASS]
    assert list(found) == ["base URL", "credentials", "project"]
    assert (
        found["base URL"].message == f"{SITE}/rest/atm/1.0 answers as a Jira site with Zephyr Scale Server."
    )
    assert found["credentials"].message == "Jira accepts the personal access token."
    assert found["project"].message == "Project DC 'Data Center' (id 10000) is readable."
    assert [str(r.url) for r in seen] == [
        f"{SITE}/rest/atm/1.0/environments?projectKey=DC",
        f"{SITE}/rest/api/2/project/DC",
    ]
    assert {r.headers["authorization"] for r in seen} == {f"Bearer {PAT}"}


def test_a_username_and_password_are_sent_as_basic_authentication() -> None:
    transport, seen = jira()
    found = zephyr_checks(transport, username="ana", password=PASSWORD)
    assert found["credentials"] == Check("Zephyr", "credentials", PASS, "Jira accepts the login of ana.")
    pair = base64.b64encode(f"ana:{PASSWORD}".encode()).decode()
    assert seen[0].headers["authorization"] == f"Basic {pair}"


def test_rejected_credentials_name_what_to_set() -> None:
    transport, _ = jira(environments=lambda r: httpx.Response(401, json={"errorMessages": ["no"]}))
    found = zephyr_checks(transport, api_token=PAT)
    assert found["base URL"].status == PASS
    assert (found["credentials"].status, found["credentials"].exit_code) == (FAIL, 2)
    assert found["credentials"].message.startswith(
        "Jira rejected the personal access token in zephyr.api_token (401)"
    )
    assert "zephyr.username and zephyr.password" in found["credentials"].message
    assert found["project"] == Check(
        "Zephyr", "project", SKIP, "Project DC not checked: the credentials were not accepted."
    )
    basic = zephyr_checks(transport, username="ana", password=PASSWORD)["credentials"]
    assert basic.message.startswith(
        "Jira rejected the login of ana (401): check zephyr.username and zephyr.password"
    )


def test_a_404_web_page_is_not_a_jira_site_with_zephyr_scale() -> None:
    page = b"<!DOCTYPE html><html><body>Not here</body></html>"
    transport, _ = jira(
        environments=lambda r: httpx.Response(404, content=page, headers={"content-type": "text/html"})
    )
    found = zephyr_checks(transport, api_token=PAT)
    assert (found["base URL"].status, found["base URL"].exit_code) == (FAIL, 2)
    assert found["base URL"].message == (
        f"{SITE}/rest/atm/1.0 answered 404 to GET /rest/atm/1.0/environments: it is not a Jira Server/Data "
        "Center site, or Zephyr Scale Server is not installed on it; set zephyr.base_url to the Jira "
        "Server/Data Center site (e.g. https://jira.example.com), or to the Zephyr Scale Cloud API "
        "(https://api.zephyrscale.smartbear.com/v2) for Zephyr Scale Cloud."
    )
    assert found["credentials"].status == SKIP
    assert found["project"].status == SKIP


def test_a_login_page_is_not_the_api() -> None:
    page = b"<html><title>Log in</title></html>"
    transport, _ = jira(
        environments=lambda r: httpx.Response(200, content=page, headers={"content-type": "text/html"})
    )
    message = zephyr_checks(transport, api_token=PAT)["base URL"].message
    assert "with a web page (text/html), so it is not a Jira site with Zephyr Scale Server" in message


def test_missing_credentials_fail_with_one_sentence_and_send_none() -> None:
    transport, seen = jira(environments=lambda r: httpx.Response(401, json={"errorMessages": ["login"]}))
    found = zephyr_checks(transport)
    assert found["base URL"].status == PASS
    assert found["credentials"] == Check(
        "Zephyr",
        "credentials",
        FAIL,
        "No Jira Server/Data Center credentials: pass --zephyr-token or set zephyr.api_token "
        "(ZTOQ_ZEPHYR_API_TOKEN) to a Jira personal access token, or set zephyr.username "
        "(--zephyr-username) and zephyr.password (ZTOQ_ZEPHYR_PASSWORD).",
        2,
    )
    assert all("authorization" not in r.headers for r in seen)
    without_password = zephyr_checks(transport, username="ana")["credentials"]
    assert without_password.message.startswith("zephyr.username is ana but no password is set")


def test_a_url_of_neither_form_is_one_failed_line_before_any_request() -> None:
    transport, seen = jira()
    url = "https://api.atlassian.com/ex/jira/abc/rest/zephyr/1.0"
    checks = verify_tokens(
        build_config({"zephyr": {"base_url": url, "api_token": PAT}}), zephyr_transport=transport
    )
    (line,) = [c for c in checks if c.service == "Zephyr"]
    assert (line.name, line.status, line.exit_code) == ("base URL", FAIL, 2)
    assert line.message.startswith(f"zephyr.base_url {url} is neither the Zephyr Scale Cloud API")
    assert seen == []
    assert exit_code(checks) == 2


def test_a_refused_connection_is_said_as_such() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    found = zephyr_checks(httpx.MockTransport(refuse), api_token=PAT)
    assert found["base URL"].message == (
        f"Cannot connect to {SITE}/rest/atm/1.0: jira.example.com refused the connection: "
        "nothing listens there."
    )
    assert found["credentials"].status == SKIP


@pytest.mark.parametrize(
    ("environments", "status", "start"),
    [
        (200, 404, "Jira project DC does not exist or the user cannot see it (404)"),
        (400, 200, "Jira project DC 'Data Center' (id 10000) exists, but Zephyr Scale refused it"),
    ],
)
def test_a_project_jira_or_zephyr_scale_does_not_have(environments: int, status: int, start: str) -> None:
    transport, _ = jira(
        environments=lambda r: httpx.Response(environments, json={"errorMessages": ["Project DC not found"]}),
        project=lambda r: httpx.Response(
            status, json={"id": "10000", "key": "DC", "name": "Data Center", "errorMessages": ["no"]}
        ),
    )
    found = zephyr_checks(transport, api_token=PAT)
    assert [found["base URL"].status, found["credentials"].status] == [PASS, PASS]
    assert (found["project"].status, found["project"].exit_code) == (FAIL, 2)
    assert found["project"].message.startswith(start)


def test_an_echoed_basic_header_is_scrubbed() -> None:
    transport, _ = jira(project=lambda r: httpx.Response(418, text=f"bad {r.headers['authorization']}"))
    found = zephyr_checks(transport, username="ana", password=PASSWORD)
    pair = base64.b64encode(f"ana:{PASSWORD}".encode()).decode()
    assert found["project"].message.startswith("GET /rest/api/2/project/DC failed: Zephyr answered 418")
    assert pair not in found["project"].message
    config = build_config({"zephyr": {"username": "ana", "password": PASSWORD}})
    assert {PASSWORD, pair} <= set(secrets(config))
