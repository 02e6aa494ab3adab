"""The end-of-run hook: only ``migrate run`` notifies, and a broken store still gives a verdict."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from ztoq.config import build_config
from ztoq.errors import StoreError
from ztoq.pipeline.notifications import notify_run_end
from ztoq.pipeline.orchestrator import PhaseSummary, RunSummary

ENV = {"ZTOQ_WEBHOOK_URL": "https://hooks.example.com/secret"}


class BrokenStore:
    """A store whose database is gone (what may have failed the run)."""

    @contextlib.contextmanager
    def session(self) -> Iterator[Any]:
        raise StoreError("The migration database at db failed: server closed the connection; run again.")
        yield


def summary(status: str = "failed") -> RunSummary:
    phases = [
        PhaseSummary("extract", "succeeded", 1.0),
        PhaseSummary("load", status, 2.0, error="The load phase failed: qTest answered 503."),
    ]
    return RunSummary(
        run_id=3,
        project_key="DEMO",
        status=status,
        phases=phases,
        wall_seconds=3.5,
        cpu_seconds=1.0,
        api={},
        store="postgresql://db:5432/ztoq",
    )


def test_only_migrate_run_notifies_and_a_broken_store_still_gives_the_verdict(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bodies: list[dict[str, Any]] = []

    def receive(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(204)

    transport = httpx.MockTransport(receive)
    config = build_config({"qtest": {"project_id": 101}, "notifications": {"format": "generic"}})
    store: Any = BrokenStore()
    for command in ("migrate run --dry-run", "workflow load"):
        assert not notify_run_end(config, store, summary(), command, environ=ENV, transport=transport)
    assert not notify_run_end(
        build_config({}), store, summary(), "migrate run", environ=ENV, transport=transport
    )
    assert bodies == []
    with caplog.at_level(logging.WARNING, logger="ztoq"):
        assert notify_run_end(config, store, summary(), "migrate run", environ=ENV, transport=transport)
    (body,) = bodies
    assert (body["verdict"], body["reason"]) == ("failed", "The load phase failed: qTest answered 503.")
    assert (body["counts"], body["qtest_project_id"], body["duration_seconds"]) == ({}, 101, 3.5)
    assert [r.getMessage() for r in caplog.records] == [
        "The notification carries no counts: the store could not be read (The migration database at db "
        "failed: server closed the connection; run again)."
    ]
