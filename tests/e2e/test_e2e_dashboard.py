"""``ztoq dashboard``: the JSON endpoint on a store filled by hand, the command itself, and the page
in headless Chromium while a real migration runs against the simulators.

The browser test drives Chromium over the DevTools pipe and proves that the page shows the run as
running with a phase and non-zero counts, that the counts change without a reload (same document),
that it ends on ``succeeded``, that hostile text from the store is shown as text and runs nothing,
and that the page requests nothing but the dashboard itself. It leaves ``test-artifacts/dashboard.png``.

Chromium is Debian's ``/usr/bin/chromium`` (override with ``ZTOQ_CHROMIUM``). Without it the browser
tests skip, unless ``ZTOQ_REQUIRE_CHROMIUM`` is set.
"""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from browser_support import ARTIFACTS, Cdp, chromium, png_size
from e2e_support import Served
from starlette.applications import Starlette

from ztoq.config import ZtoqConfig, build_config, load_config
from ztoq.dashboard import create_dashboard_app, find_chromium, screenshot
from ztoq.entities import LOAD_ORDER
from ztoq.rehearsal import write_config
from ztoq.serving import serve_in_thread
from ztoq.simulators.faults import FaultOptions
from ztoq.simulators.qtest import DEFAULT_QTEST_TOKEN, QTestSimulator
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset
from ztoq.store import PlannedItem, ProblemItem, init_store, open_store

pytestmark = pytest.mark.e2e

HOSTILE = '<img src=x onerror="window.pwned=1">'
HOSTILE_KEY = "<script>window.pwned=2</script>"
PROJECT = "PROJ"


def get(app: Starlette, path: str, host: str = "127.0.0.1") -> httpx.Response:
    """One request to the app in process (httpx.ASGITransport), client closed afterwards."""

    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=f"http://{host}") as client:
            return await client.get(path)

    return asyncio.run(go())


# -- the JSON endpoint on a store filled by hand ---------------------------------------------


def hand_config(tmp_path: Path, database: dict[str, Any] | None = None) -> ZtoqConfig:
    return build_config(
        {
            "zephyr": {"project_key": PROJECT},
            "database": database or {"type": "sqlite", "path": str(tmp_path / "migration.db")},
        }
    )


@pytest.fixture
def filled(tmp_path: Path, database: dict[str, Any]) -> tuple[ZtoqConfig, int]:
    """A store (SQLite or PostgreSQL) with a run in its load phase: extract done, validate next."""
    cfg = hand_config(tmp_path, database)
    with init_store(cfg.database) as store, store.session() as repo:
        run_id = repo.start_run(PROJECT, "migrate run", ["extract", "load", "validate"])
        extract = repo.start_phase(run_id, "extract")
        repo.finish_phase(
            extract,
            "succeeded",
            counts={
                "test_case": {
                    "phase": "extract",
                    "type": "test_case",
                    "done": 12,
                    "total": 12,
                    "failed": 0,
                    "skipped": 0,
                    "rate": 40.0,
                    "eta": 0.0,
                }
            },
        )
        load = repo.start_phase(run_id, "load")
        repo.update_phase_counts(
            load,
            {
                "module": {"phase": "load", "type": "module", "done": 3, "total": 3, "failed": 0,
                           "skipped": 0, "rate": 9.5, "eta": 0.0},
                HOSTILE_KEY: {"phase": "load", "type": HOSTILE_KEY, "done": 5, "total": 20, "failed": 1,
                              "skipped": 2, "rate": 2.5, "eta": 6.0},
                "test_run": {"phase": "load", "type": "test_run", "done": 0, "total": None},
            },
        )  # fmt: skip
        repo.update_run_stats(
            run_id,
            {
                "api": {
                    "zephyr": {"requests": 40, "retries": 0, "rate_limit_waits": 0},
                    "qtest": {
                        "requests": 17,
                        "retries": 3,
                        "rate_limit_waits": 2,
                        "rate_limit_wait_seconds": 4.25,
                    },
                }
            },
        )
        for key in ("PROJ-T1", "PROJ-T2", "PROJ-T3"):
            defaulted = (
                [ProblemItem("degraded", "priority_defaulted", "defaulted")] if key == "PROJ-T1" else []
            )
            repo.replace_problems(
                PROJECT,
                "transform",
                "test_case",
                key,
                [ProblemItem("kept_in_text", "field_in_description", "kept", "labels"), *defaulted],
            )
        repo.replace_problems(
            PROJECT, "transform", "test_log", "PROJ-E1", [ProblemItem("skipped", "no_end", "no end date")]
        )
        repo.replace_problems(
            PROJECT, "load", "test_case", HOSTILE_KEY, [ProblemItem("failed", "rejected_by_qtest", HOSTILE)]
        )
    return cfg, run_id


def test_status_endpoint_reports_run_phases_counts_api_problems_and_types(
    filled: tuple[ZtoqConfig, int],
) -> None:
    cfg, run_id = filled
    app = create_dashboard_app(cfg)
    try:
        answer = get(app, "/api/status")
    finally:
        app.state.status_source.close()
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["cache-control"] == "no-store"
    status = answer.json()
    assert status["error"] is None
    assert status["project_key"] == PROJECT
    run = status["run"]
    assert run["id"] == run_id
    assert (run["command"], run["status"], run["phases"]) == (
        "migrate run",
        "running",
        ["extract", "load", "validate"],
    )
    assert run["finished_at"] is None
    assert run["elapsed_seconds"] >= 0
    assert run["started_at"].endswith("Z")

    phases = {p["phase"]: p for p in status["phases"]}
    assert [p["phase"] for p in status["phases"]] == ["extract", "load", "validate"]
    assert phases["extract"]["status"] == "succeeded"
    assert phases["extract"]["seconds"] is not None
    assert phases["extract"]["counts"] == [
        {"type": "test_case", "done": 12, "total": 12, "failed": 0, "skipped": 0, "rate": 40.0, "eta": 0.0,
         "percent": 100.0}
    ]  # fmt: skip
    assert phases["load"]["status"] == "running"
    load = {c["type"]: c for c in phases["load"]["counts"]}
    assert load[HOSTILE_KEY] == {
        "type": HOSTILE_KEY, "done": 5, "total": 20, "failed": 1, "skipped": 2, "rate": 2.5, "eta": 6.0,
        "percent": 25.0,
    }  # fmt: skip
    assert load["test_run"]["total"] is None
    assert load["test_run"]["percent"] is None
    assert load["test_run"]["rate"] is None
    assert phases["validate"] == {
        "phase": "validate", "status": "pending", "started_at": None, "finished_at": None, "seconds": None,
        "error": None, "counts": [],
    }  # fmt: skip

    assert status["api"] == [
        {"api": "qtest", "requests": 17, "retries": 3, "rate_limit_waits": 2, "rate_limit_wait_seconds": 4.2},
        {
            "api": "zephyr",
            "requests": 40,
            "retries": 0,
            "rate_limit_waits": 0,
            "rate_limit_wait_seconds": 0.0,
        },
    ]

    problems = status["problems"]
    # Values kept whole in text are no problems: counted apart.
    assert (problems["total"], problems["kept_in_text"]) == (3, 3)
    assert problems["by_severity"] == [
        {"severity": "failed", "count": 1},
        {"severity": "skipped", "count": 1},
        {"severity": "degraded", "count": 1},
    ]
    first, second, third = problems["top_codes"]
    assert (first["severity"], first["code"], first["count"]) == ("failed", "rejected_by_qtest", 1)
    assert first["example"] == {
        "entity_type": "test_case",
        "source_key": HOSTILE_KEY,
        "field": None,
        "message": HOSTILE,
    }
    assert (second["code"], third["code"], third["count"]) == ("no_end", "priority_defaulted", 1)
    assert third["phases"] == ["transform"]

    types = status["types"]
    assert [t["entity_type"] for t in types] == list(LOAD_ORDER)
    assert set(types[0]) == {
        "entity_type", "source", "planned", "skipped", "loaded", "failed", "pending", "degraded",
        "kept_in_text",
    }  # fmt: skip
    test_case = next(t for t in types if t["entity_type"] == "test_case")
    assert (test_case["degraded"], test_case["kept_in_text"]) == (1, 3)


def test_types_refresh_when_the_run_changes(filled: tuple[ZtoqConfig, int]) -> None:
    cfg, run_id = filled
    app = create_dashboard_app(cfg)
    try:
        before = {t["entity_type"]: t for t in get(app, "/api/status").json()["types"]}
        assert before["test_case"]["planned"] == 0
        with open_store(cfg.database) as store, store.session() as repo:
            repo.upsert_planned(PROJECT, [PlannedItem("test_case", "PROJ-T1", {"body": {"name": "a"}})])
        # Within a few seconds and with the run unchanged, the costly per-type table is reused...
        cached = {t["entity_type"]: t for t in get(app, "/api/status").json()["types"]}
        assert cached["test_case"]["planned"] == 0
        with open_store(cfg.database) as store, store.session() as repo:
            repo.finish_run(run_id, "succeeded")
        # ...and read again as soon as the run (or a phase) changes status.
        after = get(app, "/api/status").json()
        assert after["run"]["status"] == "succeeded"
        assert after["phases"][-1]["status"] == "not run"
        assert {t["entity_type"]: t for t in after["types"]}["test_case"]["planned"] == 1
    finally:
        app.state.status_source.close()


def test_status_before_the_store_exists(tmp_path: Path) -> None:
    cfg = hand_config(tmp_path)
    app = create_dashboard_app(cfg)
    try:
        status = get(app, "/api/status").json()
    finally:
        app.state.status_source.close()
    assert "There is no migration database" in status["error"]
    assert "keeps checking" in status["error"]
    assert (status["run"], status["phases"], status["api"], status["types"]) == (None, [], [], [])
    assert status["problems"]["total"] == 0
    assert not (tmp_path / "migration.db").exists()  # the dashboard never creates the store


def test_page_is_self_contained_with_a_strict_policy(tmp_path: Path) -> None:
    app = create_dashboard_app(hand_config(tmp_path))
    try:
        answer = get(app, "/")
        again = get(app, "/")
        icon = get(app, "/favicon.ico")
    finally:
        app.state.status_source.close()
    assert answer.status_code == 200
    html = answer.text
    policy = answer.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy)
    assert nonce is not None
    assert "default-src 'none'" in policy
    assert "connect-src 'self'" in policy
    assert f"script-src 'nonce-{nonce.group(1)}'" in policy
    assert nonce.group(1) not in again.text  # a fresh nonce per response
    assert html.count("<script") == 1
    assert f'<script nonce="{nonce.group(1)}">' in html
    assert f'<style nonce="{nonce.group(1)}">' in html
    assert re.search(r"<(link|img|iframe|object|embed|base)\b", html, re.I) is None
    assert re.search(r"\s(src|href|action)\s*=", html, re.I) is None
    assert "http://" not in html
    assert "https://" not in html
    assert "@import" not in html
    assert "url(" not in html
    # data only ever reaches the DOM as text
    assert re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", html) is None
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert icon.status_code == 204


def test_other_host_names_are_refused(tmp_path: Path) -> None:
    """A DNS-rebinding page (evil.example resolving to 127.0.0.1) cannot read the dashboard."""
    app = create_dashboard_app(hand_config(tmp_path))
    try:
        assert get(app, "/api/status", host="evil.example").status_code == 400
        assert get(app, "/", host="evil.example").status_code == 400
        assert get(app, "/api/status", host="localhost").status_code == 200
    finally:
        app.state.status_source.close()


def test_screenshot_without_chromium_returns_false(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZTOQ_CHROMIUM", str(tmp_path / "no-such-chromium"))
    assert find_chromium() is None
    assert screenshot("http://127.0.0.1:9/", tmp_path / "x.png") is False
    assert not (tmp_path / "x.png").exists()


def test_dashboard_command_serves_until_interrupted(
    filled: tuple[ZtoqConfig, int], database: dict[str, Any], tmp_path: Path
) -> None:
    config_path = write_config(
        {"zephyr": {"project_key": PROJECT}, "database": database}, tmp_path / "config.yaml"
    )
    argv = [sys.executable, "-m", "ztoq.cli", "dashboard", "--config", str(config_path), "--port", "0"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"dashboard on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        with httpx.Client(base_url=match.group(1), timeout=10) as client:
            status = client.get("/api/status").json()
            assert status["run"]["status"] == "running"
            assert "ztoq dashboard" in client.get("/").text
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err


# -- the page in headless Chromium while a migration runs ------------------------------------


#: What the page shows, read in the page itself (the numbers are the DOM's text).
READING = """(() => {
  const $ = (id) => document.getElementById(id);
  if (!$("run-status") || !document.body) return {status: "", phase: "", done: 0, requests: 0, counted: 0,
    polls: 0, mark: null};
  return {
    status: $("run-status").dataset.status || "",
    phase: $("run-phase").textContent,
    done: Number($("done-total").textContent),
    requests: Number($("requests-total").textContent),
    counted: [...document.querySelectorAll("#phases-body tr.count")].length,
    polls: Number(document.body.dataset.polls || 0),
    mark: window.__ztoqMark === undefined ? null : window.__ztoqMark,
  };
})()"""


def wait_until(
    cdp: Cdp, check: Callable[[dict[str, Any]], bool], what: str, timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    reading: dict[str, Any] = {}
    while time.monotonic() < deadline:
        reading = cdp.evaluate(READING)
        if check(reading):
            return reading
        time.sleep(0.1)
    raise AssertionError(f"the page never showed {what}; last reading {reading}")


@pytest.fixture
def slow_migration(tmp_path: Path) -> Iterator[Served]:
    """Both simulators in threads: ~40 generated test cases, qTest answering after 30 ms."""
    dataset = generate_dataset(40, seed=3)
    zephyr = ZephyrSimulator(dataset)
    qtest = QTestSimulator.generated(faults=FaultOptions(latency_ms=30))
    with serve_in_thread(zephyr.app) as zurl, serve_in_thread(qtest.app) as qurl:
        with httpx.Client(headers={"Authorization": f"Bearer {DEFAULT_QTEST_TOKEN}"}, timeout=30) as client:
            project = client.get(f"{qurl}/api/v3/projects").json()[0]["id"]
        yield Served(zephyr, qtest, zurl, qurl, int(project), tmp_path, dataset)


def test_dashboard_follows_a_running_migration_in_chromium(slow_migration: Served, tmp_path: Path) -> None:
    chromium()  # skip (or fail under ZTOQ_REQUIRE_CHROMIUM) before starting anything
    config_path = slow_migration.config()
    cfg = load_config(config_path)
    project = cfg.zephyr.project_key
    with init_store(cfg.database) as store, store.session() as repo:
        repo.replace_problems(
            project,
            "load",
            "test_case",
            HOSTILE_KEY,
            [ProblemItem("failed", "hostile_text", f"Rejected: {HOSTILE}")],
        )
    app = create_dashboard_app(cfg)
    log = (tmp_path / "migrate.log").open("w", encoding="utf-8")
    migration: subprocess.Popen[bytes] | None = None
    try:
        with serve_in_thread(app) as url:
            cdp = Cdp(tmp_path)
            try:
                cdp.open(f"{url}/")
                first = wait_until(cdp, lambda r: r["polls"] >= 1, "its first poll")
                assert first["status"] == ""  # the store exists, no run yet
                cdp.evaluate("window.__ztoqMark = 'loaded-once'")

                migration = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "ztoq.cli",
                        "migrate",
                        "run",
                        "--quiet",
                        "--config",
                        str(config_path),
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                running = wait_until(
                    cdp,
                    lambda r: r["status"] == "running" and r["done"] > 0 and r["counted"] > 0
                    and r["phase"] not in ("", "\u2013"),
                    "a running phase with counts",
                )  # fmt: skip
                changed = wait_until(
                    cdp,
                    lambda r: (r["done"], r["requests"]) != (running["done"], running["requests"]),
                    "its counts change",
                )
                assert changed["polls"] > running["polls"]
                assert changed["mark"] == "loaded-once"  # same document: nothing reloaded the page
                assert migration.wait(timeout=60) == 0, (tmp_path / "migrate.log").read_text()
                final = wait_until(cdp, lambda r: r["status"] == "succeeded", "the run succeeded", timeout=10)
                assert final["mark"] == "loaded-once"
                assert final["done"] >= changed["done"]

                # one navigation, one document, for the whole migration
                assert cdp.evaluate("performance.getEntriesByType('navigation').length") == 1
                navigations = [
                    e for e in cdp.events
                    if e.get("method") == "Page.frameNavigated" and not e["params"]["frame"].get("parentId")
                ]  # fmt: skip
                assert len(navigations) == 1
                # hostile text from the store: shown as text, run nowhere
                text = cdp.evaluate("document.body.innerText")
                assert HOSTILE in text
                assert HOSTILE_KEY in text
                assert cdp.evaluate("typeof window.pwned") == "undefined"
                assert cdp.evaluate("document.querySelectorAll('img, iframe, object, embed').length") == 0
                assert cdp.evaluate("document.scripts.length") == 1
                # nothing requested but the dashboard itself, on loopback
                requested = [
                    e["params"]["request"]["url"]
                    for e in cdp.events
                    if e.get("method") == "Network.requestWillBeSent"
                ]
                assert requested
                assert {urlsplit(u).netloc for u in requested} == {urlsplit(url).netloc}
                assert {urlsplit(u).path for u in requested} <= {"/", "/api/status", "/favicon.ico"}
                exceptions = [e for e in cdp.events if e.get("method") == "Runtime.exceptionThrown"]
                assert exceptions == []
                logs = [
                    e["params"]["entry"]["text"] for e in cdp.events if e.get("method") == "Log.entryAdded"
                ]
                assert not [t for t in logs if "Content Security Policy" in t], logs
            finally:
                cdp.close()

            ARTIFACTS.mkdir(exist_ok=True)
            shot = ARTIFACTS / "dashboard.png"
            assert screenshot(f"{url}/", shot) is True
            assert png_size(shot) == (1280, 1400)
            assert shot.stat().st_size > 20_000
    finally:
        if migration is not None and migration.poll() is None:
            migration.kill()
            migration.wait()
        log.close()
        app.state.status_source.close()
