"""``verify_tokens``: do the Zephyr and qTest credentials, URLs and projects work, and if not, why.

The Zephyr checks fit the configured source (:func:`ztoq.sources.source_name`): Zephyr Scale
Cloud's are here, Zephyr Scale Server/Data Center's in :mod:`ztoq.verify_server`. A
``zephyr.base_url`` that is neither fails as one line, before any Zephyr request. Each check
sends GET requests (no retries, a short timeout) and classifies the answer precisely, in one
sentence (:mod:`ztoq.http.probe`):

* **base URL**: the host cannot be resolved (DNS), refuses the connection, does not answer in
  time, fails TLS, redirects elsewhere, answers 404 on the API root, or answers with a web page
  (HTML) or anything else that is not JSON;
* **token**: missing, or rejected (401). A Zephyr Scale Cloud token is bound to the region of
  its Jira site: when the base URL is one region's (``api.zephyrscale.smartbear.com`` or
  ``eu.api.zephyrscale.smartbear.com``) a 401 suggests the other one. That is a heuristic: a
  401 from the right region means the token itself is wrong, and the token is never sent to a
  host the user did not configure to find out;
* **project**: Zephyr ``GET /projects/{key}`` answers 404; qTest's project and settings are read
  by the reader extract and the preflight use (:func:`ztoq.qtest.settings.read_target_settings`),
  so its policy holds here first: the project answers 403/404, or its field settings 403;
* **permissions** (qTest): ``user-profiles/current`` refuses something a migration needs.

Nothing here prints or returns a token: every message is built from statuses, paths and
configuration values, and is scrubbed of the configured secrets once more before it is returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from ztoq.config import NetworkConfig, ZtoqConfig
from ztoq.errors import ApiError, ConfigError
from ztoq.http.probe import Answer, answer_for, probe
from ztoq.pipeline.preflight_config_checks import denied, lists_permissions, migration_permissions
from ztoq.qtest import QTestClient
from ztoq.qtest.settings import FieldSettingsRefused, ProjectNotAccessible, read_target_settings
from ztoq.sources import source_name
from ztoq.sources.zephyr_cloud import ZephyrClient
from ztoq.vendor import ZEPHYR_CLOUD_EXAMPLE, ZEPHYR_REGIONS
from ztoq.verify_checks import (
    FAIL,
    PASS,
    SKIP,
    WARN,
    Check,
    exit_code,
    other_failure,
    scrub,
    secrets,
    segment,
    url_check,
)
from ztoq.verify_server import check_zephyr_server

__all__ = [
    "FAIL",
    "PASS",
    "SKIP",
    "WARN",
    "Check",
    "check_qtest",
    "check_zephyr",
    "checks_json",
    "exit_code",
    "other_region",
    "verify_tokens",
    "verify_tokens_async",
]

#: Seconds each verification request may take (at most; a shorter ``network.timeout`` wins).
TIMEOUT = 20.0

QTEST_EXAMPLE = "https://yoursite.qtestnet.com"


def other_region(base_url: str) -> str | None:
    """The same Zephyr URL in the other region, when ``base_url`` is one region's API host."""
    parts = urlsplit(base_url)
    other = ZEPHYR_REGIONS.get((parts.hostname or "").lower())
    if other is None:
        return None
    return urlunsplit((parts.scheme, other, parts.path, "", ""))


# -- Zephyr ----------------------------------------------------------------------------------------


async def check_zephyr(
    config: ZtoqConfig, network: NetworkConfig, transport: httpx.AsyncBaseTransport | None = None
) -> list[Check]:
    """Zephyr, as the configured source: base URL, token (Server: credentials), project.

    A ``zephyr.base_url`` that is neither a Zephyr Scale Cloud API nor a Jira site is one failed
    line, and no Zephyr request is sent.
    """
    try:
        name = source_name(config)
    except ConfigError as exc:
        return [Check("Zephyr", "base URL", FAIL, str(exc), exc.exit_code)]
    if name == "zephyr_server":
        return await check_zephyr_server(config, network, transport)
    return await check_zephyr_cloud(config, network, transport)


async def check_zephyr_cloud(
    config: ZtoqConfig, network: NetworkConfig, transport: httpx.AsyncBaseTransport | None = None
) -> list[Check]:
    """Zephyr Scale Cloud: base URL, token, project."""
    zephyr = config.zephyr
    service = "Zephyr"
    token_set = zephyr.api_token is not None and bool(zephyr.api_token.get_secret_value().strip())
    client = ZephyrClient.from_config(
        zephyr.model_copy(update={"auto_retry": False}), network=network, transport=transport
    )
    try:
        root = await probe(client.session, "/projects", {"maxResults": 1}, timeout=network.timeout)
        checks = [
            url_check(
                service,
                zephyr.base_url,
                "/projects",
                root,
                f"the base URL is the API root, ending in /v2 (e.g. {ZEPHYR_CLOUD_EXAMPLE})",
            )
        ]
        checks.append(_zephyr_token(zephyr.base_url, token_set, root))
        checks.append(await _zephyr_project(client, zephyr.project_key, checks[-1]))
    finally:
        await client.aclose()
    return checks


def _zephyr_token(base_url: str, token_set: bool, root: Answer) -> Check:
    service = "Zephyr"
    if not token_set:
        return Check(
            service,
            "token",
            FAIL,
            "No Zephyr API token: pass --zephyr-token, set ZTOQ_ZEPHYR_API_TOKEN or zephyr.api_token "
            "(create one in Jira: your profile > Zephyr Scale API Access Tokens).",
            2,
        )
    if root.kind == "ok":
        return Check(service, "token", PASS, "The token is accepted.")
    if root.kind == "unauthorized":
        other = other_region(base_url)
        region = ""
        if other:
            target_region = "EU" if (urlsplit(other).hostname or "").startswith("eu.") else "US/global"
            region = (
                f" Tokens only work in the region of their Jira site; if the site is in the {target_region} "
                f"region, try --zephyr-url {other} (a guess: a 401 from the right region means the token "
                "itself is wrong)."
            )
        return Check(
            service,
            "token",
            FAIL,
            "Zephyr rejected the token (401): it is wrong, expired or revoked; create a new one in Jira "
            f"(your profile > Zephyr Scale API Access Tokens).{region}",
            2,
        )
    if root.kind == "forbidden":
        return Check(
            service,
            "token",
            FAIL,
            "Zephyr knows the token but refuses it (403): its user may not use Zephyr Scale; ask a Jira "
            "administrator for access.",
            2,
        )
    return Check(service, "token", SKIP, "Not checked: the base URL did not answer as the Zephyr API.")


async def _zephyr_project(client: ZephyrClient, key: str, token: Check) -> Check:
    service = "Zephyr"
    if not key:
        return Check(service, "project", SKIP, "No project key given (--project-key or zephyr.project_key).")
    if token.status != PASS:
        why = "the base URL failed" if token.status == SKIP else "the token was not accepted"
        return Check(service, "project", SKIP, f"Project {key} not checked: {why}.")
    answer = await probe(client.session, f"/projects/{segment(key)}")
    if answer.kind == "ok":
        body = answer.body if isinstance(answer.body, dict) else {}
        name = body.get("key") or key
        return Check(service, "project", PASS, f"Project {name} (id {body.get('id', '?')}) is readable.")
    if answer.kind == "not_found":
        return Check(
            service,
            "project",
            FAIL,
            f"Zephyr project {key} does not exist, has Zephyr Scale turned off, or the token's user cannot "
            "see it (404); check zephyr.project_key (the Jira project key, e.g. PROJ).",
            2,
        )
    if answer.kind == "forbidden":
        return Check(
            service,
            "project",
            FAIL,
            f"The token's user may not read Zephyr project {key} (403); ask for access to it.",
            2,
        )
    return other_failure(service, "project", f"GET /projects/{key}", answer)


# -- qTest -----------------------------------------------------------------------------------------


async def check_qtest(
    config: ZtoqConfig, network: NetworkConfig, transport: httpx.AsyncBaseTransport | None = None
) -> list[Check]:
    """qTest: base URL, token (or login), project, permissions."""
    qtest = config.qtest
    service = "qTest"
    if not qtest.base_url:
        return [
            Check(
                service,
                "base URL",
                FAIL,
                f"No qTest base URL: pass --qtest-url or set qtest.base_url (e.g. {QTEST_EXAMPLE}).",
                2,
            ),
            Check(service, "token", SKIP, "Not checked: no base URL."),
            Check(service, "project", SKIP, "Not checked: no base URL."),
            Check(service, "permissions", SKIP, "Not checked: no base URL."),
        ]
    has_token = qtest.bearer_token is not None and bool(qtest.bearer_token.get_secret_value().strip())
    has_login = bool(qtest.username) and qtest.password is not None
    client = QTestClient.from_config(
        qtest.model_copy(update={"retry_count": 0}), network=network, transport=transport
    )
    try:
        root = await probe(
            client.session, "/api/v3/projects", {"page": 1, "pageSize": 1}, timeout=network.timeout
        )
        checks = [
            url_check(
                service,
                qtest.base_url,
                "/api/v3/projects",
                root,
                f"the base URL is the site address, without /api/v3 (e.g. {QTEST_EXAMPLE})",
            )
        ]
        checks.append(_qtest_token(has_token, has_login, qtest.username, root))
        project = await _qtest_project(client, qtest.project_id, checks[-1])
        checks.append(project)
        checks.append(await _qtest_permissions(client, project, approve=qtest.approve_test_cases))
    finally:
        await client.aclose()
    return checks


def _qtest_token(has_token: bool, has_login: bool, username: str | None, root: Answer) -> Check:
    service = "qTest"
    if not has_token and not has_login:
        return Check(
            service,
            "token",
            FAIL,
            "No qTest credentials: pass --qtest-token, set ZTOQ_QTEST_BEARER_TOKEN or qtest.bearer_token "
            "(qTest: Resources > API & SDK), or set qtest.username and qtest.password.",
            2,
        )
    what = "token" if has_token else f"login of {username}"
    if root.kind == "ok":
        return Check(service, "token", PASS, f"The {what} is accepted.")
    if root.kind == "unauthorized":
        if has_token:
            message = (
                "qTest rejected the token (401): it is wrong, revoked, or belongs to another qTest site; "
                "create a new API token in qTest (Resources > API & SDK)."
            )
        else:
            message = (
                f"qTest refused the login of {username} ({root.status or 401}); check qtest.username and "
                "qtest.password."
            )
        return Check(service, "token", FAIL, message, 2)
    if root.kind == "forbidden":
        return Check(
            service,
            "token",
            FAIL,
            f"qTest accepts the {what} but refuses to list projects (403); the user's account may be "
            "deactivated or lack API access.",
            2,
        )
    return Check(service, "token", SKIP, "Not checked: the base URL did not answer as the qTest API.")


async def _qtest_project(client: QTestClient, project_id: int, token: Check) -> Check:
    service = "qTest"
    if not project_id:
        return Check(
            service, "project", SKIP, "No project id given (--qtest-project-id or qtest.project_id)."
        )
    if token.status != PASS:
        why = "the base URL failed" if token.status == SKIP else "the credentials were not accepted"
        return Check(service, "project", SKIP, f"Project {project_id} not checked: {why}.")
    # What extract and the preflight read, under the same policy: a refusal fails here first.
    try:
        settings = await read_target_settings(client)
    except ProjectNotAccessible as exc:
        visible = await _visible_projects(client)
        return Check(
            service,
            "project",
            FAIL,
            f"qTest project {project_id} does not exist or the token's user is not a member of it "
            f"({exc.status}); check qtest.project_id (the number in the project's URL, /p/<id>/)"
            + (f"; this user sees {visible}." if visible else "."),
            2,
        )
    except FieldSettingsRefused as exc:
        return Check(service, "project", FAIL, str(exc), exc.exit_code)
    except ApiError as exc:
        return other_failure(service, "project", *_failed_read(client, exc))
    name = settings.project.name or ""
    return Check(service, "project", PASS, f"Project {project_id} {name!r} is accessible.")


def _failed_read(client: QTestClient, exc: ApiError) -> tuple[str, Answer]:
    """The request a client call failed on ("GET /api/v3/..."), and its classified answer."""
    url = exc.path or client.session.base_url
    return f"{exc.method or 'GET'} {urlsplit(url).path or url}", answer_for(exc, url)


async def _visible_projects(client: QTestClient, limit: int = 5) -> str:
    answer = await probe(client.session, "/api/v3/projects", {"assigned": True, "page": 1, "pageSize": limit})
    items = answer.body if answer.kind == "ok" and isinstance(answer.body, list) else []
    shown = [f"{p.get('id')} {p.get('name')!r}" for p in items[:limit] if isinstance(p, dict)]
    return ", ".join(shown)


async def _qtest_permissions(client: QTestClient, project: Check, *, approve: bool) -> Check:
    service = "qTest"
    if project.status != PASS:
        return Check(service, "permissions", SKIP, "Not checked: the project is not accessible.")
    try:
        profile = await client.current_permissions()
    except ApiError as exc:
        answer = _failed_read(client, exc)[1]
        return Check(
            service,
            "permissions",
            WARN,
            f"The permissions could not be read (GET .../user-profiles/current answered "
            f"{answer.status or answer.kind}); they were not checked.",
        )
    if not lists_permissions(profile):
        return Check(
            service,
            "permissions",
            WARN,
            "qTest reported no permissions for the token's user; they were not checked.",
        )
    needed = migration_permissions(approve=approve)
    missing = [p for p in needed if denied(profile, p.name)]
    if missing:
        listed = ", ".join(f"{p.name} ({p.purpose})" for p in missing)
        return Check(
            service,
            "permissions",
            FAIL,
            f"The token's user lacks {len(missing)} qTest permission{'s' if len(missing) != 1 else ''} a "
            f"migration needs: {listed}; ask a qTest project administrator to grant them.",
            2,
        )
    return Check(
        service,
        "permissions",
        PASS,
        f"Every permission a migration needs is granted ({len(needed)} checked).",
    )


# -- both ------------------------------------------------------------------------------------------


async def verify_tokens_async(
    config: ZtoqConfig,
    *,
    zephyr_transport: httpx.AsyncBaseTransport | None = None,
    qtest_transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = TIMEOUT,
) -> list[Check]:
    """:func:`verify_tokens` inside a running event loop."""
    network = config.network.model_copy(
        update={"retry_count": 0, "timeout": min(config.network.timeout, timeout)}
    )
    zephyr, qtest = await asyncio.gather(
        check_zephyr(config, network, zephyr_transport), check_qtest(config, network, qtest_transport)
    )
    return scrub([*zephyr, *qtest], secrets(config))


def verify_tokens(
    config: ZtoqConfig,
    *,
    zephyr_transport: httpx.AsyncBaseTransport | None = None,
    qtest_transport: httpx.AsyncBaseTransport | None = None,
    timeout: float = TIMEOUT,
) -> list[Check]:
    """Check both services' URLs, credentials, projects and (qTest) permissions.

    Every request is a GET sent once (no retries) with at most ``timeout`` seconds to answer;
    with a qTest username and password, the login (``POST /oauth/token``) comes first.

    Returns:
        Zephyr's checks (base URL, token (Server/Data Center: credentials), project), then qTest's
        (base URL, token, project, permissions). See :func:`exit_code` for the command's exit code.
    """
    return asyncio.run(
        verify_tokens_async(
            config, zephyr_transport=zephyr_transport, qtest_transport=qtest_transport, timeout=timeout
        )
    )


def checks_json(checks: Sequence[Check]) -> list[dict[str, Any]]:
    """The checks as JSON-ready dicts."""
    return [asdict(c) for c in checks]
