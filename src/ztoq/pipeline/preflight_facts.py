"""What the preflight reads from qTest, with GET requests only: today's settings and permissions.

The settings come through the one reader of the target's settings
(:func:`ztoq.qtest.settings.read_target_settings`, with inactive fields, so a field switched off
can be named), under its policy; then the token user's ``UserProfile``. The preflight does not
reuse what extract stored, because qTest may have changed since: that is what it checks. The
stored settings only supply the names of fields and values that are gone today.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from ztoq.config import ZtoqConfig
from ztoq.errors import ApiError, ConfigError, FatalApiError
from ztoq.mapping.lookups import TargetFields
from ztoq.pipeline.preflight_checks import Names
from ztoq.qtest import QTestClient
from ztoq.qtest.settings import read_target_settings


@dataclass(frozen=True)
class QTestFacts:
    """What the preflight read from qTest (GET only)."""

    project_id: int
    project_name: str
    #: Active fields, active values, active execution statuses and active project users.
    target: TargetFields
    names: Names
    #: ``UserProfile`` of the token's user in the project; None when it could not be read.
    profile: Mapping[str, Any] | None
    profile_error: str | None
    requests: dict[str, int]


async def gather_qtest_facts(
    config: ZtoqConfig,
    *,
    stored_settings: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> QTestFacts:
    """Read the project, fields, statuses, users and permissions from qTest (GET requests only).

    Args:
        config: the configuration; its ``qtest`` section names the project.
        stored_settings: the field settings extract stored (object type -> FieldResource list),
            to name fields and values qTest no longer has.
        transport: an httpx transport for the client (tests).

    Raises:
        ConfigError: qTest cannot be reached or refuses the token, the project or its field
            settings (exit 2).
    """
    config.require_target()
    pid = config.qtest.project_id
    client = QTestClient.from_config(
        config.qtest, network=config.network, performance=config.performance, transport=transport
    )
    try:
        try:
            settings = await read_target_settings(client, include_inactive=True)
        except ApiError as exc:
            raise ConfigError(
                f"The preflight cannot read the settings of qTest project {pid}: {exc} "
                "Run `ztoq verify-tokens --config <file>` to see what is wrong."
            ) from exc
        profile: Mapping[str, Any] | None
        try:
            profile, profile_error = await client.current_permissions(), None
        except FatalApiError as exc:
            profile, profile_error = None, str(exc)
        stats = client.session.snapshot()
    finally:
        await client.aclose()
    raw_fields = settings.field_payloads()
    statuses = settings.status_payloads()
    active_statuses = [s for s in statuses if s.get("active") is not False]
    target = TargetFields.from_settings(
        raw_fields, execution_statuses=active_statuses, users=settings.user_payloads()
    )
    return QTestFacts(
        project_id=pid,
        project_name=str(settings.project.name or ""),
        target=target,
        names=Names.build([raw_fields, dict(stored_settings or {})], [statuses]),
        profile=profile,
        profile_error=profile_error,
        requests={str(k): int(v) for k, v in (stats.get("requests_by_method") or {}).items()},
    )
