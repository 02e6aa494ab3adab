"""The one place HTTP statuses become exceptions, and that messages never carry secrets."""

from __future__ import annotations

import pytest

from ztoq import errors


@pytest.mark.parametrize(
    ("status", "cls", "retriable"),
    [
        (400, errors.BadRequest, False),
        (401, errors.AuthenticationFailed, False),
        (403, errors.PermissionDenied, False),
        (404, errors.NotFound, False),
        (409, errors.Conflict, False),
        (422, errors.BadRequest, False),
        (418, errors.FatalApiError, False),
        (429, errors.RateLimited, True),
        (500, errors.ServerError, True),
        (502, errors.ServerError, True),
        (503, errors.ServerError, True),
    ],
)
def test_status_classification(status: int, cls: type[errors.ApiError], retriable: bool) -> None:
    exc = errors.error_for_status("qTest", status, "GET", "https://x.qtestnet.com/api/v3/projects/1")
    assert type(exc) is cls
    assert exc.retriable is retriable
    assert errors.is_retriable_status(status) is retriable
    assert exc.status == status
    assert str(exc).startswith(f"qTest answered {status} to GET https://x.qtestnet.com/api/v3/projects/1")


def test_rate_limited_keeps_retry_after() -> None:
    exc = errors.error_for_status("Zephyr", 429, "GET", "http://h/v2/testcases", retry_after=7)
    assert isinstance(exc, errors.RateLimited)
    assert exc.retry_after == 7


def test_urls_lose_query_and_userinfo() -> None:
    url = "https://user:hunter2@api.example.com:8443/v2/testcases?access_token=SECRET123&startAt=0"
    exc = errors.error_for_status("Zephyr", 401, "GET", url)
    text = str(exc) + exc.path
    assert "SECRET123" not in text
    assert "hunter2" not in text
    assert "https://api.example.com:8443/v2/testcases" in text
    net = errors.network_error("Zephyr", "GET", url, ConnectionError("boom"))
    assert "SECRET123" not in str(net)
    assert net.retriable


def test_exit_codes() -> None:
    assert errors.ConfigError("x").exit_code == 2
    assert errors.InputError("x").exit_code == 2
    assert errors.StoreOutdated("x").exit_code == 2
    assert errors.RunInterrupted("x").exit_code == 130
    failed = errors.PhaseFailed("load", errors.ServerError("qTest answered 503."))
    assert failed.exit_code == 1
    assert "The load phase failed" in str(failed)
    assert "run the same command again" in str(failed)
