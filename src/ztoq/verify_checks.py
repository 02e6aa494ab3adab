"""What ``verify-tokens`` checks produce, shared by the Zephyr Cloud, Zephyr Server and qTest checks.

A :class:`Check` is one line of the command's output: a service, what was checked, a status and
one sentence. :func:`url_check` and :func:`other_failure` turn a probe's
:class:`~ztoq.http.probe.Answer` into such a sentence; :func:`scrub` removes every configured
secret (:func:`secrets`) from the messages once more before they are returned.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from ztoq.config import ZtoqConfig
from ztoq.errors import safe_path
from ztoq.http.probe import Answer

PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"


@dataclass(frozen=True)
class Check:
    """The outcome of one check.

    Attributes:
        service: "Zephyr" or "qTest".
        name: "base URL", "token" (Zephyr Cloud, qTest), "credentials" (Zephyr Server/Data
            Center), "project" or "permissions".
        status: "pass", "fail", "warn" (could not be checked, not known to be wrong) or "skip".
        message: One sentence saying what was found and, when something is wrong, what to do.
        exit_code: For a failure: 2 when the URL, credentials or access are wrong, 1 when the
            service itself failed (5xx, 429); 0 otherwise.
    """

    service: str
    name: str
    status: str
    message: str
    exit_code: int = 0

    @property
    def failed(self) -> bool:
        return self.status == FAIL


def exit_code(checks: Sequence[Check]) -> int:
    """0 when nothing failed, else the highest exit code of the failures (2 before 1)."""
    return max((c.exit_code for c in checks if c.failed), default=0)


def url_check(service: str, base_url: str, path: str, answer: Answer, root_hint: str) -> Check:
    """The base URL check from the first request's answer.

    Args:
        service: "Zephyr" or "qTest".
        base_url: The configured base URL (shown without credentials or query).
        path: The request sent, for messages ("/projects").
        answer: What it produced.
        root_hint: What the base URL should be, ending the sentence of a failure.
    """
    shown = safe_path(base_url)
    if answer.kind == "ok":
        return Check(service, "base URL", PASS, f"{shown} answers as the {service} API.")
    if answer.kind in ("unauthorized", "forbidden"):
        return Check(
            service, "base URL", PASS, f"{shown} answers as an API (it asked for valid credentials)."
        )
    if answer.kind == "html":
        message = (
            f"{shown} answered GET {path} with a web page ({answer.detail}), not the {service} REST API; "
            f"{root_hint}."
        )
    elif answer.kind == "not_json":
        message = (
            f"{shown} answered GET {path} with something that is not JSON ({answer.detail or 'unknown'}); "
            f"{root_hint}."
        )
    elif answer.kind == "not_found":
        message = f"{shown} answered 404 to GET {path}, so it is not the {service} API root; {root_hint}."
    elif answer.kind == "redirect":
        message = f"{shown} answered GET {path} with a redirect ({answer.status}); {root_hint}."
    elif answer.kind in ("dns", "refused", "timeout", "tls", "unreachable"):
        message = f"Cannot connect to {shown}: {answer.detail}."
    elif answer.kind in ("server", "rate_limited"):
        what = "is rate-limiting requests (429)" if answer.kind == "rate_limited" else "failed"
        return Check(
            service,
            "base URL",
            FAIL,
            f"{shown} {what} (GET {path} answered {answer.status}); try again in a few minutes.",
            1,
        )
    else:
        message = f"{shown} answered {answer.status} to GET {path}; {root_hint}."
    return Check(service, "base URL", FAIL, message, 2)


def other_failure(service: str, name: str, what: str, answer: Answer) -> Check:
    """A failure no check foresaw: the service's own (5xx, 429: exit 1) or another (exit 2)."""
    if answer.kind in ("server", "rate_limited"):
        return Check(
            service, name, FAIL, f"{what} answered {answer.status}; the service failed, try again later.", 1
        )
    detail = answer.detail.rstrip(".") or f"answered {answer.status}"
    return Check(service, name, FAIL, f"{what} failed: {detail}.", 2)


def segment(value: str) -> str:
    """``value`` quoted as one URL path segment."""
    return quote(value, safe="")


def scrub(checks: list[Check], values: Sequence[str]) -> list[Check]:
    """Belt and braces: no configured secret survives in a message, whatever an API echoed."""
    # Shorter values would mangle ordinary words (a password "admin" inside "admin@example.com");
    # tokens are far longer, and no message is ever built from a secret in the first place.
    values = [s for s in values if len(s) >= 8]
    if not values:
        return checks
    cleaned = []
    for check in checks:
        message = check.message
        for value in values:
            message = message.replace(value, "***")
        cleaned.append(Check(check.service, check.name, check.status, message, check.exit_code))
    return cleaned


def secrets(config: ZtoqConfig) -> list[str]:
    """Every configured secret, as an API could echo it back (bare tokens, the basic-auth pair)."""
    zephyr, qtest = config.zephyr, config.qtest
    found = []
    for secret in (zephyr.api_token, zephyr.password, qtest.bearer_token, qtest.password):
        if secret is not None:
            value = secret.get_secret_value().strip()
            found.append(value)
            if value.lower().startswith("bearer "):
                found.append(value[7:].strip())
    if zephyr.username and zephyr.password is not None:
        pair = f"{zephyr.username}:{zephyr.password.get_secret_value()}".encode()
        found.append(base64.b64encode(pair).decode("ascii"))
    return found
