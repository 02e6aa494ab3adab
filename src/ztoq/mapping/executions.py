"""Test executions -> qTest test runs and test logs.

qTest keeps one test run per test case in a container and any number of test logs on it; Zephyr
keeps one execution per run of a test case in a cycle. So executions map to **one test run per
(cycle, test case) pair** and **one test log per execution**, loaded oldest first so the run's
latest log is Zephyr's latest execution. An execution that never ran (no end date, not executed)
has its run but no log.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ztoq.config import ZtoqConfig
from ztoq.mapping.base import PlannedEntity, Problem, ref
from ztoq.mapping.cycles import plan_adhoc_cycle
from ztoq.mapping.entity_rules import issue_key, new_properties, reference_name
from ztoq.mapping.fields import UnconvertibleValue, convert_value, duration_text, format_timestamp
from ztoq.mapping.lookups import SourceLookups, TargetFields
from ztoq.mapping.properties import PropertySet
from ztoq.mapping.run_groups import (
    RunGroups,
    cycle_of,
    end_of,
    executed_test_case,
    execution_key,
    recency,
    run_key,
    run_of,
)
from ztoq.mapping.statuses import StatusMapper
from ztoq.mapping.step_logs import plan_step_logs
from ztoq.mapping.text import join_html, source_key_marker, text_to_html, truncate_name
from ztoq.sources.records import TestExecution
from ztoq.vendor import QTEST_PARENT_CYCLE


@dataclass
class LogLinks:
    """What a test log carries besides its body: the mapped tester and the linked Jira defects."""

    executed_by: int | None = None
    defect_links: tuple[str, ...] | None = None


def _environment(props: PropertySet, execution: TestExecution, config: ZtoqConfig) -> None:
    env = props.source.name_of(props.source.environments, execution.environment)
    if env is None and execution.environment is not None and execution.environment.id is not None:
        env = f"environment {execution.environment.id}"
    if env is None:
        return
    label = config.mappings.environment_field
    if props.field(label) is not None:
        props.map_value(label, env)
    else:
        props.keep_in_text(
            "Environment",
            text_to_html(env),
            "field_in_description",
            f"The target's test runs have no field {label!r}; the environment is kept in the note.",
        )


def plan_test_run(
    key: str,
    executions: Sequence[TestExecution],
    lookups: SourceLookups,
    fields: TargetFields,
    config: ZtoqConfig,
) -> PlannedEntity:
    """The test run of one (cycle, test case) pair; its fields come from the latest execution."""
    cycle_key, _, case_key = key.partition("|")
    latest = max(executions, key=recency)
    props = new_properties("test-runs", lookups, fields, config)
    if case_key not in lookups.test_case_keys:
        props.problem(
            "failed",
            "unknown_test_case",
            f"Test case {case_key or '(none)'} of these executions was not extracted from Zephyr; "
            "the run cannot be created.",
        )
    name, _ = truncate_name(lookups.test_case_names.get(case_key) or case_key or key)
    env = lookups.name_of(lookups.environments, latest.environment)
    env_field = props.field(config.mappings.environment_field)
    if env and env_field is not None:
        # Only what fits: each log names its own environment in its note when it does not.
        with suppress(UnconvertibleValue):
            props.put(env_field, convert_value(env, env_field))
    assignee = latest.assigned_to
    assigned = props.field("Assigned To")
    user = props.users.resolve(assignee) if isinstance(assignee, str) else None
    if user is None and isinstance(assignee, str) and assignee:
        # Never silent: a run has no note, so the real assignee is named in the problem (and
        # the default user, if any, stands in on the run).
        user = props.users.default_id()
        props.problem(
            "degraded",
            "unmapped_user",
            f"Jira user {props.source.user_label(assignee)} (assigned to) has no qTest user in "
            "mappings.users; the run is assigned to "
            + ("the default user" if user is not None else "nobody")
            + ".",
            "Assigned To",
            account_id=assignee,
        )
    if user is not None and assigned is not None:
        props.put(assigned, f"[{user}]" if assigned.multiple else str(user))
    props.set_source_key(config.qtest.source_key_field, key)
    props.finish()
    payload = {
        "name": name,
        "test_case": {"id": ref("test_case", case_key)},
        "properties": props.properties(),
    }
    return PlannedEntity(
        "test_run",
        key,
        None if props.failed else payload,
        problems=props.problems,
        parent=ref("test_cycle", cycle_key),
        parent_type=QTEST_PARENT_CYCLE,
    )


def plan_test_log(
    execution: TestExecution,
    lookups: SourceLookups,
    fields: TargetFields,
    config: ZtoqConfig,
) -> PlannedEntity | None:
    """One execution (with its step results) as a planned qTest test log, or None when it never ran.

    Returns:
        Planned "test_log" keyed by the execution key (or id), ``parent`` the run's
        reference, ``sort_key`` the end date (ISO, UTC) then the id so a run's logs load oldest
        first; payload None (with the reason) when it cannot be made.
    """
    key = execution_key(execution)
    case_key, version = executed_test_case(execution)
    cycle_key, _ = cycle_of(execution, lookups)
    run = run_key(cycle_key, case_key or "")
    props = new_properties("test-runs", lookups, fields, config)
    statuses = StatusMapper(lookups, fields, config)
    source_status = statuses.source_name(execution.status)
    end = end_of(execution)
    log_links = LogLinks()
    if end is None:
        if statuses.never_run(source_status):
            return None
        props.problem(
            "skipped",
            "execution_without_end_date",
            f"Execution {key} has status {source_status!r} but no end date; qTest needs one, "
            "so no log is made.",
        )
        return PlannedEntity("test_log", key, None, parent=ref("test_run", run), problems=props.problems)
    status = statuses.map(execution.status, props, f"execution {key}")
    end_text = format_timestamp(end)
    elapsed = execution.execution_time
    start_text = end_text
    if elapsed is not None and elapsed > 0:
        start_text = format_timestamp(datetime.fromtimestamp(end.timestamp() - elapsed / 1000, UTC))
    _people(props, execution, log_links)
    _environment(props, execution, config)
    if version is not None:
        props.keep_in_text("Test case version", version, None, "")
    _metadata(props, execution, lookups)
    props.map_custom_fields(execution.custom_fields, config.custom_fields.test_execution)
    _defects(props, execution, lookups, log_links)
    step_logs = plan_step_logs(case_key or "", execution.steps, statuses, props)
    note = join_html(text_to_html(execution.comment), props.block.render(), source_key_marker(key))
    payload: dict[str, Any] = {
        "name": truncate_name(lookups.test_case_names.get(case_key or "") or case_key or key)[0],
        "status": {"id": status},
        "exe_start_date": start_text,
        "exe_end_date": end_text,
        "note": note,
        "properties": props.properties(),
        "test_step_logs": step_logs or [],
    }
    ident = execution.id
    sort_key = f"{end_text}#{ident:015d}" if ident is not None else f"{end_text}#{key}"
    return PlannedEntity(
        "test_log",
        key,
        None if props.failed or status is None else payload,
        sort_key=sort_key,
        problems=props.problems,
        parent=ref("test_run", run),
        executed_by=log_links.executed_by,
        defect_links=log_links.defect_links,
    )


def _people(props: PropertySet, execution: TestExecution, links: LogLinks) -> None:
    """Executor and assignee: always named in the note (manual logs cannot carry the tester)."""
    people = ((execution.executed_by, "Executed by", True), (execution.assigned_to, "Assigned to", False))
    for account, label, is_tester in people:
        if not account:
            continue
        user = props.users.resolve(account)
        if is_tester and user is not None:
            links.executed_by = user
        if user is None:
            props.keep_in_text(
                label,
                props.source.user_label(account),
                "unmapped_user",
                f"Jira user {account} ({label.lower()}) has no qTest user in mappings.users; "
                "they are named in the note.",
                severity="degraded",
                account_ids=[account],
            )
        else:
            props.keep_in_text(
                label,
                props.source.user_label(account),
                "field_in_description",
                f"qTest manual test logs record no {label.lower()} user; the person is named in the note.",
            )


def _metadata(props: PropertySet, execution: TestExecution, lookups: SourceLookups) -> None:
    if execution.estimated_time is not None:
        props.map_value("Estimated time", duration_text(execution.estimated_time))
    if execution.jira_version is not None:
        props.map_value(
            "Jira Version", reference_name(execution.jira_version, lookups.version_names, "version")
        )
    if execution.automated:
        props.map_value("Automated", "true")


def _defects(props: PropertySet, execution: TestExecution, lookups: SourceLookups, links: LogLinks) -> None:
    lines: list[str] = []
    keys: list[str] = []
    for issue in execution.links.issues:
        found = issue_key(issue, lookups)
        if found and found not in keys:
            keys.append(found)
        lines.append(found or f"issue {issue.issue_id}")
    if lines:
        links.defect_links = tuple(keys)
        props.keep_in_text(
            "Jira issues",
            join_html(*lines),
            "defects_in_note",
            "Linking Jira defects needs qTest's Jira integration; the linked issues are named in the note.",
        )


def plan_group_run(
    key: str,
    latest: TestExecution,
    lost_cycles: Sequence[str],
    lookups: SourceLookups,
    fields: TargetFields,
    config: ZtoqConfig,
) -> PlannedEntity:
    """The test run ``key`` from its group's latest execution, and why its executions' cycles are unknown.

    Args:
        key: the run key (:func:`~ztoq.mapping.run_groups.run_key`).
        latest: the group's latest execution (:func:`~ztoq.mapping.run_groups.recency`).
        lost_cycles: why executions of the group went to the ad hoc cycle (first-seen order).
        lookups: test case keys and names, environments, users.
        fields: the qTest "test-runs" fields, users.
        config: mappings (users, environment_field).
    """
    run = plan_test_run(key, [latest], lookups, fields, config)
    for why in lost_cycles:
        run.problems.append(
            Problem(
                "degraded", "unknown_test_cycle", f"An execution's {why}; the run goes to the ad hoc cycle."
            )
        )
    return run


def drop_log_of_failed_run(log: PlannedEntity) -> None:
    """Skip a test log whose test run cannot be created (it is not made either)."""
    if log.body is not None:
        log.body = None
        log.problems.append(
            Problem(
                "skipped",
                "run_not_created",
                "The test run this execution belongs to cannot be created (see its problems); "
                "the log is not made.",
            )
        )


def plan_executions(
    executions: Sequence[TestExecution],
    lookups: SourceLookups,
    fields: TargetFields,
    config: ZtoqConfig,
) -> list[PlannedEntity]:
    """Runs (one per cycle and test case), logs (one per execution that ran), and the ad hoc cycle.

    This plans executions held in memory; transform streams them through the same steps
    (:class:`~ztoq.mapping.run_groups.RunGroups`, :func:`plan_group_run`, :func:`plan_test_log`,
    :func:`drop_log_of_failed_run`).

    Args:
        executions: the test executions, each with its step results.
        lookups: cycles by id, test case names and step counts, statuses, environments, users.
        fields: the qTest "test-runs" fields, execution statuses, users.
        config: mappings (execution_status, users, environment_field), custom_fields.test_execution.

    Returns:
        The ad hoc test cycle (only when some execution has no known cycle), the test runs in
        first-seen order, then the logs in execution order.
    """
    groups = RunGroups(lookups)
    for execution in executions:
        groups.add(execution)
    groups.end_pass()
    first_seen = {key: n for n, key in enumerate(dict.fromkeys(run_of(e, lookups)[0] for e in executions))}
    latest = [e for position, e in enumerate(executions) if groups.is_latest(position)]
    runs = sorted(
        (
            plan_group_run(key, e, groups.lost_cycles.get(key, ()), lookups, fields, config)
            for e in latest
            for key in (run_of(e, lookups)[0],)
        ),
        key=lambda run: first_seen[run.source_key],
    )
    failed_runs = {r.source_key for r in runs if r.body is None}
    logs: list[PlannedEntity] = []
    for execution in executions:
        log = plan_test_log(execution, lookups, fields, config)
        if log is not None:
            if run_of(execution, lookups)[0] in failed_runs:
                drop_log_of_failed_run(log)
            logs.append(log)
    adhoc = [plan_adhoc_cycle(config)] if groups.has_adhoc else []
    return adhoc + runs + logs
