"""Transform in bounded memory plans exactly what planning the whole project at once plans.

A generated Zephyr Scale Cloud project and a generated Server/Data Center project (call-to-test
steps and cycles, data-driven test cases, re-runs, executions of deleted test cases and of
unknown cycles, inline images, attachments everywhere) are extracted in process, then
transformed in batches of 7. The stored plans and problems must equal those of the reference
below: every record read at once, and executions grouped as transform grouped them before it
streamed (a dict of lists, ``max`` by recency).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from ztoq.config import ZtoqConfig, attachments_dir, build_config
from ztoq.entities import LOAD_ORDER
from ztoq.mapping import (
    PlannedEntity,
    Problem,
    SourceLookups,
    plan_cycle_folders,
    plan_modules,
    plan_releases,
    plan_test_cases,
    plan_test_cycles,
    step_counts,
)
from ztoq.mapping.attachments import AttachmentOwners, plan_attachments
from ztoq.mapping.cycles import ADHOC_KEY, plan_adhoc_cycle
from ztoq.mapping.executions import plan_test_log, plan_test_run
from ztoq.mapping.inline_images import OWNER_OF, rewrite_planned_images
from ztoq.mapping.run_groups import recency, run_of
from ztoq.pipeline.context import Transports
from ztoq.pipeline.orchestrator import run_migration
from ztoq.pipeline.source_rows import StoreRows, stored_reader
from ztoq.pipeline.target import attachment_limit, load_target_fields
from ztoq.pipeline.transform_planning import inline_images_of
from ztoq.pipeline.transform_write import to_item
from ztoq.rehearsal import simulator_config
from ztoq.simulators.qtest import QTestSimulator
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset
from ztoq.simulators.zephyr_server import ZephyrServerSimulator
from ztoq.simulators.zephyr_server.generate import generate_server_dataset
from ztoq.sources.base import read_records
from ztoq.sources.records import Attachment, TestExecution
from ztoq.store import FileCache, Repository, content_hash, open_store

P = "DEMO"


def reference_executions(
    executions: tuple[TestExecution, ...], lookups: SourceLookups, config: ZtoqConfig, repo: Repository
) -> list[PlannedEntity]:
    """Runs, logs and the ad hoc cycle, planned as before transform streamed."""
    fields = load_target_fields(repo, P)
    groups: dict[str, list[TestExecution]] = {}
    lost: dict[str, list[str]] = {}
    logs: list[tuple[PlannedEntity, str]] = []
    for execution in executions:
        key, why = run_of(execution, lookups)
        groups.setdefault(key, []).append(execution)
        if why is not None and why not in lost.setdefault(key, []):
            lost[key].append(why)
        log = plan_test_log(execution, lookups, fields, config)
        if log is not None:
            logs.append((log, key))
    runs = [
        plan_test_run(key, [max(group, key=recency)], lookups, fields, config)
        for key, group in groups.items()
    ]
    for run in runs:
        run.problems += [
            Problem(
                "degraded", "unknown_test_cycle", f"An execution's {why}; the run goes to the ad hoc cycle."
            )
            for why in lost.get(run.source_key, ())
        ]
    failed = {r.source_key for r in runs if r.body is None}
    for log, key in logs:
        if log.body is not None and key in failed:
            log.body = None
            log.problems.append(
                Problem(
                    "skipped",
                    "run_not_created",
                    "The test run this execution belongs to cannot be created (see its problems); "
                    "the log is not made.",
                )
            )
    adhoc = [plan_adhoc_cycle(config)] if any(k.startswith(ADHOC_KEY + "|") for k in groups) else []
    return adhoc + runs + [log for log, _ in logs]


def reference_plans(repo: Repository, config: ZtoqConfig) -> dict[str, list[PlannedEntity]]:
    """Every plan, from every record read at once (what transform did before it streamed)."""
    cache = FileCache(attachments_dir(config))
    records = read_records(stored_reader(repo, P), StoreRows(repo, P))
    fields = load_target_fields(repo, P)
    lookups = SourceLookups.build(
        folders=records.folders,
        statuses=records.statuses,
        priorities=records.priorities,
        environments=records.environments,
        test_cases=records.test_cases,
        test_cycles=records.test_cycles,
        test_plans=records.test_plans,
    )
    planned = {
        "module": plan_modules(records.folders, config),
        "test_case": plan_test_cases(records.test_cases, lookups, fields, config),
    }
    lookups = replace(lookups, test_case_step_counts=step_counts(planned["test_case"]))
    executions = reference_executions(records.test_executions, lookups, config, repo)
    planned |= {
        "release": plan_releases(records.test_plans, lookups, fields, config),
        "cycle_folder": plan_cycle_folders(records.folders, config),
        "test_cycle": plan_test_cycles(records.test_cycles, lookups, fields, config)
        + [p for p in executions if p.entity_type == "test_cycle"],
        "test_run": [p for p in executions if p.entity_type == "test_run"],
        "test_log": [p for p in executions if p.entity_type == "test_log"],
    }
    attachments = [
        Attachment(
            r.source_key,
            r.owner_type,
            r.owner_key,
            r.step_index,
            r.name,
            r.size,
            r.content_type,
            r.sha256 if r.state == "cached" else None,
            str(cache.path_of(r.sha256)) if r.sha256 else None,
            r.reason,
        )
        for r in repo.iter_attachments(P)
    ]
    images = inline_images_of(attachments)
    for entity_type, owner_type in OWNER_OF.items():
        for plan in planned[entity_type]:
            rewrite_planned_images(plan, images.get((owner_type, plan.source_key), {}))
    limit = attachment_limit(repo, P, config.qtest.max_attachment_mb)
    planned["attachment"] = plan_attachments(attachments, AttachmentOwners.from_plans(planned), limit)
    return planned


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def compare_with_reference(config: ZtoqConfig, stale_logs: tuple[str, ...] = ()) -> Counter[str]:
    """Assert the stored plans and problems are the reference's; returns the plans per type.

    ``stale_logs``: test logs planned before whose execution is gone (each has its problem).
    """
    with open_store(config.database) as store, store.session() as repo:
        reference = reference_plans(repo, config)
        executions = {r.source_key: r.content_hash for r in repo.iter_source(P, "test_execution")}
        steps = {r.source_key: r.content_hash for r in repo.iter_source(P, "execution_steps")}
        expected_rows, expected_problems = {}, Counter[tuple[Any, ...]]()
        for entity_type in LOAD_ORDER:
            for plan in reference[entity_type]:
                digest = executions.get(plan.source_key) if entity_type == "test_log" else None
                source_hash = None if digest is None else content_hash([digest, steps.get(plan.source_key)])
                item = to_item(plan, source_hash)
                expected_rows[(entity_type, plan.source_key)] = (
                    _canonical(item.payload),
                    _canonical([list(d) for d in item.depends_on]),
                    item.level,
                    item.sort_key,
                    item.status,
                    item.source_hash,
                )
                for p in plan.problems:
                    expected_problems[
                        (entity_type, plan.source_key, p.severity, p.code, p.message, p.field)
                    ] += 1
        for key in stale_logs:
            gone = (
                f"{key} no longer exists in Zephyr; it is not sent to qTest again "
                "(what was migrated before stays in qTest)."
            )
            expected_problems[("test_log", key, "skipped", "deleted_in_source", gone, None)] += 1
        stored_rows = {
            (t, r.source_key): (
                _canonical(r.payload),
                _canonical([list(d) for d in r.depends_on]),
                r.level,
                r.sort_key,
                r.status,
                r.source_hash,
            )
            for t in LOAD_ORDER
            for r in repo.iter_planned(P, t, status=None)
        }
        stored_problems = Counter(
            (p.entity_type, p.source_key, p.severity, p.code, p.message, p.field)
            for p in repo.iter_problems(P, phase="transform")
        )
    assert stored_rows.keys() == expected_rows.keys()
    assert [k for k, v in stored_rows.items() if v != expected_rows[k]] == []
    assert stored_problems == expected_problems
    return Counter(entity_type for entity_type, _ in stored_rows)


def migrate(tmp_path: Path, zephyr_app: Any, source: str, phases: list[str]) -> ZtoqConfig:
    qtest = QTestSimulator.generated()
    project_id = next(iter(qtest.state.projects))
    data = simulator_config(
        "http://zephyr.sim", "http://qtest.sim", project_id, tmp_path, batch_size=7, source=source
    )
    data["migration"] = {"include_attachments": True}
    config = build_config(data)
    transports = Transports(
        zephyr=httpx.ASGITransport(app=zephyr_app), qtest=httpx.ASGITransport(app=qtest.app)
    )
    run_migration(config, phases, command="test", transports=transports)
    return config


@pytest.mark.parametrize(
    ("source", "simulator"),
    [
        ("cloud", lambda: ZephyrSimulator(generate_dataset(40, seed=11, executions_per_case=3))),
        ("server", lambda: ZephyrServerSimulator(generate_server_dataset(40, seed=11, project_key=P))),
    ],
)
def test_streamed_plans_are_those_of_the_whole_project(tmp_path: Path, source: str, simulator: Any) -> None:
    config = migrate(tmp_path, simulator().app, source, ["extract", "transform"])
    planned = compare_with_reference(config)
    assert all(planned[t] for t in ("test_case", "test_run", "test_log", "attachment"))
    # A rerun over its own plans changes nothing, and plans whose source is gone are dropped.
    with open_store(config.database) as store, store.session() as repo:
        repo.upsert_planned(P, [to_item(PlannedEntity("test_log", "gone", {"x": 1}))])
    run_migration(config, ["transform"], command="test")
    assert compare_with_reference(config, stale_logs=("gone",)) == planned
