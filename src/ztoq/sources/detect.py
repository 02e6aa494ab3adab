"""Which Zephyr Scale API a ``zephyr.base_url`` points at: Cloud (REST API v2) or Server/Data Center (v1).

``zephyr.api`` (``cloud`` or ``server``) decides when it is set; otherwise the URL does:

* the Zephyr Scale Cloud hosts, or any URL whose path ends in ``/v2``, are Cloud;
* a URL ending in ``/rest/atm/1.0`` is a Jira Server/Data Center site's Zephyr Scale API;
* a Jira site without a REST path (``https://jira.example.com``, or with a context path such as
  ``https://example.com/jira``) is Server/Data Center too;
* anything else that names a REST API (for example the seed guide's
  ``https://api.atlassian.com/ex/jira/<instance>/rest/zephyr/1.0``, or a Jira Cloud site
  ``*.atlassian.net``) is neither, and is refused with one sentence naming the two accepted forms.

A leaf of the sources package: it reads only vendor facts, so configuration checks can use it.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from ztoq.errors import ConfigError
from ztoq.vendor import ZEPHYR_CLOUD_EXAMPLE, ZEPHYR_REGIONS, ZEPHYR_SERVER_API_PATH

ApiKind = Literal["cloud", "server"]

#: What a user may set ``zephyr.api`` to (``auto``: decide from ``zephyr.base_url``).
API_CHOICES: tuple[str, ...] = ("auto", "cloud", "server")

#: The example of a Server/Data Center base URL that messages show.
SERVER_EXAMPLE = "https://jira.example.com, or https://jira.example.com/rest/atm/1.0"


def refusal(base_url: str) -> str:
    """The sentence refusing a ``zephyr.base_url`` that is neither accepted form."""
    return (
        f"zephyr.base_url {base_url} is neither the Zephyr Scale Cloud API ({ZEPHYR_CLOUD_EXAMPLE}) "
        f"nor a Jira Server/Data Center site ({SERVER_EXAMPLE}); set it to one of these, "
        "or set zephyr.api to cloud or server."
    )


def api_kind(base_url: str, api: str = "auto") -> ApiKind:
    """The API ``base_url`` points at (``api`` overrides the detection when not ``auto``).

    Raises:
        ConfigError: ``api`` is ``auto`` and ``base_url`` is neither accepted form.
    """
    if api == "cloud":
        return "cloud"
    if api == "server":
        return "server"
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    path = parts.path.rstrip("/")
    if host in ZEPHYR_REGIONS or path.endswith("/v2"):
        return "cloud"
    if path.lower().endswith(ZEPHYR_SERVER_API_PATH):
        return "server"
    if host == "api.atlassian.com" or host.endswith(".atlassian.net") or "/rest/" in f"{path}/":
        raise ConfigError(refusal(base_url))
    return "server"


def server_site_url(base_url: str) -> str:
    """The Jira site of a Server/Data Center ``base_url`` (without ``/rest/atm/1.0``, no trailing ``/``)."""
    url = base_url.rstrip("/")
    if url.lower().endswith(ZEPHYR_SERVER_API_PATH):
        url = url[: -len(ZEPHYR_SERVER_API_PATH)]
    return url.rstrip("/")
