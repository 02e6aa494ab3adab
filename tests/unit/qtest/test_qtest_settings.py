"""The one reader of the qTest target's settings, and its one policy, over httpx.MockTransport."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from ztoq.errors import ConfigError, FatalApiError, ServerError
from ztoq.http import ApiSession, RetryPolicy
from ztoq.qtest import QTestClient
from ztoq.qtest.settings import (
    FieldSettingsRefused,
    ProjectNotAccessible,
    TargetSettings,
    read_target_settings,
)
from ztoq.vendor import QTEST_SETTINGS_OBJECT_TYPES

P = "/api/v3/projects/7"
FIELD = {"id": 11, "label": "Priority", "data_type": 3, "allowed_values": [{"value": 1, "label": "High"}]}


def qtest(overrides: dict[str, httpx.Response]) -> tuple[QTestClient, list[httpx.Request]]:
    """A client of a fake project 7; ``overrides`` answers paths ending with a key differently."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        path = request.url.path
        for suffix, response in overrides.items():
            if path.endswith(suffix):
                return response
        if path == P:
            return httpx.Response(200, json={"id": 7, "name": "Target"})
        if "/settings/" in path:
            return httpx.Response(200, json=[FIELD])
        if path.endswith("/execution-statuses"):
            return httpx.Response(200, json=[{"id": 601, "name": "Passed", "is_default": True}])
        if path.endswith("/users"):
            return httpx.Response(200, json=[{"id": 5, "username": "ada@example.com"}])
        return httpx.Response(404, json={"message": "no such route"})

    session = ApiSession(
        httpx.AsyncClient(transport=httpx.MockTransport(answer)),
        api_name="qTest",
        base_url="https://acme.qtestnet.com",
        auth=lambda: "Bearer qtest-token",
        retry=RetryPolicy(retry_count=0),
        owns_client=True,
    )
    return QTestClient(session, 7), seen


def read(
    overrides: dict[str, httpx.Response], include_inactive: bool = False
) -> tuple[TargetSettings, list[httpx.Request]]:
    client, seen = qtest(overrides)

    async def go() -> TargetSettings:
        try:
            return await read_target_settings(client, include_inactive=include_inactive)
        finally:
            await client.aclose()

    return asyncio.run(go()), seen


def refused(status: int) -> httpx.Response:
    return httpx.Response(status, json={"message": "refused"})


def test_reads_project_fields_statuses_and_users_with_gets_only() -> None:
    settings, seen = read({})
    assert settings.project.name == "Target"
    assert list(settings.field_payloads()) == list(QTEST_SETTINGS_OBJECT_TYPES)
    assert settings.field_payloads()["test-cases"] == [FIELD]
    assert settings.status_payloads() == [{"id": 601, "name": "Passed", "is_default": True}]
    assert settings.user_payloads() == [{"id": 5, "username": "ada@example.com"}]
    assert {r.method for r in seen} == {"GET"}
    assert len(seen) == 1 + len(QTEST_SETTINGS_OBJECT_TYPES) + 2
    assert all("includeInactive" not in r.url.params for r in seen)


def test_inactive_fields_are_asked_for_on_request() -> None:
    _, seen = read({}, include_inactive=True)
    assert all(r.url.params.get("includeInactive") == "true" for r in seen if "/settings/" in r.url.path)


@pytest.mark.parametrize("status", [400, 404, 405])
def test_an_object_type_this_qtest_has_no_settings_for_has_no_fields(status: int) -> None:
    settings, _ = read({"/settings/test-suites/fields": refused(status)})
    assert settings.fields["test-suites"] == []
    assert settings.field_payloads()["test-cases"] == [FIELD]


def test_refused_field_settings_stop_with_one_sentence() -> None:
    with pytest.raises(FieldSettingsRefused) as info:
        read({"/settings/test-runs/fields": refused(403)})
    assert isinstance(info.value, ConfigError)
    assert info.value.exit_code == 2
    assert str(info.value) == (
        "qTest refused to show the token's user the test-runs field settings of project 7 (403), so ztoq "
        "cannot tell which custom fields and values exist; use the token of a user who may see the "
        "project's settings, or ask a qTest administrator to grant this user that access."
    )


@pytest.mark.parametrize("status", [403, 404])
def test_an_inaccessible_project_is_qtests_answer_marked_as_the_projects(status: int) -> None:
    with pytest.raises(ProjectNotAccessible) as info:
        read({P: refused(status)})
    assert isinstance(info.value, FatalApiError)
    assert (info.value.project_id, info.value.status, info.value.api) == (7, status, "qTest")
    assert str(info.value).startswith(f"qTest answered {status} to GET https://acme.qtestnet.com{P}")


def test_other_failures_reach_the_caller_as_they_are() -> None:
    with pytest.raises(ServerError):
        read({"/settings/releases/fields": refused(500)})
