"""Small rendering helpers shared by the qTest simulator's routes: dates, web URLs and links.

Dates follow what qTest Manager returns (``2023-03-31T10:35:04+00:00``: seconds precision, UTC,
explicit ``+00:00`` offset), as seen in published API response samples.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ztoq.simulators.qtest.state import QTestError

#: ``#tab=...&object=N`` of the qTest web app per artifact. Values are taken from the examples in
#: Tricentis' published Swagger file (api-manager-v3.0.yaml): releases ``testplan/8``, test cycles
#: ``testexecution/4``, test suites ``testexecution/2``, test cases ``testdesign/1``, requirements
#: ``requirements/5``; test runs ``testexecution/3`` and modules ``testdesign/0`` come from links
#: found in public projects (the Swagger file has no example for them).
WEB_TABS: dict[str, tuple[str, int]] = {
    "modules": ("testdesign", 0),
    "test-cases": ("testdesign", 1),
    "requirements": ("requirements", 5),
    "releases": ("testplan", 8),
    "test-cycles": ("testexecution", 4),
    "test-suites": ("testexecution", 2),
    "test-runs": ("testexecution", 3),
}

#: Path segment of an attachment's web URL per object type. The Swagger example only shows
#: ``.../portal/attachment/testcase/attachmentId/1``; the other segments are a guess.
ATTACHMENT_SEGMENTS: dict[str, str] = {
    "releases": "release",
    "builds": "build",
    "requirements": "requirement",
    "test-cases": "testcase",
    "test-logs": "testlog",
    "test-steps": "teststep",
    "test-step-logs": "teststeplog",
    "defects": "defect",
}


def iso(moment: datetime | None) -> str | None:
    """Format a moment as qTest does: ``YYYY-MM-DDTHH:MM:SS+00:00`` in UTC.

    Args:
        moment: An aware datetime, or None.

    Returns:
        The formatted string, or None when ``moment`` is None.
    """
    if moment is None:
        return None
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def parse_datetime(value: Any, what: str) -> datetime:
    """Parse an ISO-8601 date or date-time sent by a client (``Z``, offsets and fractions allowed).

    A value without an offset is taken as UTC; a bare date is midnight UTC.

    Args:
        value: The JSON value received.
        what: The attribute name, for the error message.

    Returns:
        An aware datetime.

    Raises:
        QTestError: 400 when the value is missing or not ISO-8601.
    """
    if not isinstance(value, str) or not value.strip():
        raise QTestError(400, f"{what} is required and must be an ISO-8601 date time")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise QTestError(400, f"{what} '{value}' is not a valid ISO-8601 date time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def web_url(base: str, project_id: int, kind: str, entity_id: int) -> str:
    """The qTest web-app URL of an artifact, e.g. ``.../p/1/portal/project#tab=testdesign&object=1&id=5``.

    Args:
        base: Site URL (scheme and host) the client used.
        project_id: Project of the artifact.
        kind: API object type (``test-cases``, ``releases``...).
        entity_id: ID of the artifact.

    Returns:
        The URL.
    """
    tab, obj = WEB_TABS[kind]
    return f"{base}/p/{project_id}/portal/project#tab={tab}&object={obj}&id={entity_id}"


def attachment_url(base: str, project_id: int, object_type: str, attachment_id: int) -> str:
    """The web URL of an attachment (``.../p/{p}/portal/attachment/testcase/attachmentId/{id}``).

    Args:
        base: Site URL the client used.
        project_id: Project of the attachment.
        object_type: API object type the attachment belongs to.
        attachment_id: ID of the attachment.

    Returns:
        The URL.
    """
    segment = ATTACHMENT_SEGMENTS.get(object_type, object_type)
    return f"{base}/p/{project_id}/portal/attachment/{segment}/attachmentId/{attachment_id}"


def link(rel: str, href: str) -> dict[str, str]:
    """A HATEOAS link as qTest renders it (``{"rel": ..., "href": ...}``).

    Args:
        rel: Relation name.
        href: Target URL.

    Returns:
        The link object.
    """
    return {"rel": rel, "href": href}


def api(base: str, project_id: int, path: str) -> str:
    """Absolute URL of a project-scoped API resource.

    Args:
        base: Site URL the client used.
        project_id: Project ID.
        path: Path below ``/api/v3/projects/{projectId}/``.

    Returns:
        The URL.
    """
    return f"{base}/api/v3/projects/{project_id}/{path}"
