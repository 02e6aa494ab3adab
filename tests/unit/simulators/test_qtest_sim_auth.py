"""Authentication of the qTest simulator: bearer tokens, /oauth/token grants, status, revocation."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from ztoq.simulators.qtest import (
    DEFAULT_QTEST_PASSWORD,
    DEFAULT_QTEST_TOKEN,
    DEFAULT_QTEST_USER,
    QTestSimulator,
)

BASIC = "Basic " + base64.b64encode(b"acme:").decode()


def call(sim: QTestSimulator, method: str, path: str, token: str | None = None, **kw: Any) -> httpx.Response:
    headers = dict(kw.pop("headers", {}))
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=sim.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://qtest.test") as client:
            return await client.request(method, path, headers=headers, **kw)

    return asyncio.run(go())


def login(
    sim: QTestSimulator, username: str = DEFAULT_QTEST_USER, password: str = DEFAULT_QTEST_PASSWORD
) -> httpx.Response:
    form = {"grant_type": "password", "username": username, "password": password}
    return call(sim, "POST", "/oauth/token", data=form, headers={"Authorization": BASIC})


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.mark.parametrize(
    "header", [None, "Bearer nope", "Basic abc", "Bearer", f"Token {DEFAULT_QTEST_TOKEN}"]
)
def test_api_requires_a_valid_bearer_token(header: str | None) -> None:
    sim = QTestSimulator()
    headers = {"Authorization": header} if header else {}
    response = call(sim, "GET", "/api/v3/projects", headers=headers)
    assert response.status_code == 401
    assert set(response.json()) == {"message"}
    assert call(sim, "GET", "/api/v3/no-such-path", headers=headers).status_code == 401


def test_static_api_token_is_accepted_with_any_bearer_case() -> None:
    sim = QTestSimulator(token="T-123")
    assert call(sim, "GET", "/api/v3/projects", headers={"Authorization": "bearer T-123"}).status_code == 200
    assert call(sim, "GET", "/api/v3/projects", "T-123").status_code == 200
    assert call(sim, "GET", "/api/v3/projects", DEFAULT_QTEST_TOKEN).status_code == 401


def test_password_grant_issues_a_working_token() -> None:
    sim = QTestSimulator()
    response = login(sim)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert set(body) == {"access_token", "token_type", "refresh_token", "scope", "expires_in", "agent"}
    assert call(sim, "GET", "/api/v3/projects", body["access_token"]).status_code == 200
    status = call(sim, "GET", "/oauth/status", body["access_token"]).json()
    assert status["validityInMilliseconds"] == 3_600_000
    assert call(sim, "GET", "/oauth/status", DEFAULT_QTEST_TOKEN).json() == {
        "expiration": 0,
        "validityInMilliseconds": 0,
    }


def test_other_users_log_in_with_their_password() -> None:
    sim = QTestSimulator()
    other = next(u for u in sim.state.users.values() if u.id != sim.state.admin_id)
    token = login(sim, other.username, "admin123").json()["access_token"]
    profile = call(sim, "GET", "/api/v3/projects/1/user-profiles/current", token).json()
    assert profile["user_id"] == other.id


@pytest.mark.parametrize(
    ("form", "auth", "status", "error"),
    [
        ({"username": DEFAULT_QTEST_USER, "password": "wrong"}, BASIC, 401, "invalid_grant"),
        ({"username": "nobody@example.com", "password": "x"}, BASIC, 401, "invalid_grant"),
        ({"username": DEFAULT_QTEST_USER, "password": DEFAULT_QTEST_PASSWORD}, None, 401, "unauthorized"),
        (
            {"username": DEFAULT_QTEST_USER, "password": DEFAULT_QTEST_PASSWORD},
            "Basic " + base64.b64encode(b"acme:secret").decode(),
            401,
            "unauthorized",
        ),
        ({"grant_type": "client_credentials"}, BASIC, 400, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "refresh_token": "nope"}, BASIC, 400, "invalid_grant"),
    ],
)
def test_bad_logins(form: dict[str, str], auth: str | None, status: int, error: str) -> None:
    sim = QTestSimulator()
    headers = {"Authorization": auth} if auth else {}
    response = call(sim, "POST", "/oauth/token", data={"grant_type": "password", **form}, headers=headers)
    assert response.status_code == status
    assert response.json()["error"] == error


def test_refresh_grant_with_issued_refresh_token_and_with_the_api_token() -> None:
    sim = QTestSimulator()
    first = login(sim).json()
    refreshed = call(
        sim,
        "POST",
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["access_token"] != first["access_token"]
    from_api_token = call(
        sim,
        "POST",
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": DEFAULT_QTEST_TOKEN},
    )
    assert call(sim, "GET", "/api/v3/projects", from_api_token.json()["access_token"]).status_code == 200


def test_revoked_tokens_get_401_until_the_client_logs_in_again() -> None:
    sim = QTestSimulator()
    token = login(sim).json()
    assert sim.state.revoke_tokens() == 1
    assert call(sim, "GET", "/api/v3/projects", token["access_token"]).status_code == 401
    assert call(sim, "GET", "/oauth/status", token["access_token"]).status_code == 401
    assert call(sim, "GET", "/api/v3/projects", DEFAULT_QTEST_TOKEN).status_code == 200
    again = call(
        sim,
        "POST",
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
    )
    assert call(sim, "GET", "/api/v3/projects", again.json()["access_token"]).status_code == 200
    sim.state.revoke_tokens(include_refresh=True)
    stale = call(
        sim,
        "POST",
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
    )
    assert stale.status_code == 400
    assert login(sim).status_code == 200


def test_tokens_expire_after_their_lifetime() -> None:
    clock = Clock()
    sim = QTestSimulator(clock=clock, token_ttl=60)
    token = login(sim).json()["access_token"]
    clock.now += timedelta(seconds=30)
    assert call(sim, "GET", "/oauth/status", token).json()["validityInMilliseconds"] == 30_000
    clock.now += timedelta(seconds=31)
    assert call(sim, "GET", "/api/v3/projects", token).status_code == 401
    fresh = login(sim).json()["access_token"]
    sim.state.expire_tokens()
    assert call(sim, "GET", "/api/v3/projects", fresh).status_code == 401


def test_oauth_revoke_logs_a_token_out() -> None:
    sim = QTestSimulator()
    token = login(sim).json()["access_token"]
    assert call(sim, "POST", "/oauth/revoke", token).status_code == 200
    assert call(sim, "GET", "/api/v3/projects", token).status_code == 401
    assert call(sim, "POST", "/oauth/revoke", token).status_code == 401
