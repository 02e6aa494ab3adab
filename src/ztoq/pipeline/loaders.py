"""The loader of each registered entity type (:data:`LOADERS`), built once per phase.

Each loader module registers its own types (a new type's loader and its entry live in one file);
this module joins them, and the registry test checks that every registered type has one.
"""

from __future__ import annotations

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


def attachment_places(repo: Repository, project_key: str) -> dict[int, str]:
    """qTest attachment id -> the object it is on, of every attachment ztoq uploaded or adopted."""
    return {
        m.target_id: m.target_pid
        for m in repo.iter_mappings(project_key, "attachment", states=TARGET_STATES)
        if m.target_id is not None and m.target_pid
    }
