"""Pure transform functions: a source record + lookup tables + mapping config -> a planned qTest payload.

The records are the canonical ones of :mod:`ztoq.sources.records` (a source adapter decodes them
from what extract stored), so mapping never reads a source's wire format. Nothing here calls an
API or the database. Planned payloads refer to other migrated entities by
their *source* keys (``ref("module", "123")``); the load phase resolves them to qTest ids through
the mapping table, so transform output never depends on what has been loaded yet. Test logs
also name test steps by ``{"$step": [test_case_key, order]}`` (see :mod:`ztoq.mapping.steps`).
The rules and their reasons: docs/mapping.md.
"""

from ztoq.mapping.base import PlannedEntity, Problem, find_refs, ref, resolve_refs
from ztoq.mapping.cycles import plan_adhoc_cycle, plan_test_cycle, plan_test_cycles
from ztoq.mapping.executions import plan_executions, plan_test_log, plan_test_run
from ztoq.mapping.lookups import SourceLookups, TargetFields, UserResolver
from ztoq.mapping.modules import plan_cycle_folders, plan_modules
from ztoq.mapping.releases import plan_release, plan_releases
from ztoq.mapping.steps import find_step_refs, planned_step_count, resolve_step_refs, step_ref
from ztoq.mapping.testcases import plan_test_case, plan_test_cases, step_counts
from ztoq.mapping.text import find_source_key, source_key_marker

__all__ = [
    "PlannedEntity",
    "Problem",
    "SourceLookups",
    "TargetFields",
    "UserResolver",
    "find_refs",
    "find_source_key",
    "find_step_refs",
    "plan_adhoc_cycle",
    "plan_cycle_folders",
    "plan_executions",
    "plan_modules",
    "plan_release",
    "plan_releases",
    "plan_test_case",
    "plan_test_cases",
    "plan_test_cycle",
    "plan_test_cycles",
    "plan_test_log",
    "plan_test_run",
    "planned_step_count",
    "ref",
    "resolve_refs",
    "resolve_step_refs",
    "source_key_marker",
    "step_counts",
    "step_ref",
]
