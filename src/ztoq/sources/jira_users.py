"""Jira's user API: the display name and e-mail of the people Zephyr names by account id or user key.

Only ``ztoq users plan`` reads it, with the ``jira:`` section's credentials:

* **Jira Cloud** (``jira.email`` + ``jira.api_token``, Basic authentication): accounts are read
  in bulk, ``GET rest/api/3/user/bulk?accountId=..&accountId=..``, whose ``PageBeanUser`` pages
  (``startAt``, ``maxResults``, ``isLast``, ``values``) are followed to the last; accounts Jira
  does not know are simply absent. ``emailAddress`` is missing when the person hides it.
* **Jira Server/Data Center** (``jira.pat`` as a Bearer token, or ``jira.username`` +
  ``jira.password``): one ``GET rest/api/2/user?key=...`` per user key (404: unknown).

Statuses become exceptions in the session (:mod:`ztoq.http`); a 401 says which setting to fix.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from ztoq.config import JiraConfig, NetworkConfig
from ztoq.errors import ApiError, AuthenticationFailed, ConfigError, NotFound, safe_path
from ztoq.http import ApiSession, AuthProvider, Reauthenticate

JiraKind = Literal["cloud", "server"]

#: Accounts asked for in one bulk request (keeps the URL short).
BULK_ACCOUNTS = 50
#: ``maxResults`` asked of each bulk page.
BULK_PAGE_SIZE = 50


@dataclass(frozen=True)
class JiraUser:
    """A Jira user as its REST API shows them.

    Attributes:
        account: the Cloud account id, or the Server/Data Center user key (as Zephyr names them).
        display_name: their display name ("" when Jira gives none).
        email: their e-mail address ("" when hidden or absent).
        active: False for a deactivated account.
    """

    account: str
    display_name: str = ""
    email: str = ""
    active: bool = True

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], kind: JiraKind) -> JiraUser | None:
        """A user from a Jira answer; None when it names no account (or key)."""
        account = raw.get("accountId") if kind == "cloud" else raw.get("key")
        if not isinstance(account, str) or not account:
            return None
        return cls(
            account=account,
            display_name=str(raw.get("displayName") or ""),
            email=str(raw.get("emailAddress") or ""),
            active=raw.get("active") is not False,
        )


def jira_kind(config: JiraConfig) -> JiraKind:
    """Cloud when ``email`` + ``api_token`` are set, Server/Data Center for ``pat`` or a password.

    Raises:
        ConfigError: no usable credentials.
    """
    if config.email and config.api_token is not None:
        return "cloud"
    if config.pat is not None or (config.username and config.password is not None):
        return "server"
    raise ConfigError(
        "jira.base_url is set but no Jira credentials are: set jira.email and jira.api_token (Jira Cloud; "
        "the token may come from ZTOQ_JIRA_API_TOKEN), or jira.pat (ZTOQ_JIRA_PAT), or jira.username and "
        "jira.password (ZTOQ_JIRA_PASSWORD) for Jira Server/Data Center."
    )


def credentials(config: JiraConfig, kind: JiraKind) -> AuthProvider:
    """The ``Authorization`` header provider (the secret is read only when a request is sent)."""

    def basic(user: str, secret: str) -> str:
        return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")

    if kind == "cloud":
        email, token = str(config.email), config.api_token
        assert token is not None
        return lambda: basic(email, token.get_secret_value().strip())
    pat = config.pat
    if pat is not None:
        return lambda: f"Bearer {pat.get_secret_value().strip()}"
    username, password = str(config.username), config.password
    assert password is not None
    return lambda: basic(username, password.get_secret_value())


def rejected(config: JiraConfig, kind: JiraKind) -> Reauthenticate:
    """What the session does on a 401: Jira credentials cannot be renewed, so it says what to check."""
    if kind == "cloud":
        used = f"the API token of {config.email} (jira.email and jira.api_token)"
    elif config.pat is not None:
        used = "the personal access token in jira.pat"
    else:
        used = f"the password of {config.username} (jira.username and jira.password)"
    message = f"Jira at {safe_path(config.base_url)} rejected {used} (401); check them and jira.base_url."

    async def reauthenticate() -> None:
        raise AuthenticationFailed(message, api="Jira", status=401)

    return reauthenticate


class JiraUsersClient:
    """Reads Jira users through one :class:`ApiSession` whose base URL is the Jira site."""

    def __init__(self, session: ApiSession, kind: JiraKind) -> None:
        self.session = session
        self.kind = kind

    @classmethod
    def from_config(
        cls,
        config: JiraConfig,
        *,
        network: NetworkConfig | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> JiraUsersClient:
        """A client for the ``jira:`` section (Cloud or Server/Data Center from its credentials).

        Raises:
            ConfigError: ``jira.base_url`` is empty or no credentials are set.
        """
        if not config.base_url:
            raise ConfigError(
                "jira.base_url is not set; add the Jira site (e.g. https://example.atlassian.net)."
            )
        kind = jira_kind(config)
        session = ApiSession.create(
            api_name="Jira",
            base_url=config.base_url,
            network=network,
            max_workers=4,
            transport=transport,
            auth=credentials(config, kind),
        )
        session.reauthenticate = rejected(config, kind)
        return cls(session, kind)

    async def aclose(self) -> None:
        """Close the session (and its httpx client if the session owns it)."""
        await self.session.aclose()

    async def users(self, accounts: Iterable[str]) -> dict[str, JiraUser]:
        """Account (or user key) -> the Jira user, for each of ``accounts`` Jira knows."""
        wanted = list(dict.fromkeys(a for a in accounts if a))
        if self.kind == "cloud":
            pages = await asyncio.gather(
                *(
                    self._bulk(wanted[start : start + BULK_ACCOUNTS])
                    for start in range(0, len(wanted), BULK_ACCOUNTS)
                )
            )
            return {user.account: user for page in pages for user in page}
        # One request per key, asked at once: the session keeps four in flight at most.
        known = await asyncio.gather(*(self._server_user(key) for key in wanted))
        return {user.account: user for user in known if user is not None}

    async def _bulk(self, accounts: Sequence[str]) -> list[JiraUser]:
        users: list[JiraUser] = []
        start = 0
        while True:
            params = {"accountId": list(accounts), "startAt": start, "maxResults": BULK_PAGE_SIZE}
            page = await self.session.get_json("rest/api/3/user/bulk", params)
            if not isinstance(page, dict) or not isinstance(page.get("values"), list):
                raise ApiError("Jira answered GET /rest/api/3/user/bulk without a values list.", api="Jira")
            values = [v for v in page["values"] if isinstance(v, dict)]
            users += [u for u in (JiraUser.from_json(v, "cloud") for v in values) if u is not None]
            if page.get("isLast", True) or not values:
                return users
            start += len(values)

    async def _server_user(self, key: str) -> JiraUser | None:
        try:
            raw = await self.session.get_json("rest/api/2/user", {"key": key})
        except NotFound:
            return None
        return JiraUser.from_json(raw, "server") if isinstance(raw, dict) else None
