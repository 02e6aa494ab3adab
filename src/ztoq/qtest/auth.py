"""qTest credentials: a bearer token used as is, or the OAuth password grant (and refresh grant).

The password grant is ``POST /oauth/token`` with the form ``grant_type=password&username=&password=``
and ``Authorization: Basic base64("<site>:")``, where ``<site>`` is the customer's subdomain
(``acme`` for ``https://acme.qtestnet.com``). When the API later answers 401, the session calls
:meth:`QTestAuth.reauthenticate`: a refresh grant if qTest gave a refresh token, else the
password grant again; a bare API token cannot be renewed, so the error says to create a new one.

Secrets are held as ``SecretStr`` so neither ``repr`` nor a traceback's locals print them.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
from urllib.parse import urlsplit

from pydantic import SecretStr

from ztoq.errors import AuthenticationFailed, FatalApiError
from ztoq.http import ApiSession
from ztoq.qtest.models import OAuthToken, parse

TOKEN_PATH = "/oauth/token"


def site_name_from_url(base_url: str) -> str:
    """The qTest site name: the first label of the host (``acme`` in ``acme.qtestnet.com``).

    An IP address or a single-label host (``127.0.0.1``, ``localhost``: a simulator or an
    on-premises server) is used whole, since the token endpoint refuses an empty site name;
    pass ``site_name`` to :class:`QTestAuth` when a server expects something else.
    """
    host = urlsplit(base_url).hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return host.split(".")[0]
    return host


def _secret(value: SecretStr | str | None) -> SecretStr | None:
    if value is None or isinstance(value, SecretStr):
        return value
    return SecretStr(value)


class QTestAuth:
    """Provides the qTest ``Authorization`` header and renews it on 401.

    Call :meth:`install` to make a session use it.
    """

    def __init__(
        self,
        session: ApiSession,
        *,
        bearer_token: SecretStr | str | None = None,
        username: str | None = None,
        password: SecretStr | str | None = None,
        site_name: str | None = None,
    ) -> None:
        """Create the provider.

        Args:
            session: The qTest session; the token request goes through it (unauthenticated).
            bearer_token: An API token from qTest's "API & SDK" page, used as is (a pasted
                ``"bearer "`` prefix is tolerated).
            username: Login for the password grant.
            password: Password for the password grant.
            site_name: The site name for the Basic header; derived from the base URL when None.
        """
        self._session = session
        token = _secret(bearer_token)
        if token is not None:
            raw = token.get_secret_value().strip()
            if raw.lower().startswith("bearer "):
                raw = raw[7:].strip()
            token = SecretStr(raw)
        self._access: SecretStr | None = token
        self._refresh: SecretStr | None = None
        self._username = username
        self._password = _secret(password)
        self.site_name = site_name_from_url(session.base_url) if site_name is None else site_name
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        mode = "password grant" if self.can_log_in else "API token"
        return f"QTestAuth({mode}, site={self.site_name!r})"

    @property
    def can_log_in(self) -> bool:
        """True when a username and password allow the password grant."""
        return bool(self._username) and self._password is not None

    def install(self) -> None:
        """Make the session send this provider's header and call :meth:`reauthenticate` on 401."""
        self._session.auth = self.authorization
        self._session.reauthenticate = self.reauthenticate

    async def authorization(self) -> str | None:
        """The ``Authorization`` header value, logging in first when there is no token yet."""
        if self._access is None and self.can_log_in:
            async with self._lock:  # concurrent first requests log in once
                if self._access is None:
                    await self.login()
        return None if self._access is None else f"Bearer {self._access.get_secret_value()}"

    async def reauthenticate(self) -> None:
        """Renew the token after a 401: refresh grant, else password grant, else fail clearly.

        Raises:
            AuthenticationFailed: When the credentials cannot be renewed.
        """
        if self._refresh is not None:
            try:
                await self._grant({"grant_type": "refresh_token", "refresh_token": self._refresh})
                return
            except AuthenticationFailed:
                self._refresh = None
                if not self.can_log_in:
                    raise
        if self.can_log_in:
            await self.login()
            return
        raise AuthenticationFailed(
            "The qTest token was rejected (401); create a new API token in qTest (Resources > API & SDK) "
            "and set it as qtest.bearer_token or ZTOQ_QTEST_BEARER_TOKEN.",
            api="qTest",
            status=401,
        )

    async def login(self) -> None:
        """Run the password grant and keep the tokens it returns.

        Raises:
            AuthenticationFailed: When qTest refuses the login.
        """
        if not self._username or self._password is None:
            raise AuthenticationFailed(
                "No qTest credentials to log in with: set qtest.username and qtest.password.", api="qTest"
            )
        await self._grant({"grant_type": "password", "username": self._username, "password": self._password})

    def basic_header(self) -> str:
        """``Basic base64("<site>:")``, the client credentials of the token request."""
        return "Basic " + base64.b64encode(f"{self.site_name}:".encode()).decode("ascii")

    async def _grant(self, form: dict[str, str | SecretStr]) -> None:
        grant = str(form["grant_type"])
        data = {k: v.get_secret_value() if isinstance(v, SecretStr) else v for k, v in form.items()}
        try:
            raw = await self._session.post_form(
                TOKEN_PATH,
                data,
                headers={"Authorization": self.basic_header()},
                authenticate=False,
                retry_unsafe=True,  # a token request may be repeated: at worst a spare token
            )
        except FatalApiError as exc:
            who = f" for user {self._username}" if grant == "password" else ""
            raise AuthenticationFailed(
                f"qTest refused the {grant} grant{who} (POST {TOKEN_PATH} answered {exc.status}); check "
                f"qtest.username, qtest.password and qtest.base_url {self._session.base_url}.",
                api="qTest",
                status=exc.status,
                method="POST",
                url=self._session.base_url + TOKEN_PATH,
            ) from None
        token = parse(OAuthToken, raw if isinstance(raw, dict) else {})
        if not token.access_token:
            raise AuthenticationFailed(
                f"qTest's answer to POST {TOKEN_PATH} has no access_token; check qtest.base_url.",
                api="qTest",
            )
        self._access = SecretStr(token.access_token)
        if token.refresh_token:
            self._refresh = SecretStr(token.refresh_token)
