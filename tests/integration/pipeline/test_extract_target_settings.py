"""Extract reads the qTest target's settings under the reader's one policy (in-process simulators).

A 403 on field settings stops the run with one sentence and exit code 2 (reading it as "no
fields" would silently turn every custom field into text); a 404 for one object type means that
qTest has no settings of the type, so it has no fields.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from ztoq.config import ZtoqConfig, build_config
from ztoq.errors import PhaseFailed
from ztoq.pipeline.context import Transports
from ztoq.pipeline.orchestrator import run_migration
from ztoq.rehearsal import simulator_config
from ztoq.simulators.qtest import QTestSimulator
from ztoq.simulators.zephyr import ZephyrSimulator, generate_dataset
from ztoq.store import open_store

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def answering(app: ASGIApp, status: int, path_part: str) -> ASGIApp:
    """``app``, except that every request whose path contains ``path_part`` answers ``status``."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and path_part in scope["path"]:
            body = b'{"message": "refused by the test"}'
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return wrapped


def extract(tmp_path: Path, qtest: QTestSimulator, status: int, path_part: str) -> ZtoqConfig:
    """Run the extract phase against the simulators, qTest answering ``status`` on ``path_part``."""
    zephyr = ZephyrSimulator(generate_dataset(3, seed=1))
    project_id = next(iter(qtest.state.projects))
    config = build_config(simulator_config("http://zephyr.sim", "http://qtest.sim", project_id, tmp_path))
    transports = Transports(
        zephyr=httpx.ASGITransport(app=zephyr.app),
        qtest=httpx.ASGITransport(app=answering(qtest.app, status, path_part)),
    )
    run_migration(config, ["extract"], command="workflow extract", transports=transports)
    return config


def test_refused_field_settings_stop_extract_with_one_sentence_and_exit_2(tmp_path: Path) -> None:
    qtest = QTestSimulator.generated()
    with pytest.raises(PhaseFailed) as info:
        extract(tmp_path, qtest, 403, "/settings/")
    assert info.value.exit_code == 2
    project_id = next(iter(qtest.state.projects))
    assert str(info.value) == (
        "The extract phase failed: qTest refused to show the token's user the test-cases field settings of "
        f"project {project_id} (403), so ztoq cannot tell which custom fields and values exist; use the "
        "token of a user who may see the project's settings, or ask a qTest administrator to grant this "
        "user that access. Fix the cause, then run the same command again to resume where it stopped."
    )


def test_an_object_type_without_settings_is_stored_without_fields(tmp_path: Path) -> None:
    qtest = QTestSimulator.generated()
    config = extract(tmp_path, qtest, 404, "/settings/test-suites/")
    store = open_store(config.database)
    try:
        with store.session() as repo:
            fields = {r.source_key: r.payload for r in repo.iter_source("DEMO", "qtest_fields")}
            projects = [r.payload for r in repo.iter_source("DEMO", "qtest_project")]
    finally:
        store.close()
    assert fields["test-suites"] == []
    assert fields["test-cases"], "the other object types keep their fields"
    assert [p["id"] for p in projects] == list(qtest.state.projects)
