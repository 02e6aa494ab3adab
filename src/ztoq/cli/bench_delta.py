"""``ztoq bench --delta K``: change the source after the migration, run a delta sync, and price it.

The change is made through the Zephyr Scale Cloud simulator's own write API, as a tester would:
``K`` test cases renamed (``PUT /testcases/{key}``) and ``K`` executions added (``POST
/testexecutions``, one on each renamed test case, in the project's first test cycle; fewer with
``--delta-executions``: ``0`` is the "large projects" issue's own case, test cases edited only). The delta
run is an ordinary ``migrate run`` with ``migration.incremental`` on. What it sent is read from
the simulators' counters (``GET /_sim/stats``) before and after.

The target (the "large projects" issue): a delta sync sends at most (the listing pages) + 3 x
(new or changed entities) Zephyr requests. A listing page is a ``GET`` of an endpoint with no
path parameter (``/testcases``, ``/testexecutions``, ``/folders``...); every other request is
counted against the changed entities. The lists of a step's files are printed apart: the v2 API
lists them one step at a time (``GET .../teststeps/{id}/attachments``), so a changed entity with
many steps costs one more request per step, whatever the client does.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx

from ztoq.config import ZtoqConfig
from ztoq.pipeline.orchestrator import run_migration

#: The most Zephyr requests per new or changed entity a delta sync may send beyond its listing pages.
PER_CHANGE = 3

#: Endpoints of the simulators' own, never counted.
_OWN = "/_sim/"


def stats(url: str) -> Counter[str]:
    """Requests a simulator has answered so far, per ``"METHOD /template"``."""
    endpoints = httpx.get(f"{url}/_sim/stats", timeout=30).json()["endpoints"]
    return Counter(
        {name: sum(by_status.values()) for name, by_status in endpoints.items() if _OWN not in name}
    )


def is_listing(endpoint: str) -> bool:
    """Whether an endpoint (``"GET /v2/testcases"``) is a listing: a GET with no path parameter."""
    method, _, template = endpoint.partition(" ")
    return method == "GET" and "{" not in template


def is_step_attachment_list(endpoint: str) -> bool:
    """Whether an endpoint lists the files of one step (of a test case or of an execution)."""
    return endpoint.startswith("GET ") and "/teststeps/{" in endpoint and endpoint.endswith("/attachments")


def change_source(
    zephyr_api: httpx.Client, project_key: str, count: int, executions: int | None = None
) -> tuple[int, int]:
    """Rename ``count`` test cases and add one execution to each of the first ``executions`` of
    them (None: to each); returns the entities changed and the step results the new executions
    have (each a test step log in qTest).

    Raises:
        httpx.HTTPStatusError: the simulator refused a change.
    """
    cases = zephyr_api.get("/testcases", params={"projectKey": project_key, "maxResults": count})
    cases.raise_for_status()
    cycles = zephyr_api.get("/testcycles", params={"projectKey": project_key, "maxResults": 1})
    cycles.raise_for_status()
    cycle_keys = [c["key"] for c in cycles.json()["values"]]
    ended = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    changed = step_results = 0
    to_run = count if executions is None else executions
    for index, listed in enumerate(cases.json()["values"][:count]):
        key = listed["key"]
        case: dict[str, Any] = zephyr_api.get(f"/testcases/{key}").json()
        case["name"] = f"{case['name']} (changed for the delta bench)"
        zephyr_api.put(f"/testcases/{key}", json=case).raise_for_status()
        changed += 1
        if cycle_keys and index < to_run:
            execution = {
                "projectKey": project_key,
                "testCaseKey": key,
                "testCycleKey": cycle_keys[0],
                "statusName": "Pass",
                "actualEndDate": ended,
                "comment": "Run after the migration (delta bench)",
            }
            created = zephyr_api.post("/testexecutions", json=execution)
            created.raise_for_status()
            changed += 1
            steps = zephyr_api.get(f"/testexecutions/{created.json()['key']}/teststeps")
            step_results += len(steps.json().get("values", [])) if steps.status_code == 200 else 0
    return changed, step_results


def delta_lines(
    cfg: ZtoqConfig, zephyr_url: str, qtest_url: str, token: str, count: int, executions: int | None = None
) -> list[str]:
    """Change the source (:func:`change_source`), run the delta sync, and what it sent against the target."""
    project_key = cfg.zephyr.project_key
    with httpx.Client(
        base_url=f"{zephyr_url}/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as api:
        changed, step_results = change_source(api, project_key, count, executions)
    zephyr_before, qtest_before = stats(zephyr_url), stats(qtest_url)
    summary = run_migration(cfg, command="bench delta")
    zephyr = stats(zephyr_url) - zephyr_before
    qtest = stats(qtest_url) - qtest_before
    pages = sum(n for endpoint, n in zephyr.items() if is_listing(endpoint))
    step_lists = sum(n for endpoint, n in zephyr.items() if is_step_attachment_list(endpoint))
    sent = sum(zephyr.values())
    allowed = pages + PER_CHANGE * changed
    with_steps = pages + PER_CHANGE * (changed + step_results)
    writes = sum(n for e, n in qtest.items() if e.split(" ", 1)[0] in ("POST", "PUT", "PATCH", "DELETE"))
    searches = sum(n for e, n in qtest.items() if e.startswith("POST ") and e.endswith("/search"))
    return [
        f"delta run ({summary.status}): {count} test cases renamed and {changed - count} executions "
        f"added in Zephyr, {summary.wall_seconds:.1f} s",
        f"delta zephyr requests: {sent} = {pages} listing pages + {sent - pages} others; "
        f"target at most {pages} + {PER_CHANGE} x {changed} changed = {allowed} "
        f"({'met' if sent <= allowed else 'NOT met'})",
        f"delta zephyr requests counting the new executions' {step_results} step results as entities too "
        f"(each a qTest test step log): target at most {pages} + {PER_CHANGE} x {changed + step_results} = "
        f"{with_steps} ({'met' if sent <= with_steps else 'NOT met'})",
        f"delta zephyr requests without the step attachment lists: {sent - step_lists} "
        f"({'met' if sent - step_lists <= allowed else 'NOT met'}); {step_lists} step attachment lists: "
        "the v2 API lists a step's files only one step at a time",
        f"delta qtest requests: {sum(qtest.values())}, writes {writes - searches}",
        *(f"  zephyr {endpoint}: {n}" for endpoint, n in sorted(zephyr.items()) if not is_listing(endpoint)),
        *(f"  qtest {endpoint}: {n}" for endpoint, n in sorted(qtest.items()) if n),
    ]
