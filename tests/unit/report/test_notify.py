"""The end-of-run notification: verdicts, the three bodies, and sending that never fails the run."""

from __future__ import annotations

import json
import logging

import httpx
import pytest
import yaml

from ztoq.config import NotificationsConfig, build_config
from ztoq.errors import ConfigError
from ztoq.report.notify import (
    FAILED,
    INCOMPLETE,
    INTERRUPTED,
    PASSED,
    PASSED_WITH_DEGRADATIONS,
    RunOutcome,
    TypeCounts,
    build_body,
    report_location,
    send_notification,
    should_send,
    verdict,
)

URL = "https://hooks.example.com/services/T000/B000/very-secret-token"
COUNTS = (
    TypeCounts("module", planned=4, loaded=4),
    TypeCounts("test_case", planned=60, loaded=58, failed=2, degraded=3, kept_in_text=50),
    TypeCounts("test_run", planned=0),
)


def outcome(**changes: object) -> RunOutcome:
    values: dict[str, object] = {
        "project_key": "DEMO",
        "run_id": 7,
        "status": "succeeded",
        "seconds": 754.2,
        "validated": True,
        "counts": (TypeCounts("module", 4, 4), TypeCounts("test_case", 60, 60, degraded=3)),
        "qtest_project_id": 101,
        "store": "postgresql://db:5432/ztoq",
        "report": "https://ci.example.com/runs/42/artifacts",
    }
    values.update(changes)
    return RunOutcome(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "word"),
    [
        ({"counts": (TypeCounts("module", 4, 4),)}, PASSED),
        ({}, PASSED_WITH_DEGRADATIONS),
        ({"counts": COUNTS}, FAILED),
        ({"status": "failed", "error": "The load phase failed: qTest answered 500."}, FAILED),
        ({"status": "interrupted"}, INTERRUPTED),
        ({"validated": False}, INCOMPLETE),
    ],
)
def test_verdict(changes: dict[str, object], word: str) -> None:
    assert verdict(outcome(**changes))[0] == word


def test_values_kept_in_text_alone_leave_the_verdict_passed_and_are_named() -> None:
    kept = outcome(counts=(TypeCounts("test_case", 60, 60, kept_in_text=60),))
    assert verdict(kept) == (
        PASSED,
        "Every entity is in qTest and validation found no difference. "
        "60 entities keep values without a qTest field in text.",
    )
    assert not should_send(kept, "failure")


def test_failed_verdict_quotes_the_error_and_on_failure_stays_quiet_on_success() -> None:
    failed = outcome(status="failed", error="The load phase failed: qTest answered 500.")
    assert verdict(failed)[1] == "The load phase failed: qTest answered 500."
    assert should_send(failed, "failure")
    assert should_send(outcome(), "always")
    assert not should_send(outcome(), "failure")
    assert should_send(outcome(validated=False), "failure")


def test_slack_body_has_text_and_blocks() -> None:
    body = build_body(outcome(counts=COUNTS), "slack")
    assert body["text"].startswith("ztoq migration of DEMO: failed (run 7).")
    kinds = [block["type"] for block in body["blocks"]]
    assert kinds == ["header", "section", "section", "section", "context"]
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for f in body["blocks"][2]["fields"]}
    assert fields == {
        "*Project*": "DEMO",
        "*qTest project*": "101",
        "*Duration*": "754.2 s (12 min 34 s)",
        "*Failed*": "2",
        "*Degraded*": "3",
        "*Kept in text*": "50",
    }
    lines = body["blocks"][3]["text"]["text"].splitlines()
    assert lines == [
        "• module: 4/4 in qTest",
        "• test case: 58/60 in qTest, 2 failed, 3 degraded, 50 kept in text",
    ]
    assert body["blocks"][4]["elements"][0]["text"] == "Report: https://ci.example.com/runs/42/artifacts"


def test_teams_body_is_an_adaptive_card_with_a_report_link() -> None:
    body = build_body(outcome(), "teams")
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"]) == ("AdaptiveCard", "1.4")
    texts = [item.get("text", "") for item in card["body"]]
    assert texts[0] == "ztoq migration of DEMO: passed with degradations (run 7)"
    assert (
        texts[1] == "**passed with degradations**: Every entity is in qTest; 3 entities with degraded values."
    )
    facts = {f["title"]: f["value"] for f in card["body"][2]["facts"]}
    assert (facts["Failed"], facts["Degraded"]) == ("0", "3")
    assert card["actions"] == [
        {
            "type": "Action.OpenUrl",
            "title": "Open the report",
            "url": "https://ci.example.com/runs/42/artifacts",
        }
    ]
    assert (
        "actions"
        not in build_body(outcome(report="run `ztoq migrate status`"), "teams")["attachments"][0]["content"]
    )


def test_generic_body_is_the_outcome_as_json() -> None:
    body = build_body(outcome(counts=COUNTS, status="failed", error="boom."), "generic")
    json.dumps(body)  # serialisable as is
    assert {
        k: body[k]
        for k in ("event", "project_key", "run_id", "status", "verdict", "failed", "degraded", "kept_in_text")
    } == {
        "event": "ztoq.migration.finished",
        "project_key": "DEMO",
        "run_id": 7,
        "status": "failed",
        "verdict": "failed",
        "failed": 2,
        "degraded": 3,
        "kept_in_text": 50,
    }
    assert body["counts"]["test_case"] == {
        "planned": 60,
        "loaded": 58,
        "failed": 2,
        "degraded": 3,
        "kept_in_text": 50,
        "pending": 0,
    }
    assert (body["duration_seconds"], body["reason"], body["qtest_project_id"]) == (754.2, "boom.", 101)


def test_report_location_expands_variables_or_says_how_to_write_it() -> None:
    settings = NotificationsConfig(report_url="${SERVER}/runs/${RUN_ID}/${UNSET}")
    assert (
        report_location(settings, "s", {"SERVER": "https://ci", "RUN_ID": "42"})
        == "https://ci/runs/42/${UNSET}"
    )
    hint = report_location(NotificationsConfig(), "postgresql://db:5432/ztoq", {})
    assert hint == (
        "`ztoq migrate status --config <file> --format html --output-file report.html` "
        "on the store postgresql://db:5432/ztoq"
    )


def _transport(answer: httpx.Response | Exception, seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handler)


def test_send_posts_the_body_to_the_url_from_the_environment() -> None:
    seen: list[httpx.Request] = []
    settings = NotificationsConfig(format="slack", webhook_url_env="HOOK")
    assert send_notification(
        settings, outcome(), environ={"HOOK": URL}, transport=_transport(httpx.Response(200), seen)
    )
    (request,) = seen
    assert (request.method, str(request.url)) == ("POST", URL)
    assert json.loads(request.content) == build_body(outcome(), "slack")


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        (httpx.Response(500), "it answered HTTP 500"),
        (httpx.ConnectError(f"connection refused by {URL}"), "it could not be reached (ConnectError)"),
        (httpx.ReadTimeout("timed out"), "it did not answer within 10 seconds"),
    ],
)
def test_a_failed_delivery_is_one_warning_without_the_url(
    answer: httpx.Response | Exception, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[httpx.Request] = []
    with caplog.at_level(logging.WARNING, logger="ztoq"):
        sent = send_notification(
            NotificationsConfig(),
            outcome(),
            environ={"ZTOQ_WEBHOOK_URL": URL},
            transport=_transport(answer, seen),
        )
    assert not sent
    assert len(seen) == 1
    (record,) = caplog.records
    assert record.getMessage() == (
        f"The generic notification of run 7 did not reach the webhook in ZTOQ_WEBHOOK_URL: {problem}; "
        "the migration is unaffected."
    )
    assert "secret" not in caplog.text


def test_no_url_and_on_failure(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[httpx.Request] = []
    transport = _transport(httpx.Response(200), seen)
    with caplog.at_level(logging.WARNING, logger="ztoq"):
        assert not send_notification(NotificationsConfig(), outcome(), environ={}, transport=transport)
        quiet = NotificationsConfig(on="failure")
        assert not send_notification(quiet, outcome(), environ={"ZTOQ_WEBHOOK_URL": URL}, transport=transport)
    assert seen == []
    assert [r.getMessage() for r in caplog.records] == [
        "No notification was sent: the environment variable ZTOQ_WEBHOOK_URL holding the webhook URL "
        "is not set."
    ]


def test_config_reads_the_section_and_refuses_a_url_in_the_file() -> None:
    cfg = build_config(yaml.safe_load("notifications: {format: teams, on: failure, report_url: 'https://x'}"))
    assert cfg.notifications == NotificationsConfig(format="teams", on="failure", report_url="https://x")
    assert build_config({}).notifications is None
    with pytest.raises(ConfigError, match="webhook_url is a secret and is not read from the config"):
        build_config({"notifications": {"webhook_url": URL}})
    with pytest.raises(ConfigError, match="must name an environment variable"):
        build_config({"notifications": {"webhook_url_env": URL}})
