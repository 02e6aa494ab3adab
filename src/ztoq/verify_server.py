"""``verify-tokens`` for Zephyr Scale Server/Data Center: the Jira site, its credentials, the project.

Three checks from two GET requests, each sent once with a short timeout and classified by
:mod:`ztoq.http.probe`:

* **base URL** and **credentials**, from ``GET <site>/rest/atm/1.0/environments?projectKey=KEY``
  (the smallest Zephyr Scale Server request): 200 proves the site, the credentials and Zephyr
  Scale at once; 400 is Zephyr Scale answering about the project (the project check says more);
  401 rejects the credentials, 403 refuses them; a 404, a web page or anything that is not JSON
  means the URL is not a Jira site, or Zephyr Scale Server is not installed there; and the
  transport failures (DNS, refused, timeout, TLS) as for any service;
* **project**, from Jira's own ``GET <site>/rest/api/2/project/KEY``.

The credentials are a Jira personal access token in ``zephyr.api_token`` (sent as a bearer token),
else ``zephyr.username`` and ``zephyr.password`` (basic authentication), as the source reads them.
The session is built here, so verifying needs nothing of the source's client. No message is built
from a secret.
"""

from __future__ import annotations

import httpx

from ztoq.config import NetworkConfig, ZephyrConfig, ZtoqConfig
from ztoq.errors import safe_path
from ztoq.http.probe import Answer, probe
from ztoq.http.session import ApiSession
from ztoq.sources.detect import server_site_url
from ztoq.sources.zephyr_server.client import credentials
from ztoq.vendor import ZEPHYR_CLOUD_EXAMPLE, ZEPHYR_SERVER_API_PATH
from ztoq.verify_checks import FAIL, PASS, SKIP, Check, other_failure, segment, url_check

SERVICE = "Zephyr"

#: What a Server/Data Center ``zephyr.base_url`` should be, ending a failure's sentence.
SITE_HINT = (
    "set zephyr.base_url to the Jira Server/Data Center site (e.g. https://jira.example.com), or to "
    f"the Zephyr Scale Cloud API ({ZEPHYR_CLOUD_EXAMPLE}) for Zephyr Scale Cloud"
)

_PROBE_PATH = f"{ZEPHYR_SERVER_API_PATH}/environments"


def _credentials_used(zephyr: ZephyrConfig) -> str:
    """What the credentials are, for messages (never their value)."""
    if zephyr.api_token is not None and zephyr.api_token.get_secret_value().strip():
        return "the personal access token"
    return f"the login of {zephyr.username}"


async def check_zephyr_server(
    config: ZtoqConfig, network: NetworkConfig, transport: httpx.AsyncBaseTransport | None = None
) -> list[Check]:
    """Zephyr Scale Server/Data Center: base URL, credentials, project.

    Args:
        config: The configuration (``zephyr.base_url`` is a Jira Server/Data Center site).
        network: The network settings for these requests (no retries, a short timeout).
        transport: An httpx transport to use instead of the network (tests).
    """
    zephyr = config.zephyr
    site = server_site_url(zephyr.base_url)
    auth = credentials(zephyr)
    session = ApiSession.create(
        api_name=SERVICE, base_url=site, network=network, retry_count=0, transport=transport, auth=auth
    )
    try:
        params = {"projectKey": zephyr.project_key} if zephyr.project_key else None
        root = await probe(session, _PROBE_PATH, params, timeout=network.timeout)
        checks = [_site_check(zephyr.base_url, root)]
        checks.append(_credentials_check(zephyr, auth is not None, root))
        checks.append(await _project_check(session, zephyr.project_key, root, checks[-1]))
    finally:
        await session.aclose()
    return checks


def _zephyr_answered(root: Answer) -> bool:
    """Zephyr Scale Server answered: 200, or 400 about the project key (still its own JSON answer)."""
    return root.kind == "ok" or (root.kind == "failed" and root.status == 400)


def _site_check(base_url: str, root: Answer) -> Check:
    shown = safe_path(base_url)
    if _zephyr_answered(root):
        return Check(SERVICE, "base URL", PASS, f"{shown} answers as a Jira site with Zephyr Scale Server.")
    if root.kind == "not_found":
        return Check(
            SERVICE,
            "base URL",
            FAIL,
            f"{shown} answered 404 to GET {_PROBE_PATH}: it is not a Jira Server/Data Center site, or "
            f"Zephyr Scale Server is not installed on it; {SITE_HINT}.",
            2,
        )
    if root.kind in ("html", "not_json"):
        what = "a web page" if root.kind == "html" else "something that is not JSON"
        return Check(
            SERVICE,
            "base URL",
            FAIL,
            f"{shown} answered GET {_PROBE_PATH} with {what} ({root.detail or 'unknown'}), so it is not a "
            f"Jira site with Zephyr Scale Server (a login page or a proxy?); {SITE_HINT}.",
            2,
        )
    return url_check(SERVICE, base_url, _PROBE_PATH, root, SITE_HINT)


def _credentials_check(zephyr: ZephyrConfig, configured: bool, root: Answer) -> Check:
    if not configured:
        if zephyr.username:
            message = (
                f"zephyr.username is {zephyr.username} but no password is set: set zephyr.password or "
                "ZTOQ_ZEPHYR_PASSWORD, or a Jira personal access token in zephyr.api_token."
            )
        else:
            message = (
                "No Jira Server/Data Center credentials: pass --zephyr-token or set zephyr.api_token "
                "(ZTOQ_ZEPHYR_API_TOKEN) to a Jira personal access token, or set zephyr.username "
                "(--zephyr-username) and zephyr.password (ZTOQ_ZEPHYR_PASSWORD)."
            )
        return Check(SERVICE, "credentials", FAIL, message, 2)
    used = _credentials_used(zephyr)
    if _zephyr_answered(root):
        return Check(SERVICE, "credentials", PASS, f"Jira accepts {used}.")
    if root.kind == "unauthorized":
        if used == "the personal access token":
            message = (
                "Jira rejected the personal access token in zephyr.api_token (401): it is wrong, expired "
                "or revoked; create one in Jira (your profile > Personal Access Tokens), or set "
                "zephyr.username and zephyr.password instead."
            )
        else:
            message = (
                f"Jira rejected {used} (401): check zephyr.username and zephyr.password "
                "(ZTOQ_ZEPHYR_PASSWORD), or set zephyr.api_token to a Jira personal access token instead."
            )
        return Check(SERVICE, "credentials", FAIL, message, 2)
    if root.kind == "forbidden":
        return Check(
            SERVICE,
            "credentials",
            FAIL,
            f"Jira knows {used} but refuses it (403): the user may not use Zephyr Scale, or Jira asks for "
            "a CAPTCHA after failed logins (log in once in a browser); ask a Jira administrator.",
            2,
        )
    return Check(
        SERVICE, "credentials", SKIP, "Not checked: the base URL did not answer as Zephyr Scale Server."
    )


async def _project_check(session: ApiSession, key: str, root: Answer, credentials: Check) -> Check:
    if not key:
        return Check(SERVICE, "project", SKIP, "No project key given (--project-key or zephyr.project_key).")
    if credentials.status != PASS:
        why = "the base URL failed" if credentials.status == SKIP else "the credentials were not accepted"
        return Check(SERVICE, "project", SKIP, f"Project {key} not checked: {why}.")
    path = f"rest/api/2/project/{segment(key)}"
    answer = await probe(session, path)
    if answer.kind == "ok":
        body = answer.body if isinstance(answer.body, dict) else {}
        name = body.get("name")
        named = f"{body.get('key') or key}{f' {name!r}' if name else ''} (id {body.get('id', '?')})"
        if root.kind != "ok":
            return Check(
                SERVICE,
                "project",
                FAIL,
                f"Jira project {named} exists, but Zephyr Scale refused it (GET {_PROBE_PATH} answered "
                f"{root.status}): Zephyr Scale may be turned off for it; turn it on in the project's "
                "settings.",
                2,
            )
        return Check(SERVICE, "project", PASS, f"Project {named} is readable.")
    if answer.kind == "not_found":
        return Check(
            SERVICE,
            "project",
            FAIL,
            f"Jira project {key} does not exist or the user cannot see it (404); check zephyr.project_key "
            "(the Jira project key, e.g. PROJ).",
            2,
        )
    if answer.kind == "forbidden":
        return Check(
            SERVICE,
            "project",
            FAIL,
            f"The user may not read Jira project {key} (403); ask for access to it.",
            2,
        )
    return other_failure(SERVICE, "project", f"GET /{path}", answer)
