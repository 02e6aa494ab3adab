"""qTest authentication: bearer token as is, password grant, refresh grant, renewal on 401."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Coroutine
from typing import Any, TypeVar
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from ztoq.config import NetworkConfig, QTestConfig
from ztoq.errors import AuthenticationFailed
from ztoq.http import ApiSession, RetryPolicy
from ztoq.qtest import QTestAuth, QTestClient, site_name_from_url

T = TypeVar("T")
PASSWORD = "pw-SECRET-5e4d3c2b1a"
API_TOKEN = "api-SECRET-0a1b2c3d4e"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


class FakeQTest:
    """A qTest that issues access tokens and accepts only the current one."""

    def __init__(self, *, refresh: bool = False, login_ok: bool = True) -> None:
        self.requests: list[httpx.Request] = []
        self.issued = 0
        self.valid: str | None = None
        self.refresh = refresh
        self.login_ok = login_ok
        self.refresh_ok = True

    def forms(self) -> list[dict[str, list[str]]]:
        return [parse_qs(r.content.decode()) for r in self.requests if r.url.path == "/oauth/token"]

    def expire(self) -> None:
        self.valid = "expired-and-gone"

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/oauth/token":
            form = parse_qs(request.content.decode())
            grant = form["grant_type"][0]
            if (grant == "password" and not self.login_ok) or (
                grant == "refresh_token" and not self.refresh_ok
            ):
                return httpx.Response(
                    401, json={"error": "invalid_grant", "error_description": "Bad credentials"}
                )
            self.issued += 1
            self.valid = f"access-{self.issued}"
            body: dict[str, Any] = {"access_token": self.valid, "token_type": "bearer", "expires_in": 3600}
            if self.refresh:
                body["refresh_token"] = f"refresh-{self.issued}"
            return httpx.Response(200, json=body)
        if request.headers.get("authorization") != f"Bearer {self.valid}":
            return httpx.Response(401, json={"error": "invalid_token"})
        return httpx.Response(200, json={"id": 7, "name": "Project"})


def make(
    fake: FakeQTest, base_url: str = "https://acme.qtestnet.com", **auth: Any
) -> tuple[QTestClient, QTestAuth]:
    session = ApiSession(
        httpx.AsyncClient(transport=httpx.MockTransport(fake)),
        api_name="qTest",
        base_url=base_url,
        retry=RetryPolicy(retry_count=0),
        owns_client=True,
    )
    provider = QTestAuth(session, **auth)
    provider.install()
    return QTestClient(session, 7, auth=provider), provider


def test_password_grant_form_and_headers() -> None:
    fake = FakeQTest()
    client, _ = make(fake, username="ada@example.com", password=PASSWORD)
    assert run(client.project()).name == "Project"
    login, call = fake.requests
    assert (login.method, login.url.path) == ("POST", "/oauth/token")
    assert login.headers["authorization"] == "Basic " + base64.b64encode(b"acme:").decode()
    assert login.headers["content-type"] == "application/x-www-form-urlencoded"
    assert parse_qs(login.content.decode()) == {
        "grant_type": ["password"],
        "username": ["ada@example.com"],
        "password": [PASSWORD],
    }
    assert call.headers["authorization"] == "Bearer access-1"


def test_concurrent_first_requests_log_in_once() -> None:
    fake = FakeQTest()
    client, _ = make(fake, username="u", password=PASSWORD)

    async def main() -> None:
        await asyncio.gather(*(client.project() for _ in range(5)))

    run(main())
    assert fake.issued == 1


@pytest.mark.parametrize(
    ("base_url", "site"),
    [
        ("https://acme.qtestnet.com", "acme"),
        ("https://acme.qtestnet.eu:8443/", "acme"),
        ("http://127.0.0.1:8080", "127.0.0.1"),
        ("http://[::1]:9000", "::1"),
        ("http://localhost:8000", "localhost"),
    ],
)
def test_site_name_from_url(base_url: str, site: str) -> None:
    assert site_name_from_url(base_url) == site


def test_site_name_is_configurable_for_a_local_qtest() -> None:
    fake = FakeQTest()
    client, provider = make(
        fake, base_url="http://127.0.0.1:8080", username="u", password=PASSWORD, site_name="lab"
    )
    run(client.project())
    assert provider.basic_header() == "Basic " + base64.b64encode(b"lab:").decode()
    assert fake.requests[0].headers["authorization"] == provider.basic_header()


def test_bearer_token_is_used_as_is() -> None:
    fake = FakeQTest()
    fake.valid = API_TOKEN
    client, _ = make(fake, bearer_token=SecretStr(API_TOKEN))
    run(client.project())
    assert [r.url.path for r in fake.requests] == ["/api/v3/projects/7"]
    assert fake.requests[0].headers["authorization"] == f"Bearer {API_TOKEN}"


def test_pasted_bearer_prefix_is_tolerated() -> None:
    fake = FakeQTest()
    fake.valid = API_TOKEN
    client, _ = make(fake, bearer_token=f"bearer {API_TOKEN}")
    run(client.project())
    assert fake.requests[0].headers["authorization"] == f"Bearer {API_TOKEN}"


def test_rejected_api_token_says_to_create_a_new_one() -> None:
    fake = FakeQTest()
    client, provider = make(fake, bearer_token=API_TOKEN)
    with pytest.raises(AuthenticationFailed) as info:
        run(client.project())
    assert "The qTest token was rejected" in str(info.value)
    assert "create a new API token" in str(info.value)
    texts = [str(info.value), repr(info.value), repr(client), repr(provider), str(vars(provider))]
    assert not any(API_TOKEN in text for text in texts)


def test_expired_login_is_renewed_with_the_password_grant() -> None:
    fake = FakeQTest()
    client, _ = make(fake, username="u", password=PASSWORD)

    async def main() -> None:
        await client.project()
        fake.expire()
        await client.project()

    run(main())
    assert fake.issued == 2
    assert [f["grant_type"] for f in fake.forms()] == [["password"], ["password"]]
    assert client.session.snapshot()["reauthentications"] == 1


def test_refresh_grant_is_preferred_when_qtest_gave_a_refresh_token() -> None:
    fake = FakeQTest(refresh=True)
    client, _ = make(fake, username="u", password=PASSWORD)

    async def main() -> None:
        await client.project()
        fake.expire()
        await client.project()

    run(main())
    assert fake.forms()[1] == {"grant_type": ["refresh_token"], "refresh_token": ["refresh-1"]}


def test_refused_refresh_falls_back_to_the_password_grant() -> None:
    fake = FakeQTest(refresh=True)
    client, _ = make(fake, username="u", password=PASSWORD)

    async def main() -> None:
        await client.project()
        fake.expire()
        fake.refresh_ok = False
        await client.project()

    run(main())
    assert [f["grant_type"][0] for f in fake.forms()] == ["password", "refresh_token", "password"]


def test_refused_login_is_a_clear_error_without_the_password() -> None:
    fake = FakeQTest(login_ok=False)
    client, _ = make(fake, username="ada@example.com", password=PASSWORD)
    with pytest.raises(AuthenticationFailed) as info:
        run(client.project())
    message = str(info.value)
    assert "qTest refused the password grant for user ada@example.com" in message
    assert "answered 401" in message
    assert PASSWORD not in message
    assert PASSWORD not in repr(info.value)


def test_login_without_credentials_is_refused() -> None:
    client, provider = make(FakeQTest())
    with pytest.raises(AuthenticationFailed):
        run(provider.login())
    assert not provider.can_log_in
    run(client.aclose())


def test_from_config() -> None:
    fake = FakeQTest()
    fake.valid = API_TOKEN
    config = QTestConfig(
        base_url="https://acme.qtestnet.com", bearer_token=SecretStr(API_TOKEN), project_id=7
    )
    client = QTestClient.from_config(
        config, network=NetworkConfig(retry_count=1), transport=httpx.MockTransport(fake)
    )
    assert client.project_id == 7
    assert client.session.retry.retry_count == 1
    assert client.auth is not None
    assert client.auth.site_name == "acme"

    async def main() -> Any:
        async with client.session:
            return await client.project()

    assert run(main()).id == 7
    assert API_TOKEN not in repr(client)
