"""Named queries of a delta validation: what changed in qTest's copy since the last validation.

A delta validation (:mod:`ztoq.pipeline.validate_scope`) reads again the test logs and the
attachments *in question*: those whose mapping changed at or after the moment the last validation
of their type began reading, and those a validation found a problem with (so a problem is found
again, or cleared, by the next run, not left standing while runs succeed). :func:`in_question`
is that condition in SQL, shared with the paged queries of :mod:`ztoq.store.repo_validate`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, exists, or_, select

from ztoq.store.records import MappingState
from ztoq.store.repo_base import RepoBase, chunks
from ztoq.store.tables import mappings as m
from ztoq.store.tables import problems as pr

#: The phase whose problems and records these queries read.
VALIDATE = "validate"


def has_problem(project_key: str, entity_type: str, key: Any) -> ColumnElement[bool]:
    """Whether a validation recorded a problem of ``entity_type`` for the source key ``key``."""
    return exists().where(
        pr.c.project_key == project_key,
        pr.c.phase == VALIDATE,
        pr.c.entity_type == entity_type,
        pr.c.source_key == key,
    )


def in_question(project_key: str, entity_type: str, since: datetime) -> ColumnElement[bool]:
    """Over ``mappings``: qTest has no id for it, its mapping changed at or after ``since``, or a
    validation found a problem with it."""
    return or_(
        m.c.target_id.is_(None),
        m.c.updated_at >= since,
        has_problem(project_key, entity_type, m.c.source_key),
    )


class DeltaQueries(RepoBase):
    """What a delta validation reads again."""

    def unchanged_among(
        self, project_key: str, entity_type: str, keys: Iterable[str], since: datetime
    ) -> set[str]:
        """The keys among ``keys`` not in question since ``since`` (:func:`in_question`): qTest
        holds them (a mapping with a qTest id, not deleted) as the last validation found them."""
        query = select(m.c.source_key).where(
            m.c.project_key == project_key,
            m.c.entity_type == entity_type,
            m.c.state != MappingState.DELETED.value,
            ~in_question(project_key, entity_type, since),
        )
        found: set[str] = set()
        for chunk in chunks(sorted(set(keys))):
            found.update(key for (key,) in self._session.execute(query.where(m.c.source_key.in_(chunk))))
        return found

    def keys_with_problem(self, project_key: str, entity_type: str, code: str) -> list[str]:
        """The source keys of ``entity_type`` a validation found the problem ``code`` with."""
        query = (
            select(pr.c.source_key)
            .where(
                pr.c.project_key == project_key,
                pr.c.phase == VALIDATE,
                pr.c.entity_type == entity_type,
                pr.c.code == code,
            )
            .distinct()
        )
        return [str(key) for key in self._session.scalars(query)]
