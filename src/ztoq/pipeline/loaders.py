"""The loader of each registered entity type (:data:`LOADERS`), built once per phase."""

from __future__ import annotations

from ztoq.entities import LOAD_ORDER
from ztoq.pipeline.load_design import ModuleLoader, RequirementLinker, TestCaseLoader
from ztoq.pipeline.load_execution import CycleLoader, LogLoader, ReleaseLoader, RunLoader
from ztoq.pipeline.load_types import EntityLoader, LoaderFactory, LoaderInputs

#: Entity type -> how its loader is built. Keyed by every registered type (a test checks it).
LOADERS: dict[str, LoaderFactory] = {
    "module": lambda _: ModuleLoader(),
    "test_case": lambda inputs: TestCaseLoader(inputs.key_fields.get("test-cases"), RequirementLinker()),
    "release": lambda inputs: ReleaseLoader(inputs.key_fields.get("releases")),
    "cycle_folder": lambda _: CycleLoader(),
    "test_cycle": lambda _: CycleLoader(),
    "test_run": lambda inputs: RunLoader(inputs.key_fields.get("test-runs")),
    "test_log": lambda inputs: LogLoader(inputs.case_ids),
}


def build_loaders(inputs: LoaderInputs | None = None) -> dict[str, EntityLoader]:
    """One loader per registered type, in load order."""
    inputs = inputs or LoaderInputs()
    return {entity_type: LOADERS[entity_type](inputs) for entity_type in LOAD_ORDER}
