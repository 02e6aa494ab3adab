"""The loader of each registered entity type (:data:`LOADERS`), built once per phase.

Each loader module registers its own types (a new type's loader and its entry live in one file);
this module joins them, and the registry test checks that every registered type has one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from contextlib import AbstractContextManager

from ztoq.entities import LOAD_ORDER
from ztoq.pipeline.load_attachments import ATTACHMENT_LOADERS
from ztoq.pipeline.load_design import DESIGN_LOADERS
from ztoq.pipeline.load_execution import EXECUTION_LOADERS
from ztoq.pipeline.load_types import EntityLoader, LoaderFactory, LoaderInputs
from ztoq.store import TARGET_STATES, Repository

#: Entity type -> how its loader is built. Keyed by every registered type (a test checks it).
LOADERS: dict[str, LoaderFactory] = {**DESIGN_LOADERS, **EXECUTION_LOADERS, **ATTACHMENT_LOADERS}


def build_loaders(inputs: LoaderInputs | None = None) -> dict[str, EntityLoader]:
    """One loader per registered type, in load order."""
    inputs = inputs or LoaderInputs()
    return {entity_type: LOADERS[entity_type](inputs) for entity_type in LOAD_ORDER}


class StoredAttachmentPlaces:
    """Where the attachments ztoq uploaded or adopted are, asked of the store when load needs it
    (before it replaces or adopts one): never held, as a project can have millions of them."""

    def __init__(self, session: Callable[[], AbstractContextManager[Repository]], project_key: str) -> None:
        self._session = session
        self._project_key = project_key

    def places_of(self, target_ids: Collection[int]) -> dict[int, str]:
        if not target_ids:
            return {}
        with self._session() as repo:
            return repo.target_places_of(self._project_key, "attachment", target_ids, TARGET_STATES)
