"""The repository: every named query the phases use, over one unit-of-work session.

Phases never write SQL; they call these methods (see the mixins for each table group) inside
``Store.session()``, which commits on success and rolls back on error::

    with store.session() as repo:
        result = repo.upsert_source("PROJ", items, run_id=run_id)
"""

from __future__ import annotations

from ztoq.store.repo_admin import AdminQueries
from ztoq.store.repo_attachments import AttachmentQueries
from ztoq.store.repo_delta import DeltaQueries
from ztoq.store.repo_mapping import MappingQueries
from ztoq.store.repo_planned import PlannedQueries
from ztoq.store.repo_problems import ProblemQueries
from ztoq.store.repo_runs import RunQueries
from ztoq.store.repo_source import SourceQueries
from ztoq.store.repo_stream import StreamQueries
from ztoq.store.repo_validate import ValidateQueries


class Repository(
    SourceQueries,
    PlannedQueries,
    MappingQueries,
    ProblemQueries,
    RunQueries,
    AttachmentQueries,
    AdminQueries,
    StreamQueries,
    ValidateQueries,
    DeltaQueries,
):
    """All named queries of the store, bound to one SQLAlchemy session.

    Methods never commit by themselves; ``Store.session()`` commits at the end of the unit of work,
    or call ``commit()`` between batches. Returned rows are plain frozen dataclasses.
    """
