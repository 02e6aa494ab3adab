"""Reading ``auto-test-logs`` submissions in the qTest simulator: validated test log entries.

The attributes and rules are those of AutomationTestLogResource and AutomationTestStepLog in
Tricentis' Swagger file: ``exe_start_date`` and ``exe_end_date`` are required, ``status`` is an
automation result value, step logs need ``description`` and ``expected_result``, and their
``order`` "must be continuous series of numbers, starting from zero" (without it the steps are
"alphabetically sorted"). Test run ``properties`` with an unknown field ID are ignored; an invalid
value refuses the log, as the qTest documentation of the batch submission says.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ztoq.simulators.qtest.fields import apply_properties
from ztoq.simulators.qtest.render import parse_datetime
from ztoq.simulators.qtest.routing import Req, member_ids
from ztoq.simulators.qtest.state import QTestError
from ztoq.values import int_or_none

#: Automation result values and the execution status each maps to. The simulator has no
#: "Automation Settings" page; these are the result names test frameworks send (a guess beside
#: the status names themselves, which are always accepted).
STATUS_ALIASES = {"pass": "passed", "fail": "failed", "skip": "incomplete", "skipped": "incomplete"}


@dataclass
class StepEntry:
    """One validated step log of a submission."""

    description: str
    expected: str
    actual: str
    status_id: int
    status_text: str
    exe_date: datetime | None
    attachments: list[tuple[str, str, bytes]] = field(default_factory=list)


@dataclass
class LogEntry:
    """One validated test log of a submission."""

    raw: dict[str, Any]
    name: str
    content: str
    status: dict[str, Any]
    exe_start: datetime
    exe_end: datetime
    steps: list[StepEntry] | None
    attachments: list[tuple[str, str, bytes]]
    run_properties: dict[int, str]
    case_properties: list[dict[str, Any]]


def automation_status(req: Req, raw: Any, what: str) -> dict[str, Any]:
    """The execution status an automation result value stands for.

    Args:
        req: The request.
        raw: The submitted value (``PASSED``, ``failed``, ``Passed``...).
        what: Where it was sent, for the error message.

    Returns:
        The StatusResource dict.

    Raises:
        QTestError: 400 when the value is not mapped to a status.
    """
    if not isinstance(raw, str) or not raw.strip():
        raise QTestError(400, f"{what}: status is required")
    wanted = STATUS_ALIASES.get(raw.strip().lower(), raw.strip().lower())
    for status in req.state.project(req.project_id).statuses:
        if status["name"].lower() == wanted and status.get("active", True):
            return status
    raise QTestError(400, f"{what}: status '{raw}' is not mapped to a Test Run status")


def _files(raw: Any, what: str) -> list[tuple[str, str, bytes]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise QTestError(400, f"{what}: attachments must be an array")
    out = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise QTestError(400, f"{what}: each attachment needs name, content_type and base64 data")
        try:
            data = base64.b64decode(str(item.get("data") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise QTestError(400, f"{what}: attachment '{item['name']}' is not valid base64") from None
        out.append((item["name"], str(item.get("content_type") or "application/octet-stream"), data))
    return out


def _steps(req: Req, raw: Any, what: str) -> list[StepEntry] | None:
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise QTestError(400, f"{what}: test_step_logs must be an array")
    orders = [s.get("order") for s in raw]
    if any(o is not None for o in orders):
        # "It must be continuous series of numbers, starting from zero, or it will throw an error."
        if sorted(o for o in orders if isinstance(o, int)) != list(range(len(raw))):
            raise QTestError(400, f"{what}: step orders must be a continuous series starting from 0")
        ordered = sorted(raw, key=lambda s: int(s["order"]))
    else:
        # "If the order is omitted, Test Steps will be alphabetically sorted."
        ordered = sorted(raw, key=lambda s: str(s.get("description") or ""))
    out = []
    for position, item in enumerate(ordered, start=1):
        where = f"{what}, step {position}"
        description, expected = item.get("description"), item.get("expected_result")
        if not isinstance(description, str) or not isinstance(expected, str):
            raise QTestError(400, f"{where}: description and expected_result are required")
        actual = item.get("actual_result") or ""
        if not isinstance(actual, str):
            raise QTestError(400, f"{where}: actual_result must be a string")
        out.append(
            StepEntry(
                description=description,
                expected=expected,
                actual=actual,
                status_id=int(automation_status(req, item.get("status"), where)["id"]),
                status_text=str(item.get("status")),
                exe_date=parse_datetime(item["exe_date"], "exe_date") if item.get("exe_date") else None,
                attachments=_files(item.get("attachments"), where),
            )
        )
    return out


def prepare(req: Req, raw: Any, what: str, *, identity: bool = True) -> LogEntry:
    """Validate one submitted AutomationTestLogResource.

    Args:
        req: The request.
        raw: The test log object.
        what: Where it was sent, for error messages.
        identity: ``name`` and ``automation_content`` are required (a new or looked-up run).

    Returns:
        The validated entry.

    Raises:
        QTestError: 400 on any violation.
    """
    if not isinstance(raw, dict):
        raise QTestError(400, f"{what} must be an object")
    name, content = raw.get("name"), raw.get("automation_content")
    if identity and (not isinstance(name, str) or not name.strip()):
        raise QTestError(400, f"{what}: name is required")
    if identity and (not isinstance(content, str) or not content.strip()):
        raise QTestError(400, f"{what}: automation_content is required")
    exe_start = parse_datetime(raw.get("exe_start_date"), "exe_start_date")
    exe_end = parse_datetime(raw.get("exe_end_date"), "exe_end_date")
    if exe_end < exe_start:
        raise QTestError(400, f"{what}: exe_end_date must not be before exe_start_date")
    fields = req.state.fields_of(req.project_id, "test-runs")
    known = {f["id"] for f in fields if f.get("is_active", True)}
    given = raw.get("properties")
    if given is not None and not isinstance(given, list):
        raise QTestError(400, f"{what}: properties must be an array")
    # "If invalid field ID is specified, the field is ignored but the Test Log is still submitted;
    # if invalid value is specified, the Test Log is not submitted."
    kept = [p for p in given or [] if isinstance(p, dict) and int_or_none(p.get("field_id")) in known]
    case_props = raw.get("testcase_properties")
    if case_props is not None and not isinstance(case_props, list):
        raise QTestError(400, f"{what}: testcase_properties must be an array")
    return LogEntry(
        raw=raw,
        name=str(name or "").strip(),
        content=str(content or "").strip(),
        status=automation_status(req, raw.get("status"), what),
        exe_start=exe_start,
        exe_end=exe_end,
        steps=_steps(req, raw.get("test_step_logs"), what),
        attachments=_files(raw.get("attachments"), what),
        run_properties=apply_properties(fields, kept, {}, member_ids(req), creating=False),
        case_properties=case_props or [],
    )
