"""The one reader of the qTest target project's settings, and the one policy for its failures.

Extract stores what it reads (transform maps onto it), the dry run's preflight checks the plan
against it, and ``ztoq verify-tokens`` proves it can be read: all three call
:func:`read_target_settings`, so a refusal means the same thing, and says the same sentence,
wherever it is met:

* the project answers 403 or 404: :class:`ProjectNotAccessible`, qTest's answer as it is, marked
  as the project's (a wrong ``qtest.project_id``, or a user who is not a member): extract's
  orchestrator says to check the configuration, ``verify-tokens`` lists the projects the user sees;
* the field settings of an object type answer 403: :class:`FieldSettingsRefused`. Reading that
  as "no fields" would map every custom field to text and flag every planned value as deleted,
  so the run stops and says what to do;
* the field settings of an object type answer 400, 404 or 405: that qTest has no settings of
  that type (an older version), so the type has no fields to map onto;
* anything else (401, 5xx, the network) reaches the caller as the :class:`~ztoq.errors.ApiError`
  it is.

:class:`FieldSettingsRefused` is a :class:`~ztoq.errors.ConfigError`: exit code 2 through the CLI,
also when it is met inside a phase. Every request is a GET.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ztoq.errors import ConfigError, FatalApiError, NotFound, PermissionDenied
from ztoq.qtest.client import QTestClient
from ztoq.qtest.models import Field, Project, Status, User
from ztoq.vendor import QTEST_SETTINGS_OBJECT_TYPES

log = logging.getLogger(__name__)

#: Statuses with which qTest says it has no field settings of an object type.
NO_SUCH_SETTINGS = (400, 404, 405)


class ProjectNotAccessible(FatalApiError):
    """The qTest project does not exist, or the token's user is not a member of it (403/404)."""

    def __init__(self, project_id: int, answer: FatalApiError) -> None:
        self.project_id = project_id
        super().__init__(
            str(answer), api=answer.api, status=answer.status, method=answer.method, url=answer.path
        )


class FieldSettingsRefused(ConfigError):
    """qTest refuses the token's user the field settings of an object type (403)."""

    def __init__(self, project_id: int, object_type: str) -> None:
        self.project_id = project_id
        self.object_type = object_type
        super().__init__(
            f"qTest refused to show the token's user the {object_type} field settings of project "
            f"{project_id} (403), so ztoq cannot tell which custom fields and values exist; use the token "
            "of a user who may see the project's settings, or ask a qTest administrator to grant this "
            "user that access."
        )


@dataclass(frozen=True)
class TargetSettings:
    """What the qTest target project offers to map onto.

    Attributes:
        project: the project itself.
        fields: per object type of :data:`~ztoq.vendor.QTEST_SETTINGS_OBJECT_TYPES`, its fields
            with their allowed values (empty when that qTest has no settings of the type).
        execution_statuses: the test run execution statuses (Passed, Failed, ... and custom ones).
        users: the project's users.
    """

    project: Project
    fields: Mapping[str, Sequence[Field]]
    execution_statuses: Sequence[Status]
    users: Sequence[User]

    def field_payloads(self) -> dict[str, list[dict[str, Any]]]:
        """The fields as qTest sent them: object type -> FieldResource list."""
        return {object_type: [f.to_wire() for f in found] for object_type, found in self.fields.items()}

    def status_payloads(self) -> list[dict[str, Any]]:
        """The execution statuses as qTest sent them."""
        return [s.to_wire() for s in self.execution_statuses]

    def user_payloads(self) -> list[dict[str, Any]]:
        """The users as qTest sent them."""
        return [u.to_wire() for u in self.users]


async def read_target_settings(client: QTestClient, *, include_inactive: bool = False) -> TargetSettings:
    """Read the project, its field settings, execution statuses and users (GET requests only).

    Args:
        client: a client of the target project.
        include_inactive: list inactive fields too (the preflight names a field that was
            switched off; extract stores only what can be mapped onto).

    Raises:
        ProjectNotAccessible: the project answered 403 or 404.
        FieldSettingsRefused: the field settings of an object type answered 403.
        ApiError: any other failure (401, 5xx, the network), as it is.
    """
    try:
        project = await client.project()
    except (PermissionDenied, NotFound) as exc:
        raise ProjectNotAccessible(client.project_id, exc) from exc
    fields = {
        object_type: await _fields(client, object_type, include_inactive)
        for object_type in QTEST_SETTINGS_OBJECT_TYPES
    }
    statuses = await client.execution_statuses()
    users = await client.users()
    return TargetSettings(project, fields, statuses, users)


async def _fields(client: QTestClient, object_type: str, include_inactive: bool) -> list[Field]:
    try:
        return await client.fields(object_type, include_inactive=include_inactive)
    except PermissionDenied as exc:
        raise FieldSettingsRefused(client.project_id, object_type) from exc
    except FatalApiError as exc:
        if exc.status not in NO_SUCH_SETTINGS:
            raise
        log.info("qTest has no field settings for %s (%s)", object_type, exc)
        return []
