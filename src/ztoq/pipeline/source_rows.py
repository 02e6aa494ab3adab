"""The rows extract stored, as the source adapters' record readers read them back.

Transform and the status counts decode stored rows through the configured source's
:class:`~ztoq.sources.base.RecordReader`; :class:`StoreRows` is what they hand it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ztoq.store import Repository


class StoreRows:
    """The :class:`~ztoq.sources.base.StoredRows` of one project, read from the store."""

    def __init__(self, repo: Repository, project_key: str) -> None:
        """Read ``project_key``'s rows through ``repo`` (an open session)."""
        self.repo = repo
        self.project_key = project_key

    def payloads(self, entity_type: str) -> Iterator[tuple[str, Any]]:
        """``(source key, payload)`` of every stored, not deleted, row of ``entity_type``, in store order."""
        for row in self.repo.iter_source(self.project_key, entity_type):
            yield row.source_key, row.payload
