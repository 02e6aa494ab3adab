"""Tell the configured webhook how a ``ztoq migrate run`` ended (the ``notifications:`` section).

Called once, at the very end of :func:`ztoq.pipeline.orchestrator.run_migration`, whether the run
succeeded, failed or was interrupted. It reads the run's counts from the store, builds the message
(:mod:`ztoq.report.notify`) and posts it. Nothing here can fail the migration or change its exit
code: whatever goes wrong is logged as one warning sentence.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ztoq.config import ZtoqConfig
from ztoq.errors import ZtoqError
from ztoq.pipeline.status import type_status
from ztoq.report.notify import RunOutcome, TypeCounts, report_location, send_notification
from ztoq.store import Store

if TYPE_CHECKING:
    import httpx

    from ztoq.pipeline.orchestrator import RunSummary

log = logging.getLogger(__name__)

#: The command whose end is announced (not dry runs, not single ``ztoq workflow`` phases).
NOTIFIED_COMMAND = "migrate run"


def run_outcome(
    config: ZtoqConfig, store: Store, summary: RunSummary, environ: Mapping[str, str] | None = None
) -> RunOutcome:
    """How the run ended, with the project's counts per entity type read from the store.

    When the store cannot be read (it may be why the run failed), the counts are left out.
    """
    env = os.environ if environ is None else environ
    counts: tuple[TypeCounts, ...] = ()
    try:
        with store.session() as repo:
            rows = type_status(repo, summary.project_key)
        counts = tuple(
            TypeCounts(r.entity_type, r.planned, r.loaded, r.failed, r.degraded, r.pending, r.kept_in_text)
            for r in rows
        )
    except Exception as exc:  # the store may be why the run failed: still tell the verdict
        reason = str(exc).rstrip(".") if isinstance(exc, ZtoqError) else type(exc).__name__
        log.warning("The notification carries no counts: the store could not be read (%s).", reason)
    error = next((p.error for p in reversed(summary.phases) if p.error), None)
    settings = config.notifications
    return RunOutcome(
        project_key=summary.project_key,
        run_id=summary.run_id,
        status=summary.status,
        seconds=summary.wall_seconds,
        validated=any(p.phase == "validate" and p.status == "succeeded" for p in summary.phases),
        counts=counts,
        error=error,
        qtest_project_id=config.qtest.project_id or None,
        store=summary.store,
        report="" if settings is None else report_location(settings, summary.store, env),
    )


def notify_run_end(
    config: ZtoqConfig,
    store: Store,
    summary: RunSummary,
    command: str,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> bool:
    """Send the end-of-run message when ``notifications:`` is configured and ``command`` is a migrate run.

    Returns:
        True when the receiver accepted the message.
    """
    settings = config.notifications
    if settings is None or command != NOTIFIED_COMMAND:
        return False
    try:
        outcome = run_outcome(config, store, summary, environ)
        return send_notification(settings, outcome, environ=environ, transport=transport)
    except Exception as exc:  # a courtesy message never fails the run or changes its exit code
        log.warning("No notification was sent: building it failed (%s).", type(exc).__name__)
        return False
