"""``verify-tokens`` reads the qTest settings through the same reader as extract, under its policy."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from ztoq.config import build_config
from ztoq.verify import FAIL, PASS, SKIP, WARN, Check, verify_tokens

QTEST_TOKEN = "qt9Hs2Vb7Mw4Jx1Ze6Pk"


def qtest(overrides: dict[str, Callable[[], httpx.Response]]) -> httpx.MockTransport:
    """A qTest site with project 3; ``overrides`` answers paths containing a key differently."""

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for part, response in overrides.items():
            if part in path:
                return response()
        if path == "/api/v3/projects":
            return httpx.Response(200, json=[{"id": 3, "name": "Target"}])
        if path == "/api/v3/projects/3":
            return httpx.Response(200, json={"id": 3, "name": "Target"})
        if path.endswith("/user-profiles/current"):
            return httpx.Response(200, json={"test_case": {"create": True}})
        return httpx.Response(200, json=[])

    return httpx.MockTransport(answer)


def qtest_checks(overrides: dict[str, Callable[[], httpx.Response]]) -> dict[str, Check]:
    config = build_config(
        {"qtest": {"base_url": "https://acme.qtestnet.com", "project_id": 3, "bearer_token": QTEST_TOKEN}}
    )
    checks = verify_tokens(
        config,
        zephyr_transport=httpx.MockTransport(lambda r: httpx.Response(401)),
        qtest_transport=qtest(overrides),
    )
    found = {c.name: c for c in checks if c.service == "qTest"}
    assert QTEST_TOKEN[:6] not in " ".join(c.message for c in checks)
    return found


def test_readable_settings_pass() -> None:
    found = qtest_checks({})
    assert [found[n].status for n in ("base URL", "token", "project", "permissions")] == [PASS] * 4
    assert found["project"].message == "Project 3 'Target' is accessible."


def test_refused_field_settings_fail_with_the_readers_sentence() -> None:
    found = qtest_checks({"/settings/test-cases/": lambda: httpx.Response(403, json={"message": "no"})})
    project = found["project"]
    assert (project.status, project.exit_code) == (FAIL, 2)
    assert project.message.startswith(
        "qTest refused to show the token's user the test-cases field settings of project 3 (403)"
    )
    assert found["permissions"].status == SKIP


def test_an_object_type_without_settings_is_no_failure() -> None:
    found = qtest_checks({"/settings/test-suites/": lambda: httpx.Response(404, json={"message": "no"})})
    assert found["project"].status == PASS


def test_a_server_failure_on_the_settings_is_the_service_failing() -> None:
    found = qtest_checks({"/execution-statuses": lambda: httpx.Response(503, json={"message": "busy"})})
    project = found["project"]
    assert (project.status, project.exit_code) == (FAIL, 1)
    assert project.message.startswith("GET /api/v3/projects/3/test-runs/execution-statuses answered 503")


def test_an_empty_profile_is_not_checked() -> None:
    found = qtest_checks({"/user-profiles/current": lambda: httpx.Response(200, json={})})
    assert found["permissions"].status == WARN
    assert found["permissions"].message == (
        "qTest reported no permissions for the token's user; they were not checked."
    )
