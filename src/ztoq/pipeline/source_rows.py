"""The rows extract stored, as the source adapters' record readers read them back.

Transform and the status counts decode stored rows through the configured source's
:class:`~ztoq.sources.base.RecordReader`; :class:`StoreRows` is what they hand it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from functools import cached_property
from typing import Any

from ztoq.errors import InputError
from ztoq.sources import DEFAULT_SOURCE, reader_named, source_title
from ztoq.sources.base import SOURCE_KIND, RecordReader
from ztoq.store import Repository, SourceItem
from ztoq.store.repo_base import PAGE_SIZE


class StoreRows:
    """The :class:`~ztoq.sources.base.StoredRows` of one project, read from the store a page at a time."""

    def __init__(self, repo: Repository, project_key: str, batch_size: int = PAGE_SIZE) -> None:
        """Read ``project_key``'s rows through ``repo`` (an open session), ``batch_size`` rows per page."""
        self.repo = repo
        self.project_key = project_key
        self.batch_size = batch_size

    def payloads(self, entity_type: str) -> Iterator[tuple[str, Any]]:
        """``(source key, payload)`` of every stored, not deleted, row of ``entity_type``, in store order."""
        for batch in self.batches(entity_type):
            yield from batch

    def batches(self, entity_type: str) -> Iterator[Sequence[tuple[str, Any]]]:
        """The rows of :meth:`payloads`, one keyset page of ``batch_size`` rows at a time."""
        return self.repo.source_pages(self.project_key, entity_type, page_size=self.batch_size)

    def payloads_for(self, entity_type: str, keys: Iterable[str]) -> Mapping[str, Any]:
        """Source key -> payload of the stored, not deleted, rows of ``entity_type`` among ``keys``."""
        return self.repo.source_payloads_for(self.project_key, entity_type, keys)


class StoredCounts(Mapping[str, int]):
    """The stored, not deleted, rows of one project per entity type, counted when first asked.

    The count reads the whole table; an attachment round of the overlapped run plans with what
    transform plans with but never asks it (one count a round was quadratic in the project's size).
    """

    def __init__(self, repo: Repository, project_key: str) -> None:
        """Count ``project_key``'s rows through ``repo`` (an open session) on first use."""
        self._repo = repo
        self._project_key = project_key

    @cached_property
    def _counts(self) -> dict[str, int]:
        return self._repo.source_counts(self._project_key)

    def __getitem__(self, entity_type: str) -> int:
        return self._counts[entity_type]

    def __iter__(self) -> Iterator[str]:
        return iter(self._counts)

    def __len__(self) -> int:
        return len(self._counts)


def stored_source_name(repo: Repository, project_key: str) -> str | None:
    """The source ``project_key`` was extracted from (None: nothing recorded yet)."""
    row = repo.get_source(project_key, *SOURCE_KIND)
    payload = None if row is None else row.payload
    if isinstance(payload, dict) and isinstance(payload.get("name"), str):
        return str(payload["name"])
    # Stores written before there was a choice of source hold Cloud rows.
    return DEFAULT_SOURCE if repo.get_source(project_key, "project", project_key) else None


def stored_reader(repo: Repository, project_key: str) -> RecordReader:
    """The record reader of the source that wrote ``project_key``'s rows."""
    return reader_named(stored_source_name(repo, project_key))


def check_source(repo: Repository, project_key: str, name: str) -> None:
    """Refuse to work on ``project_key`` with source ``name`` when the store holds it from another.

    Raises:
        InputError: the store holds this project as extracted from another source.
    """
    stored = stored_source_name(repo, project_key)
    if stored is not None and stored != name:
        raise InputError(
            f"The store already holds project {project_key} extracted from {source_title(stored)}, "
            f"and this configuration reads {source_title(name)}; use another database (database.path "
            "or database.url) for this source, or the configuration that wrote it."
        )


def claim_source(repo: Repository, project_key: str, name: str, *, run_id: int | None = None) -> None:
    """Record that ``project_key`` is extracted from source ``name``; refuse to mix two sources.

    Raises:
        InputError: the store holds this project as extracted from another source.
    """
    check_source(repo, project_key, name)
    if repo.get_source(project_key, *SOURCE_KIND) is None:
        repo.upsert_source(project_key, [SourceItem(*SOURCE_KIND, {"name": name})], run_id=run_id)
