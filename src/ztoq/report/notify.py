"""The message sent to a webhook when a migration run ends: built purely, sent once, never fatal.

``build_body`` turns a :class:`RunOutcome` into the JSON a receiver expects: a Slack incoming
webhook (``text`` and Block Kit ``blocks``), a Microsoft Teams incoming webhook or workflow (an
Adaptive Card in a ``message``), or a generic JSON document. ``send_notification`` posts it with a
short timeout. A notification is a courtesy: a missing URL, a dead or slow receiver or a non-2xx
answer is logged as one warning sentence and never fails the migration or changes its exit code.
The webhook URL is a secret: it is read from the environment and appears in no message or log.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from ztoq import __version__
from ztoq.config import NotificationsConfig
from ztoq.report.formatting import fmt_seconds, plural

log = logging.getLogger(__name__)

PASSED = "passed"
PASSED_WITH_DEGRADATIONS = "passed with degradations"
FAILED = "failed"
INTERRUPTED = "interrupted"
INCOMPLETE = "incomplete"

#: The verdicts ``on: failure`` stays silent for.
QUIET_ON_FAILURE = frozenset({PASSED, PASSED_WITH_DEGRADATIONS})


@dataclass(frozen=True)
class TypeCounts:
    """Where one entity type stands at the end of the run."""

    entity_type: str
    planned: int = 0
    loaded: int = 0
    failed: int = 0
    degraded: int = 0
    pending: int = 0
    #: Entities with a value kept whole in text because qTest has no field for it (information).
    kept_in_text: int = 0


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, as the notification tells it (built by the pipeline from the store)."""

    project_key: str
    run_id: int
    status: str
    seconds: float
    validated: bool = False
    counts: tuple[TypeCounts, ...] = field(default_factory=tuple)
    error: str | None = None
    qtest_project_id: int | None = None
    store: str = ""
    #: Where the report is: a URL, or how to write it.
    report: str = ""

    @property
    def failed(self) -> int:
        return sum(c.failed for c in self.counts)

    @property
    def degraded(self) -> int:
        return sum(c.degraded for c in self.counts)

    @property
    def kept_in_text(self) -> int:
        return sum(c.kept_in_text for c in self.counts)


def verdict(outcome: RunOutcome) -> tuple[str, str]:
    """The one-word verdict of a run and the sentence saying why."""
    if outcome.status == "interrupted":
        return INTERRUPTED, "The run was interrupted; run the same command again to resume."
    if outcome.status != "succeeded":
        return FAILED, _shorten(outcome.error or "The run failed.")
    if outcome.failed:
        return FAILED, f"{plural(outcome.failed, 'entity', 'entities')} failed to load; see the report."
    if not outcome.validated:
        return INCOMPLETE, "The run did not validate, so nothing proves the entities are in qTest."
    kept = (
        f" {plural(outcome.kept_in_text, 'entity keeps', 'entities keep')} values without a qTest field "
        "in text."
        if outcome.kept_in_text
        else ""
    )
    if outcome.degraded:
        degraded = plural(outcome.degraded, "entity", "entities")
        return PASSED_WITH_DEGRADATIONS, f"Every entity is in qTest; {degraded} with degraded values.{kept}"
    return PASSED, f"Every entity is in qTest and validation found no difference.{kept}"


def _shorten(text: str, limit: int = 1000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def should_send(outcome: RunOutcome, on: str) -> bool:
    """Whether ``on`` (``always`` or ``failure``) asks for a message about this outcome."""
    return on == "always" or verdict(outcome)[0] not in QUIET_ON_FAILURE


def _title(outcome: RunOutcome) -> str:
    word = verdict(outcome)[0]
    return f"ztoq migration of {outcome.project_key}: {word} (run {outcome.run_id})"


def _count_lines(outcome: RunOutcome) -> list[str]:
    return [
        f"{c.entity_type.replace('_', ' ')}: {c.loaded}/{c.planned} in qTest"
        + (f", {c.failed} failed" if c.failed else "")
        + (f", {c.degraded} degraded" if c.degraded else "")
        + (f", {c.kept_in_text} kept in text" if c.kept_in_text else "")
        + (f", {c.pending} pending" if c.pending else "")
        for c in outcome.counts
        if c.planned or c.loaded or c.failed
    ]


def _facts(outcome: RunOutcome) -> list[tuple[str, str]]:
    facts = [
        ("Project", outcome.project_key),
        ("Duration", fmt_seconds(outcome.seconds)),
        ("Failed", str(outcome.failed)),
        ("Degraded", str(outcome.degraded)),
        ("Kept in text", str(outcome.kept_in_text)),
    ]
    if outcome.qtest_project_id:
        facts.insert(1, ("qTest project", str(outcome.qtest_project_id)))
    return facts


def slack_body(outcome: RunOutcome) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (the fallback) and Block Kit ``blocks``."""
    word, reason = verdict(outcome)
    lines = _count_lines(outcome) or ["nothing planned"]
    return {
        "text": f"{_title(outcome)}. {reason}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": _title(outcome)[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{word}*: {reason}"}},
            {
                "type": "section",
                "fields": [
                    {"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in _facts(outcome)
                ],
            },
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(f"• {line}" for line in lines)}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Report: {outcome.report}"}]},
        ],
    }


def teams_body(outcome: RunOutcome) -> dict[str, Any]:
    """A Teams incoming-webhook or workflow message: one Adaptive Card."""
    word, reason = verdict(outcome)
    color = {PASSED: "Good", PASSED_WITH_DEGRADATIONS: "Warning"}.get(word, "Attention")
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "size": "Medium",
                "weight": "Bolder",
                "wrap": True,
                "text": _title(outcome),
            },
            {"type": "TextBlock", "wrap": True, "color": color, "text": f"**{word}**: {reason}"},
            {
                "type": "FactSet",
                "facts": [{"title": name, "value": value} for name, value in _facts(outcome)],
            },
            {
                "type": "TextBlock",
                "wrap": True,
                "text": "\n\n".join(_count_lines(outcome)) or "Nothing planned.",
            },
            {"type": "TextBlock", "wrap": True, "isSubtle": True, "text": f"Report: {outcome.report}"},
        ],
    }
    if outcome.report.startswith(("http://", "https://")):
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": outcome.report}]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def generic_body(outcome: RunOutcome) -> dict[str, Any]:
    """The outcome as plain JSON, for any other receiver."""
    word, reason = verdict(outcome)
    return {
        "event": "ztoq.migration.finished",
        "project_key": outcome.project_key,
        "qtest_project_id": outcome.qtest_project_id,
        "run_id": outcome.run_id,
        "status": outcome.status,
        "verdict": word,
        "reason": reason,
        "duration_seconds": round(outcome.seconds, 3),
        "failed": outcome.failed,
        "degraded": outcome.degraded,
        "kept_in_text": outcome.kept_in_text,
        "counts": {
            c.entity_type: {
                "planned": c.planned,
                "loaded": c.loaded,
                "failed": c.failed,
                "degraded": c.degraded,
                "kept_in_text": c.kept_in_text,
                "pending": c.pending,
            }
            for c in outcome.counts
        },
        "error": outcome.error,
        "store": outcome.store,
        "report": outcome.report,
        "ztoq_version": __version__,
    }


BODIES = {"slack": slack_body, "teams": teams_body, "generic": generic_body}


def build_body(outcome: RunOutcome, fmt: str) -> dict[str, Any]:
    """The JSON body of the message in ``fmt`` (``slack``, ``teams`` or ``generic``)."""
    return BODIES[fmt](outcome)


def report_location(settings: NotificationsConfig, store: str, environ: Mapping[str, str]) -> str:
    """Where the report is: ``report_url`` with ``${VAR}`` expanded, else how to write it."""
    if settings.report_url:
        return _expand(settings.report_url, environ)
    where = f" on the store {store}" if store else ""
    return f"`ztoq migrate status --config <file> --format html --output-file report.html`{where}"


_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _expand(text: str, environ: Mapping[str, str]) -> str:
    """``${NAME}`` replaced by its value in ``environ`` (kept as written when unset)."""
    return _VARIABLE.sub(lambda match: environ.get(match[1], match[0]), text)


def send_notification(
    settings: NotificationsConfig,
    outcome: RunOutcome,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> bool:
    """Post the message about ``outcome`` if ``settings.on`` asks for it; True when it was delivered.

    Never raises for the receiver's sake: every failure is one logged warning without the URL.
    """
    env = os.environ if environ is None else environ
    if not should_send(outcome, settings.on):
        return False
    url = env.get(settings.webhook_url_env, "").strip()
    if not url:
        log.warning(
            "No notification was sent: the environment variable %s holding the webhook URL is not set.",
            settings.webhook_url_env,
        )
        return False
    body = build_body(outcome, settings.format)
    try:
        with httpx.Client(timeout=settings.timeout, transport=transport) as client:
            response = client.post(url, json=body)
    except httpx.TimeoutException:
        problem = f"it did not answer within {settings.timeout:g} seconds"
    except Exception as exc:  # a courtesy message must never fail the run, whatever went wrong
        # The exception's text may quote the URL (a secret): name its type only.
        problem = f"it could not be reached ({type(exc).__name__})"
    else:
        if response.is_success:
            return True
        problem = f"it answered HTTP {response.status_code}"
    log.warning(
        "The %s notification of run %d did not reach the webhook in %s: %s; the migration is unaffected.",
        settings.format,
        outcome.run_id,
        settings.webhook_url_env,
        problem,
    )
    return False
