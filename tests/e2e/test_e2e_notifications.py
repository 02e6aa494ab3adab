"""``notifications:``: a real ``ztoq migrate run`` between the simulators tells a local receiver its verdict,
and a dead receiver changes nothing about the run or its exit code."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from e2e_support import Served

from ztoq.simulators.zephyr import generate_dataset

pytestmark = pytest.mark.e2e

SECRET_PATH = "/hooks/T0/B0/notification-secret"


@pytest.fixture
def dataset() -> dict[str, Any]:
    """A small project: the run, not the data, is under test."""
    return generate_dataset(8, seed=2)


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on loopback that keeps every JSON body posted to it."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[tuple[str, dict[str, Any]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{SECRET_PATH}"


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.bodies.append((self.path, json.loads(self.rfile.read(length))))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def dead_url() -> str:
    """A loopback URL nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}{SECRET_PATH}"


def migrate(config: Path, webhook: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ZTOQ_TEST_HOOK": webhook}
    return subprocess.run(
        [sys.executable, "-m", "ztoq.cli", "migrate", "run", "--config", str(config), "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_the_receiver_gets_the_verdict_and_a_dead_one_changes_nothing(
    served: Served, receiver: Receiver
) -> None:
    config = served.config(
        notifications={
            "webhook_url_env": "ZTOQ_TEST_HOOK",
            "format": "generic",
            "report_url": "https://ci.example.com/runs/${ZTOQ_TEST_RUN_ID}",
        }
    )
    os.environ["ZTOQ_TEST_RUN_ID"] = "42"
    try:
        first = migrate(config, receiver.url)
    finally:
        del os.environ["ZTOQ_TEST_RUN_ID"]
    assert first.returncode == 0, first.stdout + first.stderr
    ((path, body),) = receiver.bodies
    assert path == SECRET_PATH
    assert body["event"] == "ztoq.migration.finished"
    assert (body["project_key"], body["status"], body["failed"]) == ("DEMO", "succeeded", 0)
    assert body["verdict"] in ("passed", "passed with degradations")
    assert body["counts"]["test_case"]["loaded"] == body["counts"]["test_case"]["planned"] == 8
    assert body["report"] == "https://ci.example.com/runs/42"
    assert body["duration_seconds"] > 0

    # The same run again (nothing to send to qTest), with nobody listening at the webhook.
    unreachable = dead_url()
    second = migrate(config, unreachable)
    assert second.returncode == 0, second.stdout + second.stderr
    for output in (first.stdout, first.stderr, second.stdout, second.stderr):
        assert "notification-secret" not in output
    log = Path(served.workdir / "ztoq-migration.log").read_text(encoding="utf-8")
    # One warning sentence in the log (on stderr when no log file is configured).
    assert (
        "WARNING ztoq.report.notify: The generic notification of run 2 did not reach the webhook in "
        "ZTOQ_TEST_HOOK: it could not be reached (ConnectError); the migration is unaffected.\n"
    ) in log
    assert "notification-secret" not in log
    assert len(receiver.bodies) == 1
